//! Generates the protobuf types from `proto/savant_rs.proto`.
//!
//! Needs `protoc` (Debian: `protobuf-compiler`), or `PROTOC` pointing at one.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/savant_rs.proto");
    let mut config = prost_build::Config::new();
    // Frame content and byte attributes stay `bytes::Bytes`: decoding from a
    // `Bytes` buffer slices it instead of copying.
    config.bytes(["."]);
    // Deterministic output for maps (propagated context, batches).
    config.btree_map(["."]);
    config.compile_protos(&["proto/savant_rs.proto"], &["proto"])?;
    Ok(())
}
