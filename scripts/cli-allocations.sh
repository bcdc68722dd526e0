#!/usr/bin/env bash
# Allocations a message of `savant-sdk send` and `savant-sdk receive`,
# counted with uprobes on the C library's malloc, calloc, realloc and
# posix_memalign (root and `perf` needed). The CLI is built without its
# `mimalloc` feature, so that Rust's allocations go through the C library
# as libzmq's do; the count is the same with either allocator.
#
#   bash scripts/cli-allocations.sh [FRAMES]
#
# Each case runs twice, with 1 frame and with FRAMES + 1, and prints the
# difference over FRAMES: the per-message cost without the start-up's
# (300 KB frames: FRAMES / 10). `send --repeat` of one file clones its
# frame for every message, as a source that reads a new one would make it.
# realloc(NULL, n) counts once as realloc and once as the malloc inside it.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
frames=${1:-20000}
if [ "$frames" -lt 10 ]; then
    echo "cli-allocations: FRAMES must be at least 10" >&2
    exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"; perf probe -q -d "probe_libc:*" 2>/dev/null || true' EXIT

cargo build --release -q -p savant-sdk-cli
bin=$work/savant-sdk
cp target/release/savant-sdk "$bin"

libc=$(ldd "$bin" | awk '/libc\.so/ {print $3}')
events=()
perf probe -q -d "probe_libc:*" 2>/dev/null || true # left by another run, maybe another libc
for f in malloc calloc realloc posix_memalign aligned_alloc memalign; do
    perf probe -q -x "$libc" --add "$f"
    events+=("probe_libc:$f")
done
events=$(IFS=,; echo "${events[*]}")

# media: a 2x2 PNG (metadata-only frames) and a JPEG of about 300 KB
python3 - "$work" <<'EOF'
import struct, sys, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(sys.argv[1] + "/tiny.png", "wb").write(png)
EOF
gst-launch-1.0 -q videotestsrc pattern=snow num-buffers=1 ! video/x-raw,width=800,height=560 \
    ! jpegenc quality=85 ! filesink location="$work/big.jpg"

total() { grep probe_libc "$1" | cut -d, -f1 | paste -sd+ | bc; }

# one send -> receive run of N frames; prints "send receive" allocations
run() {
    local file=$1 n=$2 trace=$3 sock=$work/s.ipc
    rm -f "$sock" "$work"/*.stat
    perf stat -x, -e "$events" -o "$work/receive.stat" "$bin" receive \
        --socket "router+bind:ipc://$sock" --eos-count 1 --idle-timeout 120 >/dev/null 2>&1 &
    local receiver=$! waited=0
    until [ -e "$sock" ]; do
        if ! kill -0 "$receiver" 2>/dev/null || [ $waited -ge 2000 ]; then
            echo "cli-allocations: receive did not bind $sock" >&2
            return 1
        fi
        sleep 0.01
        waited=$((waited + 1))
    done
    perf stat -x, -e "$events" -o "$work/send.stat" "$bin" send \
        --socket "dealer+connect:ipc://$sock" --trace "$trace" --repeat "$n" "$file" >/dev/null 2>&1
    wait "$receiver"
    echo "$(total "$work/send.stat") $(total "$work/receive.stat")"
}

printf '%-14s %-7s %12s %12s\n' frames trace send receive
for file in tiny.png big.jpg; do
    n=$frames
    [ "$file" = big.jpg ] && n=$((frames / 10))
    for trace in off jaeger; do
        read -r s1 r1 <<<"$(run "$work/$file" 1 "$trace")"
        read -r sn rn <<<"$(run "$work/$file" $((n + 1)) "$trace")"
        printf '%-14s %-7s %12.2f %12.2f\n' "$file" "$trace" \
            "$(echo "($sn - $s1) / $n" | bc -l)" "$(echo "($rn - $r1) / $n" | bc -l)"
    done
done
