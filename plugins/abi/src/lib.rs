//! # savant-sdk-plugin-abi
//!
//! The C ABI between a host built with the Savant Rust SDK and a plugin
//! `.so` holding a custom source or sink. Only `#[repr(C)]` data and
//! `extern "C"` functions cross it; Rust trait objects, `String`s, `Vec`s
//! and allocator state never do.
//!
//! ## The handshake
//!
//! A plugin exports one function per component, named
//! [`ENTRY_PREFIX`] followed by a suffix unique to the component (the
//! `export_source!`/`export_sink!` macros of `savant-sdk-plugin` use the
//! crate and type name, so two plugin crates linked statically into one
//! binary do not clash). Its type is [`EntryFn`]: no arguments, a pointer
//! to a static [`PluginDescriptor`].
//!
//! The host reads [`PluginDescriptor::abi_version`], the first field,
//! **before anything else**; a value other than [`ABI_VERSION`] refuses
//! the plugin without touching the rest of the descriptor, whose layout
//! belongs to that version. [`EntryFn`] and the position of `abi_version`
//! never change. Then the host checks the SDK version string, the kind and
//! the vtable.
//!
//! ## Data and ownership
//!
//! Messages cross as the Savant wire encoding (`encode_message` /
//! `decode_message` of `savant-sdk-core`), frame payloads as byte buffers.
//! A buffer is freed by the side that allocated it: the host lends its
//! buffers ([`BytesRef`]) for the duration of a call; the plugin hands out
//! [`PluginBuf`]s, which the host returns through
//! [`PluginVTable::free`], from any thread, once each.
//!
//! Every vtable function returns a [`Status`]; a plugin catches its
//! panics and reports them as [`Status::PANIC`] with a message.
//!
//! ```
//! use savant_sdk_plugin_abi::{BytesRef, Status, ABI_VERSION};
//! let s = BytesRef::from_static("cam-1");
//! assert_eq!(unsafe { s.as_bytes() }, b"cam-1");
//! assert_eq!(Status::OK, Status(0));
//! assert!(ABI_VERSION >= 1);
//! ```
#![warn(missing_docs)]

use std::ffi::c_void;

/// The version of this ABI. Bumped on any change of the types below.
pub const ABI_VERSION: u32 = 2;

/// Every entry point's name starts with this.
pub const ENTRY_PREFIX: &str = "savant_sdk_plugin_entry_";

/// The type of an entry point: returns the component's static descriptor
/// (null is refused).
pub type EntryFn = unsafe extern "C" fn() -> *const PluginDescriptor;

/// A borrowed byte string (UTF-8 where text is expected); `ptr` may be
/// null when `len` is 0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct BytesRef {
    /// First byte.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

// SAFETY: a BytesRef is a plain view; the rules of who may read it when
// are those of the call it is passed to.
unsafe impl Send for BytesRef {}
unsafe impl Sync for BytesRef {}

impl BytesRef {
    /// The empty string.
    pub const EMPTY: BytesRef = BytesRef {
        ptr: std::ptr::null(),
        len: 0,
    };

