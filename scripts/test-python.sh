#!/usr/bin/env bash
# Builds and installs the Python package the way the README says (`pip install .`, a real isolated
# build: scikit-build-core and SWIG from PyPI, the core compiled into the extension) into .venv,
# then lints and type-checks it (and examples/python) and runs its tests against the emulator over TLS:
# the calls, and storage sessions end to end with real H.264 + Opus from aiortc. The tests import
# the INSTALLED package, never python/kvsws from the source tree; one of them builds a wheel and
# installs it into a fresh venv.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import mypy, pytest, boto3" 2>/dev/null; then
  scripts/setup.sh
fi

# The extension needs Python.h for the interpreter in .venv (Debian: python3-dev).
include=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
if [ ! -f "$include/Python.h" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "test-python: installing python3-dev (no Python.h in $include)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-dev >/dev/null
fi

# The storage-session tests and the example answer offers with aiortc.
if ! .venv/bin/python -c "import aiortc" 2>/dev/null; then
  .venv/bin/python -m pip install -q -r examples/python/requirements.txt
fi

echo "== Python package: pip install ."
start=$(date +%s)
.venv/bin/python -m pip install -q --force-reinstall --no-deps .
root=$PWD
installed=$(cd / && "$root/.venv/bin/python" -c 'import kvsws; print(kvsws.__version__, "at", kvsws.__file__)')
echo "test-python: built and installed kvsws $installed in $(( $(date +%s) - start )) s"

echo "== Python lint and types"
.venv/bin/ruff check python tests/python examples/python
.venv/bin/python -m mypy
.venv/bin/python -m mypy --strict examples/python/stream.py

echo "== Python tests (pytest)"
.venv/bin/python -m pytest -q tests/python "$@"
