#!/usr/bin/env bash
# Waits for the tansu build that `TANSU_INSTALL=background scripts/setup.sh`
# started (CI); returns at once when tansu is installed already. Fails with
# the end of the build's log when the build failed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="$ROOT/target/tansu-install"
if command -v tansu >/dev/null 2>&1 || [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/tansu" ]; then
  exit 0
fi
if [ ! -d "$STATE" ]; then
  echo "wait-for-tansu: tansu is not installed and no build is running: run scripts/setup.sh" >&2
  exit 1
fi
while [ ! -f "$STATE/rc" ]; do sleep 5; done
rc="$(cat "$STATE/rc")"
if [ "$rc" != 0 ]; then
  echo "wait-for-tansu: the tansu build failed (exit $rc):" >&2
  tail -30 "$STATE/log" >&2
  exit 1
fi
echo "wait-for-tansu: tansu installed" >&2
