#!/usr/bin/env bash
# The README quick start, copied into a fresh cargo project outside the
# workspace with the README's [dependencies] block (paths rewritten to this
# checkout), must build and print "sent 10000, received 10000".
#
#   scripts/quickstart-check.sh            # reuses the workspace's target dir
#   CARGO_TARGET_DIR=/tmp/cold scripts/quickstart-check.sh   # a cold build
#
# Exits non-zero on any failure: a README without the blocks, a build
# error, a run that fails or prints anything else.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readme="$repo/README.md"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
profile="${QUICKSTART_PROFILE:-release}"

work="$(mktemp -d "${TMPDIR:-/tmp}/savant-quickstart.XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail() { echo "quickstart-check: $*" >&2; exit 1; }

# The first ```toml block after "## Quick start", and the first
# ```rust,no_run block after it, each to its closing fence.
extract() { # $1: the fence that opens the block
  awk -v fence="$1" '
    /^## Quick start/ { in_qs = 1; next }
    in_qs && !inside && $0 == fence { inside = 1; next }
    inside && /^```[[:space:]]*$/ { found = 1; exit }
    inside { print }
    END { if (!found) exit 1 }
  ' "$readme"
}
deps="$(extract '```toml')" || fail "no \`\`\`toml block after '## Quick start' in $readme"
code="$(extract '```rust,no_run')" || fail "no \`\`\`rust,no_run block after '## Quick start' in $readme"
grep -q '^\[dependencies\]' <<<"$deps" || fail "the quick start's toml block has no [dependencies]"

# path = "../savant-sdk/<crate>" -> this checkout's <crate>
deps="$(sed -E "s#path = \"[^\"]*savant-sdk/([^\"]+)\"#path = \"$repo/\\1\"#" <<<"$deps")"
if grep -E 'path = "' <<<"$deps" | grep -vq "path = \"$repo/"; then
  fail "a dependency path was not rewritten: $deps"
fi

mkdir -p "$work/app/src"
cat >"$work/app/Cargo.toml" <<EOF
[package]
name = "savant-quickstart-check"
version = "0.1.0"
edition = "2021"
publish = false

[workspace]

$deps
EOF
printf '%s\n' "$code" >"$work/app/src/main.rs"

# The quick start reads frame.jpeg from the working directory and uses
# /tmp/savant for its sockets.
python3 - "$work/app/frame.jpeg" <<'EOF' || fail "cannot write frame.jpeg"
import sys
# a valid 1x1 baseline JPEG
data = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707"
    "070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c"
    "1c2837292c30313434341f27393d38323c2e333432ffc0000b080001000101011100"
    "ffc4001f0000010501010101010100000000000000000102030405060708090a0bff"
    "c400b5100002010303020403050504040000017d0102030004110512213141061351"
    "6107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728"
    "292a3435363738393a434445464748494a535455565758595a636465666768696a73"
    "7475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2"
    "b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8"
    "e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00fbd3ffd9")
open(sys.argv[1], "wb").write(data)
EOF
mkdir -p /tmp/savant

cd "$work/app"
flag=()
[ "$profile" = release ] && flag=(--release)
start=$(date +%s)
cargo build --quiet "${flag[@]}" || fail "the quick start does not build (in $work/app)"
built=$(date +%s)
out="$(timeout 300 cargo run --quiet "${flag[@]}" 2>&1)" || fail "the quick start failed: $out"
done_at=$(date +%s)
echo "$out"
grep -qx 'sent 10000, received 10000' <<<"$out" || fail "expected 'sent 10000, received 10000', got: $out"
echo "quickstart-check: ok (build $((built - start)) s, run $((done_at - built)) s, target $CARGO_TARGET_DIR, $profile)"
