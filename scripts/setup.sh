#!/usr/bin/env bash
# Installs everything the SDK's build, demo and tests need on a Debian
# machine (bookworm or later) and creates the Python venvs with the real
# peers: savant-rs 0.3.0 (from the package registry) in .venv, and
# savant-rs 1.15.1 (a wheel in ../shared/wheels beside the repository; see
# its README.md) in .venv-savant-rs-1.15. Safe to run again.
#
# Needs a Rust toolchain (cargo >= 1.95, e.g. from rustup) already on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  build-essential      # cc/c++ for the bundled libzmq (zmq-sys) and cc crates
  pkg-config
  protobuf-compiler    # protoc, for prost-build (sdk-core/proto/savant_rs.proto)
  python3 python3-venv # the savant-rs peer used by the interop tests
  # GStreamer 1.22 for the video-file and RTSP sources and the video-file
  # sink (feature `gstreamer`), and the elements the tests make media with:
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  libgstrtspserver-1.0-dev      # the RTSP server the RTSP tests start
  gstreamer1.0-tools            # gst-launch-1.0 / gst-discoverer-1.0
  gstreamer1.0-plugins-base     # typefind, appsink, videotestsrc, oggdemux
  gstreamer1.0-plugins-good     # qtdemux, matroska, avidemux, rtspsrc, vpx, jpeg, mp4mux
  gstreamer1.0-plugins-bad      # h264parse/h265parse/vp9parse/av1parse, tsdemux, x265enc, av1enc
  gstreamer1.0-plugins-ugly     # x264enc
  gstreamer1.0-libav            # avdec_h264/avdec_h265: decoding received H.264/HEVC
  # the headless browser the viewer's test loads its page in
  # (viewer/tests/browser.rs: /usr/bin/chromium --headless)
  chromium
  # the Redis of the Kafka-Redis tests (cli/tests/cli_kafka.rs start their own)
  redis-server
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust >= 1.95 (https://rustup.rs) and run again" >&2
  exit 1
fi

# tansu 0.6.0: the Apache-Kafka-compatible broker the Kafka-Redis tests
# start on a free port (cli/tests/cli_kafka.rs); no Kafka broker comes from
# the Debian archive. Built once per machine into ~/.cargo/bin (8 min on an
# idle 2-core machine, 22 min on a loaded one); skipped when present.
# With TANSU_INSTALL=background (CI) the build runs behind what follows
# (at low priority) and scripts/wait-for-tansu.sh waits for it before the
# tests.
TANSU_STATE="$ROOT/target/tansu-install"
if ! command -v tansu >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tansu" ]; then
  echo "setup: installing tansu 0.6.0 (the Kafka broker of the tests; once per machine)"
  if [ "${TANSU_INSTALL:-}" = background ]; then
    mkdir -p "$TANSU_STATE"
    rm -f "$TANSU_STATE/rc"
    (
      rc=0
      nice -n 10 cargo install tansu --version 0.6.0 --locked --features dynostore \
        >"$TANSU_STATE/log" 2>&1 || rc=$?
      echo "$rc" >"$TANSU_STATE/rc"
    ) </dev/null &
    echo "setup: tansu builds in the background (log: $TANSU_STATE/log)"
  else
    cargo install tansu --version 0.6.0 --locked --features dynostore
  fi
fi

# Python 3.11 is what the savant-rs 0.3.0 wheel is built for.
PY=""
for c in python3.11 python3; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(0 if sys.version_info[:2]==(3,11) else 1)'; then
    PY="$c"; break
  fi
done
if [ -z "$PY" ]; then
  echo "setup: python 3.11 is needed for savant-rs 0.3.0 (found: $(python3 --version 2>&1))" >&2
  exit 1
fi
# msgpack: the record/replay tests read and write message dumps with it.
# jsonschema: the test that `savant-sdk run --schema` is a valid JSON Schema
# and that pipeline files validate against it
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import savant_rs, zmq, jsonschema, msgpack' 2>/dev/null; then
  echo "setup: creating .venv with savant-rs==0.3.0"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check savant-rs==0.3.0 pyzmq jsonschema msgpack
fi

# savant-rs 1.15.1 (Savant 0.6.x) is not on the package registry: it comes
# as a wheel in shared/wheels beside the repository (CI puts a copy of
# shared/ next to its clone). It needs a venv of its own.
WHEEL_NAME=savant_rs-1.15.1-cp311-cp311-manylinux_2_35_x86_64.whl
WHEEL_DIR="$(dirname "$ROOT")/shared/wheels"
WHEEL="$WHEEL_DIR/$WHEEL_NAME"
V115=.venv-savant-rs-1.15
v115_ok() {
  [ -x "$V115/bin/python" ] &&
    LOGLEVEL=warn "$V115/bin/python" -c 'import savant_rs, zmq, msgpack, sys; sys.exit(0 if savant_rs.version() == "1.15.1" else 1)' 2>/dev/null
}
# a venv made before msgpack was needed gets it without a new venv
if [ -x "$V115/bin/python" ] && ! "$V115/bin/python" -c 'import msgpack' 2>/dev/null; then
  "$V115/bin/pip" install -q --disable-pip-version-check msgpack || true
fi
if ! v115_ok; then
  if [ ! -f "$WHEEL" ]; then
    echo "setup: the savant-rs 1.15.1 wheel is missing: expected $WHEEL" >&2
    echo "setup: put a copy of shared/ (with wheels/$WHEEL_NAME) beside the repository and run again" >&2
    exit 1
  fi
  echo "setup: creating $V115 with savant-rs 1.15.1 from $WHEEL"
  rm -rf "$V115"
  "$PY" -m venv "$V115"
  "$V115/bin/pip" install -q --disable-pip-version-check "$WHEEL" pyzmq msgpack
  if ! v115_ok; then
    echo "setup: $V115 does not import savant_rs 1.15.1 after installing $WHEEL" >&2
    exit 1
  fi
fi
echo "setup: ok ($(.venv/bin/python -c 'import savant_rs; print("savant_rs", savant_rs.version())' 2>/dev/null || echo savant_rs) in .venv;" \
  "$(LOGLEVEL=warn "$V115/bin/python" -c 'import savant_rs; print("savant_rs", savant_rs.version())' 2>/dev/null || echo savant_rs) in $V115)"
