//! A plugin from a future ABI: version 999 first, then a layout the host
//! does not know. The host must refuse it after reading the version only.

/// What ABI 999 might look like.
#[repr(C)]
pub struct FutureDescriptor {
    /// The version, first as in every ABI.
    pub abi_version: u32,
    /// Anything at all.
    pub layout_of_version_999: [u64; 4],
}

static DESCRIPTOR: FutureDescriptor = FutureDescriptor {
    abi_version: 999,
    layout_of_version_999: [u64::MAX; 4],
};

#[export_name = "savant_sdk_plugin_entry_wrong_abi"]
extern "C" fn entry() -> *const FutureDescriptor {
    &DESCRIPTOR
}
