//! Nothing here: the package `savant-sdk-examples` is its example
//! programs (`examples/*.rs`, run with `cargo run -p savant-sdk-examples
//! --example NAME`) and the test that runs them (`tests/run_examples.rs`).
