#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds and installs the Python package the way the README says (`pip install .`, a real isolated
# build: scikit-build-core and SWIG from PyPI, the core compiled into the extension) into .venv,
# then lints and type-checks it (and examples/python) and runs its tests against the emulator over TLS:
# the calls, and storage sessions end to end with real H.264 + Opus from aiortc. The tests import
# the INSTALLED package, never python/kvsws from the source tree. The wheel scripts/build-wheel.sh
# makes is tested too: installed into a fresh venv, it calls the emulator and runs the kvsws command.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
export AWS_EC2_METADATA_DISABLED=true

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import mypy, pytest, boto3" 2>/dev/null; then
  scripts/setup.sh
fi

# The storage-session tests and the example answer offers with aiortc.
pip_install_aiortc test-python

echo "== Python package: pip install ."
start=$(date +%s)
pip_install_kvsws test-python
root=$PWD
installed=$(cd / && "$root/.venv/bin/python" -c 'import kvsws; print(kvsws.__version__, "at", kvsws.__file__)')
echo "test-python: built and installed kvsws $installed in $(( $(date +%s) - start )) s"

echo "== Python wheel: scripts/build-wheel.sh"
scripts/build-wheel.sh
wheel=$(ls "$PWD"/dist/kvsws-*.whl)
# The wheel's tests compare its kvsws command with the C executable's output.
scripts/build.sh build

echo "== Python lint and types"
.venv/bin/ruff check python tests/python examples/python
.venv/bin/python -m mypy
.venv/bin/python -m mypy --strict examples/python/stream.py

echo "== Python tests (pytest)"
KVSWS_WHEEL=$wheel .venv/bin/python -m pytest -q tests/python "$@"
