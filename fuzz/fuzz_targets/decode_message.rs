//! Fuzzes the message decoder: any input either decodes or gives a typed
//! error, never a panic; the direct decoder agrees with the prost-generated
//! reference on every input; what decodes re-encodes to bytes that decode
//! to the same value.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use savant_sdk_core::codec::{
    decode_message, decode_message_reference, encode_message, encode_message_reference,
    DecodeOptions, VersionPolicy,
};

fuzz_target!(|data: &[u8]| {
    let opts = DecodeOptions {
        max_message_size: 1 << 20,
        version: VersionPolicy::Any,
    };
    let direct = decode_message(Bytes::copy_from_slice(data), &opts);
    let reference = decode_message_reference(Bytes::copy_from_slice(data), &opts);
    assert_eq!(direct.is_ok(), reference.is_ok(), "{direct:?} vs {reference:?}");
    if let (Ok(m), Ok(r)) = (direct, reference) {
        // NaN floats do not compare equal to themselves; compare encodings.
        let bytes = encode_message(&m);
        assert_eq!(bytes, encode_message(&r));
        assert_eq!(bytes, encode_message_reference(&m));
        let again = decode_message(bytes.clone(), &opts).expect("re-encoded message decodes");
        assert_eq!(encode_message(&again), bytes);
    }
});
