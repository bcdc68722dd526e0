#!/usr/bin/env bash
# Runs every test: unit, property, doc, transport and the interop tests
# against the savant-rs 0.3.0 wheel (in .venv, made by scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export SAVANT_PYTHON="${SAVANT_PYTHON:-$PWD/.venv/bin/python}"
cargo test --workspace --locked "$@"
