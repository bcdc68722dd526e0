#!/usr/bin/env bash
# Runs every test: unit, property, doc, transport and the interop tests
# against the real peers made by scripts/setup.sh: the savant-rs 0.3.0
# wheel (in .venv) and the savant-rs 1.15.1 wheel (in .venv-savant-rs-1.15).
set -euo pipefail
cd "$(dirname "$0")/.."
export SAVANT_PYTHON="${SAVANT_PYTHON:-$PWD/.venv/bin/python}"
export SAVANT_PYTHON_1_15="${SAVANT_PYTHON_1_15:-$PWD/.venv-savant-rs-1.15/bin/python}"
# The plugin tests run the `savant-sdk` this workspace run builds (for
# the cli's own tests) rather than build it again from cold with the
# features `-p savant-sdk-cli` resolves to (about 80 s on CI); only for
# the default profile, whose binary is target/debug/savant-sdk.
if [ $# -eq 0 ]; then
  target="${CARGO_TARGET_DIR:-target}"
  case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
  export SAVANT_SDK_BIN="${SAVANT_SDK_BIN:-$target/debug/savant-sdk}"
fi
cargo test --workspace --locked "$@"
