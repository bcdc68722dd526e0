//! Finding a library's entry points without loading it: the names in
//! its dynamic symbol table (ELF64, little-endian) that start with
//! [`ENTRY_PREFIX`](savant_sdk_plugin_abi::ENTRY_PREFIX). Every read is
//! bounds-checked; a file that is not such an ELF file gives `Err`.

const SHT_DYNSYM: u32 = 11;
const STT_FUNC: u8 = 2;

fn bytes_at<const N: usize>(b: &[u8], base: usize, off: usize) -> Option<[u8; N]> {
    let start = base.checked_add(off)?;
    b.get(start..start.checked_add(N)?)?.try_into().ok()
}
fn u16_at(b: &[u8], base: usize, off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes_at(b, base, off)?))
}
fn u32_at(b: &[u8], base: usize, off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes_at(b, base, off)?))
}
fn u64_at(b: &[u8], base: usize, off: usize) -> Option<usize> {
    usize::try_from(u64::from_le_bytes(bytes_at(b, base, off)?)).ok()
}

struct Section {
    kind: u32,
    offset: usize,
    size: usize,
    link: usize,
    entsize: usize,
}

fn section(b: &[u8], shoff: usize, shentsize: usize, i: usize) -> Option<Section> {
    let h = shoff.checked_add(i.checked_mul(shentsize)?)?;
    Some(Section {
        kind: u32_at(b, h, 4)?,
        offset: u64_at(b, h, 24)?,
        size: u64_at(b, h, 32)?,
        link: u32_at(b, h, 40)? as usize,
        entsize: u64_at(b, h, 56)?,
    })
}

/// The defined function symbols of `file` whose names start with `prefix`.
pub(crate) fn entry_points(file: &[u8], prefix: &str) -> Result<Vec<String>, String> {
    if file.get(..4) != Some(b"\x7fELF") {
        return Err("not an ELF file".into());
    }
    if file.get(4..6) != Some(&[2, 1]) {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    let bad = || "truncated or malformed ELF file".to_string();
    let shoff = u64_at(file, 0, 0x28).ok_or_else(bad)?;
    let shentsize = u16_at(file, 0, 0x3A).ok_or_else(bad)? as usize;
    let shnum = u16_at(file, 0, 0x3C).ok_or_else(bad)? as usize;
    if shentsize < 64 {
        return Err(bad());
    }
    let mut found = Vec::new();
    for i in 0..shnum {
        let s = section(file, shoff, shentsize, i).ok_or_else(bad)?;
        if s.kind != SHT_DYNSYM {
            continue;
        }
        let strtab = section(file, shoff, shentsize, s.link).ok_or_else(bad)?;
        let strings = file
            .get(strtab.offset..strtab.offset.checked_add(strtab.size).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        let symbols = file
            .get(s.offset..s.offset.checked_add(s.size).ok_or_else(bad)?)
            .ok_or_else(bad)?;
        let entsize = if s.entsize == 0 { 24 } else { s.entsize };
        if entsize < 24 {
            return Err(bad());
        }
        for sym in symbols.chunks_exact(entsize) {
            let name = u32_at(sym, 0, 0).ok_or_else(bad)? as usize;
            let (info, shndx) = (sym[4], u16_at(sym, 0, 6).ok_or_else(bad)?);
            if shndx == 0 || info & 0xf != STT_FUNC {
                continue;
            }
            let Some(rest) = strings.get(name..) else {
                continue;
            };
            let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
            if let Ok(n) = std::str::from_utf8(&rest[..end]) {
                if n.starts_with(prefix) {
                    found.push(n.to_string());
                }
            }
        }
    }
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
