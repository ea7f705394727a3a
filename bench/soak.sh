#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Soak: bench/soak.sh [SESSIONS] [MINUTES] (default 20 sessions, 3 minutes). Starts the local
# emulator (tests/emulator, through its Emulator helper) and runs SESSIONS kvsws storage sessions in
# one process, one thread driving them all, through a rotation of emulator faults (GO_AWAY, drop,
# close 1011, idle close, 503 on JoinStorageSession, throttle on ConnectAsMaster, malformed frames,
# RECONNECT_ICE_SERVER) for MINUTES, sampling RSS, fds and threads every second; prints a summary and
# exits non-zero if a disruption did not recover within 15 s or fds / threads grew. Extra arguments
# go to bench/soak.py (--interval, --bound, ...). Needs scripts/setup.sh and the package in .venv
# (`. scripts/lib.sh; pip_install_kvsws soak`).
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=${1:-20}
minutes=${2:-3}
shift $(( $# > 2 ? 2 : $# ))
if ! .venv/bin/python -c "import kvsws, aiortc" 2>/dev/null; then
  echo "soak: .venv has no kvsws or aiortc: run scripts/setup.sh, then . scripts/lib.sh; pip_install_kvsws soak" >&2
  exit 2
fi
export PYTHONPATH=tests/emulator${PYTHONPATH:+:$PYTHONPATH}
exec .venv/bin/python bench/soak.py --sessions "$sessions" --minutes "$minutes" "$@"
