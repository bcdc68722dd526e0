#!/usr/bin/env bash
# What a project that depends on the SDK gets, checked outside the
# workspace and without its lock file:
#
#  1. fresh projects depending on the crates by path, resolved anew to the
#     latest compatible versions, build on this toolchain: a plugin crate
#     (savant-sdk-plugin only: no libzmq, no gRPC stack, no protoc), a
#     sender (core + sources + loopback), and the same with the
#     `gstreamer` feature of sources and sinks;
#  2. every crate, with all its targets (lib, bins, tests, benches,
#     examples), compiles on its own (`cargo check -p CRATE
#     --all-targets`): with only the features it declares, not those the
#     workspace unifies around it;
#  3. the docs build with RUSTDOCFLAGS=-D warnings, with and without
#     `gstreamer`;
#  4. the default members build with --no-default-features.
#
#   scripts/downstream-check.sh            # all of it
#   scripts/downstream-check.sh projects   # 1 only (also: tests, docs, features)
#
# Exits non-zero on the first failure.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
# the interop tests' peers, as scripts/test.sh sets them
export SAVANT_PYTHON="${SAVANT_PYTHON:-$repo/.venv/bin/python}"
export SAVANT_PYTHON_1_15="${SAVANT_PYTHON_1_15:-$repo/.venv-savant-rs-1.15/bin/python}"
what="${1:-all}"
fail() { echo "downstream-check: $*" >&2; exit 1; }
step() { echo "downstream-check: [$SECONDS s] $*" >&2; }

stated="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)"
have="$(rustc --version | awk '{print $2}')"
step "rust-version stated $stated, toolchain $have"
if [ "$have" != "$stated" ] && [ "${have%.*}" != "$stated" ]; then
  step "note: checked on rustc $have, not exactly the stated $stated (only this toolchain is installed here)"
fi

projects() {
  work="$(mktemp -d "${TMPDIR:-/tmp}/savant-downstream.XXXXXX")"
  trap 'rm -rf "$work"' RETURN
  # the workspace's target dir: what resolves to the same versions is reused
  local target="$CARGO_TARGET_DIR"
  mk() { # $1 name, $2 [dependencies] lines, $3 [features] lines
    mkdir -p "$work/$1/src"
    cat >"$work/$1/Cargo.toml" <<EOF
[package]
name = "$1"
version = "0.1.0"
edition = "2021"
rust-version = "$stated"
publish = false

[workspace]

[dependencies]
$2

[features]
$3
EOF
    echo 'fn main() {}' >"$work/$1/src/main.rs"
  }
  mk plugin-only "savant-sdk-plugin = { path = \"$repo/plugins/sdk\" }" ""
  mk sender "savant-sdk-core = { path = \"$repo/sdk-core\" }
savant-sdk-sources = { path = \"$repo/sources\" }
savant-sdk-sinks = { path = \"$repo/sinks\" }
savant-sdk-loopback = { path = \"$repo/loopback\" }" \
    "gstreamer = [\"savant-sdk-sources/gstreamer\", \"savant-sdk-sinks/gstreamer\"]
rtsp-server = [\"savant-sdk-sinks/rtsp-server\"]"
  for p in plugin-only sender; do
    (cd "$work/$p" && cargo generate-lockfile --quiet) || fail "$p: cannot resolve"
  done
  step "plugin-only: cargo build (a fresh resolve)"
  (cd "$work/plugin-only" && CARGO_TARGET_DIR="$target" cargo build --quiet) \
    || fail "a plugin-only project does not build"
  tree="$(cd "$work/plugin-only" && cargo tree -e normal,build --prefix none | sed 's/ (\*)//' | sort -u)"
  n="$(wc -l <<<"$tree")"
  step "plugin-only: $n crates"
  for heavy in zmq zmq-sys tonic prost-build hyper opentelemetry_sdk gstreamer; do
    if grep -q "^$heavy v" <<<"$tree"; then fail "a plugin-only project pulls $heavy"; fi
  done
  step "sender: cargo build, then --features gstreamer,rtsp-server (a fresh resolve)"
  (cd "$work/sender" && CARGO_TARGET_DIR="$target" cargo build --quiet) \
    || fail "a sender project does not build"
  (cd "$work/sender" && CARGO_TARGET_DIR="$target" cargo build --quiet --features gstreamer,rtsp-server) \
    || fail "a sender project with gstreamer and rtsp-server does not build"
  if (cd "$work/sender" && cargo tree -e normal,build --prefix none) | grep -q "^prost-build v"; then
    fail "a sender project needs protoc (prost-build)"
  fi
}

tests() {
  # every workspace crate alone, as `cargo check -p` sees it: all its
  # targets compile with only the features it declares (what a missing
  # feature would break). Checked, not built: the workspace run has just
  # built and run every test with the workspace's features, and a build
  # per crate (a link of each test binary again) took most of this
  # script's time for what a check already shows.
  local crates
  crates="$(cargo metadata --format-version 1 --no-deps | python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    print(p["name"])')"
  for c in $crates; do
    step "cargo check -p $c --all-targets"
    cargo check --locked --quiet -p "$c" --all-targets >/dev/null 2>&1 \
      || { cargo check --locked -p "$c" --all-targets; fail "$c does not compile alone"; }
  done
}

docs() {
  step "cargo doc (default members, no gstreamer) with -D warnings"
  RUSTDOCFLAGS="-D warnings" cargo doc --locked --quiet --no-deps || fail "docs warn (no gstreamer)"
  step "cargo doc --workspace (gstreamer) with -D warnings"
  RUSTDOCFLAGS="-D warnings" cargo doc --locked --quiet --no-deps --workspace \
    --exclude savant-sdk-protocol-reference || fail "docs warn (gstreamer)"
}

features() {
  step "cargo build --no-default-features (default members)"
  cargo build --locked --quiet --no-default-features || fail "--no-default-features does not build"
}

case "$what" in
  all) projects; features; docs; tests ;;
  projects) projects ;;
  tests) tests ;;
  docs) docs ;;
  features) features ;;
  *) fail "unknown step $what (all, projects, tests, docs, features)" ;;
esac
step "ok"
