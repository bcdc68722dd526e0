//! Loading a `.so`: entry points, the ABI handshake, the descriptor.

use std::ffi::c_void;
use std::path::{Path, PathBuf};

use savant_sdk_plugin_abi::{
    level, BytesRef, EntryFn, HostApi, Kind, PluginDescriptor, PluginVTable, ABI_VERSION,
    ENTRY_PREFIX,
};

use crate::error::PluginHostError;

/// What the host's log callback needs: the component's name. Leaked, as
/// the libraries are: a plugin may log from any thread while loaded.
pub(crate) struct LogContext {
    pub(crate) plugin: String,
}

/// One component of a loaded library.
pub(crate) struct DynComponent {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) kind: Kind,
    pub(crate) sdk_version: String,
    pub(crate) path: PathBuf,
    pub(crate) vtable: PluginVTable,
    log: &'static LogContext,
}

impl std::fmt::Debug for DynComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynComponent")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("sdk_version", &self.sdk_version)
            .finish()
    }
}

impl DynComponent {
    /// The host API handed to a new instance of this component.
    pub(crate) fn host_api(&self) -> HostApi {
        HostApi {
            abi_version: ABI_VERSION,
            max_level: max_level(),
            ctx: (self.log as *const LogContext).cast(),
            log: host_log,
        }
    }
}

fn max_level() -> u32 {
    use tracing::level_filters::LevelFilter;
    match LevelFilter::current() {
        LevelFilter::OFF => level::OFF,
        LevelFilter::ERROR => level::ERROR,
        LevelFilter::WARN => level::WARN,
        LevelFilter::INFO => level::INFO,
        LevelFilter::DEBUG => level::DEBUG,
        _ => level::TRACE,
    }
}

/// Re-emits a plugin's log line as a `tracing` event (target
/// `savant_sdk_plugin`, fields `plugin` and `plugin_target`) in the
/// calling thread's current span.
unsafe extern "C" fn host_log(
    ctx: *const c_void,
    level: u32,
    target_ptr: *const u8,
    target_len: usize,
    msg_ptr: *const u8,
    msg_len: usize,
) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: ctx is the leaked LogContext of host_api (or null); the
        // plugin lends target and message for the call.
        let (plugin, target, msg) = unsafe {
            (
                ctx.cast::<LogContext>()
                    .as_ref()
                    .map_or("?", |c| c.plugin.as_str()),
                BytesRef {
                    ptr: target_ptr,
                    len: target_len,
                }
                .as_bytes(),
                BytesRef {
                    ptr: msg_ptr,
                    len: msg_len,
                }
                .as_bytes(),
            )
        };
        let target = String::from_utf8_lossy(target);
        let msg = String::from_utf8_lossy(msg);
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(target: "savant_sdk_plugin", $level, plugin, plugin_target = %target, "{msg}")
            };
        }
        match level {
            level::ERROR => emit!(tracing::Level::ERROR),
            level::WARN => emit!(tracing::Level::WARN),
            level::INFO => emit!(tracing::Level::INFO),
            level::DEBUG => emit!(tracing::Level::DEBUG),
            _ => emit!(tracing::Level::TRACE),
        }
    });
}

/// Semver compatibility of the plugin's SDK with ours: same major, and
/// for 0.x the same minor.
pub(crate) fn sdk_compatible(plugin: &str, host: &str) -> bool {
    fn parts(v: &str) -> Option<(u64, u64)> {
        let core = v.split(['-', '+']).next()?;
        let mut it = core.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        it.next()?.parse::<u64>().ok()?;
        Some((major, minor))
    }
    match (parts(plugin), parts(host)) {
        (Some((pm, pn)), Some((hm, hn))) => pm == hm && (hm > 0 || pn == hn),
        _ => false,
    }
}

fn text(plugin: &str, what: &str, s: BytesRef) -> Result<String, PluginHostError> {
    // SAFETY: descriptor strings are static data of the loaded library.
    let bytes = unsafe { s.as_bytes() };
    String::from_utf8(bytes.to_vec()).map_err(|_| PluginHostError::BadDescriptor {
        plugin: plugin.to_string(),
        reason: format!("{what} is not UTF-8"),
    })
}

