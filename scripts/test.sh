#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets everything up and runs every test: C unit tests (plain, ASan+UBSan, valgrind; the fuzz
# corpora replayed), a few seconds of each fuzz target, the C build as the README documents it
# (scripts/test-build.sh), cross-builds under qemu, the emulator's own tests against boto3, the
# integration tests over real TLS, the Python wheel, the Go module, and the README's commands.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true

scripts/setup.sh

echo "== C build and unit tests"
scripts/build.sh build
(cd build && ctest --output-on-failure -j 2)
tests/consumer/run.sh build

echo "== C builds as documented: the README's Release build and install, install components, Debug, clang, FetchContent"
scripts/test-build.sh

echo "== C cross-builds for camera SoCs, unit tests under qemu-user"
scripts/cross-test.sh aarch64
scripts/cross-test.sh armhf

echo "== C unit tests under ASan + UBSan"
scripts/build.sh build-asan -DKVSWS_SANITIZE=ON -DKVSWS_BUILD_CLI=ON
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j 2)

echo "== C unit tests under valgrind"
for t in build/test_* build/abi_check; do
  [ -x "$t" ] || continue
  valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --trace-children=no "$t" >/dev/null
  echo "valgrind: $(basename "$t") clean"
done

echo "== fuzz targets: a smoke run of each (clang, libFuzzer, ASan + UBSan)"
scripts/fuzz.sh 4

echo "== Python package"
scripts/test-python.sh

echo "== Go module"
scripts/test-go.sh

echo "== C example (GStreamer webrtcbin) streaming into the emulator"
scripts/test-c-example.sh

echo "== lint"
python3 scripts/spdx.py
python3 scripts/check-layers.py
.venv/bin/ruff check tests scripts

echo "== emulator and integration tests (pytest)"
KVSWS_BUILD_DIR="$PWD/build" .venv/bin/python -m pytest -q tests --ignore=tests/python

echo "== the C API, session, slow-endpoint, hostile-server and STS/SSO/IoT credential integration tests again, on the ASan + UBSan build"
KVSWS_BUILD_DIR="$PWD/build-asan" ASAN_OPTIONS=detect_leaks=1 \
  .venv/bin/python -m pytest -q tests/integration/test_c_api.py tests/integration/test_session_c.py \
  tests/integration/test_slow_endpoints.py tests/integration/test_credentials_sts.py \
  tests/integration/test_hostile_session.py tests/integration/test_endpoints_split.py \
  tests/integration/test_credentials_iot.py

echo "== the README's Python and Go install commands, as written"
scripts/test-readme.sh

echo "== the demo (the README's first command)"
scripts/demo.sh
