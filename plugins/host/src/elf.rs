//! Finding a library's entry points without loading it: the names in
//! its dynamic symbol table (64-bit ELF) that start with
//! [`ENTRY_PREFIX`](savant_sdk_plugin_abi::ENTRY_PREFIX). The file is
//! read with the `object` crate, whose every read is bounds-checked; a
//! file that is not such an ELF file gives `Err`.

use object::elf::{FileHeader64, SHN_UNDEF, SHT_DYNSYM, STT_FUNC};
use object::read::elf::{FileHeader, Sym};
use object::Endianness;

/// The defined function symbols of `file` whose names start with `prefix`.
pub(crate) fn entry_points(file: &[u8], prefix: &str) -> Result<Vec<String>, String> {
    if file.get(..4) != Some(b"\x7fELF") {
        return Err("not an ELF file".into());
    }
    let bad = |e: object::Error| format!("not a loadable 64-bit ELF file: {e}");
    let header = FileHeader64::<Endianness>::parse(file).map_err(bad)?;
    let endian = header.endian().map_err(bad)?;
    let sections = header.sections(endian, file).map_err(bad)?;
    let symbols = sections.symbols(endian, file, SHT_DYNSYM).map_err(bad)?;
    let mut found: Vec<String> = symbols
        .iter()
        .filter(|sym| sym.st_shndx(endian) != SHN_UNDEF && sym.st_type() == STT_FUNC)
        // a name outside the string table or not UTF-8 is no entry point
        .filter_map(|sym| symbols.symbol_name(endian, sym).ok())
        .filter_map(|name| std::str::from_utf8(name).ok())
        .filter(|name| name.starts_with(prefix))
        .map(str::to_string)
        .collect();
    found.sort();
    found.dedup();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_without_panicking() {
        assert!(entry_points(b"hello", "x").is_err());
        assert!(entry_points(b"\x7fELF\x02\x01", "x").is_err());
        let mut header = b"\x7fELF\x02\x01".to_vec();
        header.resize(64, 0xff);
        assert!(entry_points(&header, "x").is_err());
    }

    #[test]
    fn finds_functions_in_this_test_binary() {
        // The test executable is an ELF file with a dynamic symbol table
        // importing functions from libc, which are undefined: none found.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(
            entry_points(&me, "savant_sdk_plugin_entry_").unwrap(),
            Vec::<String>::new()
        );
    }
}