/// Checks one descriptor. Reads `abi_version` first and nothing else
/// unless it matches.
fn describe(
    path: &Path,
    symbol: &str,
    desc: *const PluginDescriptor,
) -> Result<DynComponent, PluginHostError> {
    let plugin = format!("{}#{symbol}", path.display());
    if desc.is_null() {
        return Err(PluginHostError::BadDescriptor {
            plugin,
            reason: "entry point returned null".into(),
        });
    }
    // SAFETY: every ABI version keeps a u32 version first; read only that.
    let abi_version = unsafe { desc.cast::<u32>().read_unaligned() };
    if abi_version != ABI_VERSION {
        return Err(PluginHostError::AbiMismatch {
            plugin,
            found: abi_version,
            expected: ABI_VERSION,
        });
    }
    // SAFETY: same ABI version, so the layout is ours; the descriptor is
    // static data of the library, which is never unloaded.
    let desc: &'static PluginDescriptor = unsafe { &*desc };
    let name = text(&plugin, "name", desc.name)?;
    let description = text(&plugin, "description", desc.description)?;
    let sdk_version = text(&plugin, "SDK version", desc.sdk_version)?;
    let host_sdk = savant_sdk_plugin::SDK_VERSION;
    if !sdk_compatible(&sdk_version, host_sdk) {
        return Err(PluginHostError::SdkMismatch {
            plugin: name,
            found: sdk_version,
            expected: host_sdk.to_string(),
        });
    }
    if name.is_empty() {
        return Err(PluginHostError::BadDescriptor {
            plugin,
            reason: "empty name".into(),
        });
    }
    let v = &desc.vtable;
    let ok = match desc.kind {
        Kind::SOURCE => v.next.is_some(),
        Kind::SINK => v.consume.is_some() && v.finish.is_some(),
        other => {
            return Err(PluginHostError::BadDescriptor {
                plugin: name,
                reason: format!("unknown kind {}", other.0),
            })
        }
    };
    if !ok {
        return Err(PluginHostError::BadDescriptor {
            plugin: name,
            reason: "the vtable lacks a function its kind needs".into(),
        });
    }
    Ok(DynComponent {
        log: Box::leak(Box::new(LogContext {
            plugin: name.clone(),
        })),
        name,
        description,
        kind: desc.kind,
        sdk_version,
        path: path.to_path_buf(),
        vtable: desc.vtable,
    })
}

/// Loads the library at `path` and describes its components. All of them
/// pass the checks or none is returned. The library stays loaded for the
/// life of the process (Rust libraries with thread-locals cannot be
/// unloaded safely), also when it is refused after loading.
pub(crate) fn load(path: &Path) -> Result<Vec<DynComponent>, PluginHostError> {
    let bytes = std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            PluginHostError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            PluginHostError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let symbols = crate::elf::entry_points(&bytes, ENTRY_PREFIX).map_err(|reason| {
        PluginHostError::NotALibrary {
            path: path.to_path_buf(),
            reason,
        }
    })?;
    drop(bytes);
    if symbols.is_empty() {
        return Err(PluginHostError::NoEntryPoint {
            path: path.to_path_buf(),
        });
    }
    // SAFETY: loading runs the library's initialisers; a plugin is code
    // the user chose to trust. Its entry points were found above.
    let library =
        unsafe { libloading::Library::new(path) }.map_err(|e| PluginHostError::NotALibrary {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    let library: &'static libloading::Library = Box::leak(Box::new(library));
    let mut components = Vec::with_capacity(symbols.len());
    for symbol in &symbols {
        // SAFETY: the symbol is a function named with the entry prefix;
        // its type is EntryFn by the ABI's contract.
        let entry = unsafe { library.get::<EntryFn>(symbol.as_bytes()) }.map_err(|e| {
            PluginHostError::NotALibrary {
                path: path.to_path_buf(),
                reason: format!("{symbol}: {e}"),
            }
        })?;
        // SAFETY: as above; the entry point takes nothing and returns a
        // pointer to static data.
        let desc = unsafe { entry() };
        components.push(describe(path, symbol, desc)?);
    }
    Ok(components)
}

#[cfg(test)]
mod tests {
    use super::sdk_compatible;

    #[test]
    fn sdk_versions() {
        assert!(sdk_compatible("0.1.0", "0.1.7"));
        assert!(sdk_compatible("1.2.0", "1.9.1"));
        assert!(sdk_compatible("0.1.3-rc.1", "0.1.0"));
        assert!(!sdk_compatible("0.2.0", "0.1.0"));
        assert!(!sdk_compatible("2.0.0", "1.0.0"));
        assert!(!sdk_compatible("banana", "0.1.0"));
        assert!(!sdk_compatible("0.1", "0.1.0"));
    }
}
