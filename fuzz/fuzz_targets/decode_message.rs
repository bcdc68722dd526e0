//! Fuzzes the message decoder: any input either decodes or gives a typed
//! error, never a panic; what decodes re-encodes to bytes that decode to
//! the same value.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use savant_sdk_core::codec::{decode_message, encode_message, DecodeOptions, VersionPolicy};

fuzz_target!(|data: &[u8]| {
    let opts = DecodeOptions {
        max_message_size: 1 << 20,
        version: VersionPolicy::Any,
    };
    if let Ok(m) = decode_message(Bytes::copy_from_slice(data), &opts) {
        let again = decode_message(encode_message(&m), &opts).expect("re-encoded message decodes");
        // NaN floats do not compare equal to themselves; compare the bytes.
        assert_eq!(encode_message(&again), encode_message(&m));
    }
});
