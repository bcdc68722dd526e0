//! A shared library with an exported function but no plugin entry point.

/// Not a plugin entry point.
#[no_mangle]
pub extern "C" fn savant_sdk_fixture_not_a_plugin() -> u32 {
    7
}