    /// A view of a static string (usable in `static` descriptors).
    pub const fn from_static(s: &'static str) -> Self {
        BytesRef {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// A view of `bytes`, valid while `bytes` is.
    pub fn new(bytes: &[u8]) -> Self {
        BytesRef {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// The bytes.
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes for `'a` (or be null with
    /// any `len`, which reads as empty).
    pub unsafe fn as_bytes<'a>(&self) -> &'a [u8] {
        if self.ptr.is_null() || self.len == 0 {
            &[]
        } else {
            // SAFETY: guaranteed by the caller.
            unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
        }
    }
}

/// A buffer allocated by the plugin and lent to the host until the host
/// passes it to [`PluginVTable::free`]. `handle` is the plugin's own
/// token (null for an empty buffer, which needs no freeing).
#[repr(C)]
#[derive(Debug)]
pub struct PluginBuf {
    /// First byte.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
    /// What the plugin needs to free it; null when there is nothing to free.
    pub handle: *mut c_void,
}

impl PluginBuf {
    /// No buffer.
    pub const EMPTY: PluginBuf = PluginBuf {
        ptr: std::ptr::null(),
        len: 0,
        handle: std::ptr::null_mut(),
    };

    /// Whether there is something to free.
    pub fn needs_free(&self) -> bool {
        !self.handle.is_null()
    }
}

/// What a vtable call did. A plain integer so that an unexpected value
/// from a foreign plugin is not undefined behaviour.
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub i32);

impl Status {
    /// Success.
    pub const OK: Status = Status(0);
    /// A source has no more items (not an error).
    pub const END: Status = Status(1);
    /// The component reported an error; the message is in the error buffer.
    pub const ERROR: Status = Status(2);
    /// The component panicked; the panic message is in the error buffer.
    /// The host calls nothing but `close` on the instance afterwards.
    pub const PANIC: Status = Status(3);
}

/// What a descriptor describes.
#[repr(transparent)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind(pub u32);

impl Kind {
    /// A source (`next` is set).
    pub const SOURCE: Kind = Kind(1);
    /// A sink (`consume` and `finish` are set).
    pub const SINK: Kind = Kind(2);
}

/// Log levels of [`HostApi::log`].
pub mod level {
    /// Logging off (as a maximum level).
    pub const OFF: u32 = 0;
    /// Error.
    pub const ERROR: u32 = 1;
    /// Warning.
    pub const WARN: u32 = 2;
    /// Info.
    pub const INFO: u32 = 3;
    /// Debug.
    pub const DEBUG: u32 = 4;
    /// Trace.
    pub const TRACE: u32 = 5;
}

/// The host's log callback: `ctx` is [`HostApi::ctx`], `level` one of
/// [`level`], target and message UTF-8. May be called from any thread.
pub type LogFn = unsafe extern "C" fn(
    ctx: *const c_void,
    level: u32,
    target_ptr: *const u8,
    target_len: usize,
    msg_ptr: *const u8,
    msg_len: usize,
);

/// What the host offers a plugin instance. Passed to `create`; the
/// plugin copies it, and `ctx` stays valid while the library is loaded.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct HostApi {
    /// The host's [`ABI_VERSION`]; a plugin refuses a host with another.
    pub abi_version: u32,
    /// The most verbose level the host records ([`level`]); events above
    /// it need not be sent.
    pub max_level: u32,
    /// The host's context for `log`.
    pub ctx: *const c_void,
    /// Re-emits a plugin log line in the host.
    pub log: LogFn,
}

// SAFETY: the host promises `log` may be called from any thread with `ctx`.
unsafe impl Send for HostApi {}
unsafe impl Sync for HostApi {}

/// One item produced by a source: a message in the wire encoding (a
/// frame, a batch, user data or an EOS), the frame payload (empty for
/// other kinds) and, for batches, the ZeroMQ topic.
#[repr(C)]
#[derive(Debug)]
pub struct SourceOutput {
    /// The encoded message.
    pub message: PluginBuf,
    /// The frame payload.
    pub content: PluginBuf,
    /// The topic of a batch (UTF-8).
    pub topic: PluginBuf,
}

impl SourceOutput {
    /// All three buffers empty.
    pub const EMPTY: SourceOutput = SourceOutput {
        message: PluginBuf::EMPTY,
        content: PluginBuf::EMPTY,
        topic: PluginBuf::EMPTY,
    };
}

/// One received message handed to a sink, lent for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SinkInput {
    /// The encoded message.
    pub message: BytesRef,
    /// The ZeroMQ topic.
    pub topic: BytesRef,
    /// The payload (meaningful when `has_content` is 1).
    pub content: BytesRef,
    /// 1 when there is a payload, 0 otherwise.
    pub has_content: u8,
}

/// `create(host, config, out_instance, out_error)`: builds an instance
/// from its configuration text (TOML or JSON). On [`Status::OK`]
/// `*out_instance` is set; otherwise `*out_error` may hold a message.
pub type CreateFn = unsafe extern "C" fn(
    host: *const HostApi,
    config: BytesRef,
    out_instance: *mut *mut c_void,
    out_error: *mut PluginBuf,
) -> Status;

/// `next(instance, out, out_error)`: the next item of a source
/// ([`Status::OK`] with `*out` filled, [`Status::END`], or an error).
pub type NextFn = unsafe extern "C" fn(
    instance: *mut c_void,
    out: *mut SourceOutput,
    out_error: *mut PluginBuf,
) -> Status;

/// `consume(instance, input, out_error)`: hands one message to a sink.
pub type ConsumeFn = unsafe extern "C" fn(
    instance: *mut c_void,
    input: *const SinkInput,
    out_error: *mut PluginBuf,
) -> Status;

/// `finish(instance, out_error)`: a sink's last call before `close`.
pub type FinishFn =
    unsafe extern "C" fn(instance: *mut c_void, out_error: *mut PluginBuf) -> Status;

/// `close(instance)`: drops the instance. Called once, last.
pub type CloseFn = unsafe extern "C" fn(instance: *mut c_void);

/// `free(buf)`: frees a buffer the plugin handed out.
pub type FreeFn = unsafe extern "C" fn(buf: PluginBuf);

/// `validate(config, out_error)`: parses and checks a configuration
/// without building anything and without I/O ([`Status::OK`], or an
/// error with `*out_error` saying why). Since ABI 2.
pub type ValidateFn = unsafe extern "C" fn(config: BytesRef, out_error: *mut PluginBuf) -> Status;

/// `schema(out, out_error)`: the JSON Schema of the component's
/// configuration, as JSON text in `*out`. Since ABI 2.
pub type SchemaFn = unsafe extern "C" fn(out: *mut PluginBuf, out_error: *mut PluginBuf) -> Status;

/// The component's functions. An instance is used by one thread at a
/// time but may move between threads.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct PluginVTable {
    /// Builds an instance.
    pub create: CreateFn,
    /// Sources only.
    pub next: Option<NextFn>,
    /// Sinks only.
    pub consume: Option<ConsumeFn>,
    /// Sinks only.
    pub finish: Option<FinishFn>,
    /// Drops an instance.
    pub close: CloseFn,
    /// Frees a [`PluginBuf`].
    pub free: FreeFn,
    /// Checks a configuration (since ABI 2).
    pub validate: ValidateFn,
    /// The configuration's JSON Schema (since ABI 2).
    pub schema: SchemaFn,
}

/// What an entry point returns. Lives as long as the library.
#[repr(C)]
#[derive(Debug)]
pub struct PluginDescriptor {
    /// Must equal the host's [`ABI_VERSION`]; read before anything else.
    pub abi_version: u32,
    /// [`Kind::SOURCE`] or [`Kind::SINK`].
    pub kind: Kind,
    /// The `savant-sdk-plugin` version the plugin was built with.
    pub sdk_version: BytesRef,
    /// The component's name, used for lookup.
    pub name: BytesRef,
    /// One line saying what it is (since ABI 2).
    pub description: BytesRef,
    /// Its functions.
    pub vtable: PluginVTable,
}

// SAFETY: descriptors are immutable statics pointing at static data.
unsafe impl Sync for PluginDescriptor {}
unsafe impl Send for PluginDescriptor {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_version_is_the_first_field() {
        assert_eq!(std::mem::offset_of!(PluginDescriptor, abi_version), 0);
        assert_eq!(std::mem::size_of::<Status>(), 4);
    }

    #[test]
    fn empty_views_read_as_empty() {
        let e = BytesRef {
            ptr: std::ptr::null(),
            len: 7,
        };
        assert!(unsafe { e.as_bytes() }.is_empty());
        assert!(!PluginBuf::EMPTY.needs_free());
        let v = b"abc".to_vec();
        assert_eq!(unsafe { BytesRef::new(&v).as_bytes() }, b"abc");
    }
}
