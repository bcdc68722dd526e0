//! A hand-written plugin source (`malformed`) whose `next` returns bytes
//! that are not a Savant message. Counts the buffers it has lent, so a
//! test can check the host gave every one back.

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

use savant_sdk_plugin_abi::*;

static LENT: AtomicUsize = AtomicUsize::new(0);

/// Buffers lent and not yet freed.
#[no_mangle]
pub extern "C" fn savant_sdk_fixture_malformed_lent() -> usize {
    LENT.load(Ordering::SeqCst)
}

fn lend(bytes: &[u8]) -> PluginBuf {
    let b: Box<[u8]> = bytes.into();
    LENT.fetch_add(1, Ordering::SeqCst);
    let len = b.len();
    let ptr = Box::into_raw(b);
    PluginBuf {
        ptr: ptr as *const u8,
        len,
        handle: ptr.cast(),
    }
}

unsafe extern "C" fn create(
    _: *const HostApi,
    _: BytesRef,
    out: *mut *mut c_void,
    _: *mut PluginBuf,
) -> Status {
    unsafe { *out = Box::into_raw(Box::new(0u8)).cast() };
    Status::OK
}

unsafe extern "C" fn next(_: *mut c_void, out: *mut SourceOutput, _: *mut PluginBuf) -> Status {
    unsafe {
        *out = SourceOutput {
            message: lend(b"\xff\xff\xff this is not protobuf"),
            content: lend(b"payload"),
            topic: PluginBuf::EMPTY,
        }
    };
    Status::OK
}

unsafe extern "C" fn close(instance: *mut c_void) {
    drop(unsafe { Box::from_raw(instance.cast::<u8>()) });
}

unsafe extern "C" fn free(buf: PluginBuf) {
    let slice = std::ptr::slice_from_raw_parts_mut(buf.handle.cast::<u8>(), buf.len);
    drop(unsafe { Box::from_raw(slice) });
    LENT.fetch_sub(1, Ordering::SeqCst);
}

unsafe extern "C" fn validate(_: BytesRef, _: *mut PluginBuf) -> Status {
    Status::OK
}

unsafe extern "C" fn schema(out: *mut PluginBuf, _: *mut PluginBuf) -> Status {
    unsafe { *out = lend(b"{}") };
    Status::OK
}

static DESCRIPTOR: PluginDescriptor = PluginDescriptor {
    abi_version: ABI_VERSION,
    kind: Kind::SOURCE,
    sdk_version: BytesRef::from_static(env!("CARGO_PKG_VERSION")),
    name: BytesRef::from_static("malformed"),
    description: BytesRef::from_static("test fixture: bytes that are not a message"),
    vtable: PluginVTable {
        create,
        next: Some(next),
        consume: None,
        finish: None,
        close,
        free,
        validate,
        schema,
    },
};

#[export_name = "savant_sdk_plugin_entry_malformed"]
extern "C" fn entry() -> *const PluginDescriptor {
    &DESCRIPTOR
}
