#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-builds kvsws for a camera SoC and runs the C unit tests there under qemu-user:
#   scripts/cross-test.sh aarch64     # 64-bit ARM (Debian arm64), then a build with CMAKE_SYSROOT
#   scripts/cross-test.sh armhf       # 32-bit ARMv7 hard float (Debian armhf), then an ARMv6 link
# Installs Debian's cross gcc, qemu-user and the target's -dev packages through multiarch
# (dpkg --add-architecture), builds into build-ARCH with cmake/toolchains/ (the CLI and the tests
# too), runs ctest (which starts every test program under qemu) and prints the stripped size of
# libkvsws.so.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

arch=${1:-}
case "$arch" in
  aarch64) deb_arch=arm64 triplet=aarch64-linux-gnu qemu=qemu-aarch64 ;;
  armhf) deb_arch=armhf triplet=arm-linux-gnueabihf qemu=qemu-arm ;;
  *) echo "usage: scripts/cross-test.sh aarch64|armhf" >&2; exit 2 ;;
esac
build=build-$arch

# The target's libraries sit beside the host's in /usr/lib/TRIPLET: libcurl4-openssl-dev,
# libssl-dev, libcjson-dev and everything they pull in are Multi-Arch: same, so apt installs them
# next to the amd64 ones (and brings an amd64 copy up to the same version when it lags).
# The README's "Cross-compiling" block for this target runs exactly as written: it adds the
# architecture, installs the cross gcc, qemu-user and the target's -dev packages, builds and
# runs ctest. MinSizeRel: a camera's flash is small.
apt_install cross-test sudo build-essential cmake pkg-config binutils
case "$arch" in aarch64) block=1 ;; armhf) block=2 ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
readme_block Cross-compiling "$block" >"$work/readme.sh"
grep -q "CMAKE_TOOLCHAIN_FILE=cmake/toolchains/$triplet.cmake" "$work/readme.sh" ||
  { echo "cross-test: the README's Cross-compiling block $block is not for $triplet" >&2; exit 1; }
echo "cross-test: the README's commands for $arch:"
cat "$work/readme.sh"
start=$(date +%s)
if ! DEBIAN_FRONTEND=noninteractive bash -euo pipefail "$work/readme.sh" >"$work/build.log" 2>&1; then
  cat "$work/build.log"; echo "cross-test: the README's $arch commands failed"; exit 1
fi
# A warning fails here as -Werror would: a 32-bit target finds some that amd64 cannot.
if grep -B2 -A4 "warning:" "$work/build.log"; then echo "cross-test: $arch build warns"; exit 1; fi
machine=$("$triplet-readelf" -h "$build/libkvsws.so" | sed -n 's/^ *Machine: *//p')
grep -E "tests passed" "$work/build.log"
echo "cross-test: $arch built and tested in $(($(date +%s) - start)) s (libkvsws.so for $machine)"

# Every unit test runs under $qemu (the toolchain file's CMAKE_CROSSCOMPILING_EMULATOR): loopback
# HTTP, TLS and WebSocket servers, threads and child processes all work in qemu-user. The two
# shell checks (reentrant_libc, exported_symbols) run on the host and read the ARM files.

# check_sign ROOT DIR: DIR/kvsws runs on the target (qemu, libraries from ROOT) and signs the AWS
# SigV4 suite's get-vanilla case as AWS does.
check_sign() {
  local want got
  want=$(cat tests/vectors/sigv4/get-vanilla/header-signature.txt)
  got=$(env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_CONFIG_FILE=/dev/null \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_ACCESS_KEY_ID=AKIDEXAMPLE \
    AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY \
    "$qemu" -L "$1" "$2/kvsws" sign --method GET --url https://example.amazonaws.com/ \
    --service service --region us-east-1 --timestamp 20150830T123600Z --output json |
    sed -n 's/.*"signature":[[:space:]]*"\([0-9a-f]*\)".*/\1/p')
  if [ "$got" != "$want" ]; then
    echo "cross-test: $2/kvsws sign gave '$got', the suite says $want"; return 1
  fi
  echo "cross-test: $arch $2/kvsws ($("$qemu" -L "$1" "$2/kvsws" --version)) signs get-vanilla as AWS does"
}
check_sign / "$build"

"$triplet-strip" -o "$build/libkvsws.stripped.so" "$build/libkvsws.so"
read -r text data bss _ < <("$triplet-size" "$build/libkvsws.stripped.so" | tail -1)
echo "cross-test: $arch libkvsws.so stripped: $(stat -c %s "$build/libkvsws.stripped.so") bytes" \
  "(text $text, data $data, bss $bss)"

if [ "$arch" = armhf ]; then
  # ARMv6 (Raspberry Pi 1 and Zero, Raspbian's baseline) has no 64-bit atomic loads and stores:
  # gcc calls libatomic for them, and the library links with --no-undefined, so this link proves
  # the core needs no libatomic.
  cmake -S . -B "$build-armv6" -DCMAKE_TOOLCHAIN_FILE="cmake/toolchains/$triplet.cmake" \
    -DCMAKE_BUILD_TYPE=MinSizeRel -DKVSWS_BUILD_CLI=OFF -DKVSWS_BUILD_TESTS=OFF \
    "-DCMAKE_C_FLAGS=-march=armv6 -mfpu=vfp -marm" >/dev/null
  cmake --build "$build-armv6" -j "$(nproc)" --target kvsws >/dev/null
  if "$triplet-nm" -D --undefined-only "$build-armv6/libkvsws.so" | grep __atomic_; then
    echo "cross-test: the ARMv6 library calls libatomic"; exit 1
  fi
  echo "cross-test: ARMv6 libkvsws.so links with --no-undefined and calls no libatomic"
fi

if [ "$arch" = aarch64 ]; then
  # The toolchain file with -DCMAKE_SYSROOT, as for a device image's sysroot: the target's .debs
  # installed above (and libc6-dev) unpacked into a root of their own.
  sysroot=$PWD/$build-sysroot/root
  rm -rf "$build-sysroot" && mkdir -p "$build-sysroot/debs"
  debs=$(dpkg-query -W -f '${Package}:${Architecture} ${db:Status-Status}\n' |
    awk -v arch=":$deb_arch" '$2 == "installed" && substr($1, length($1) - length(arch) + 1) == arch {print $1}')
  # shellcheck disable=SC2086 # one package a word
  (cd "$build-sysroot/debs" && apt-get download $debs "libc6-dev:$deb_arch" \
    "linux-libc-dev:$deb_arch" "libcrypt-dev:$deb_arch" >/dev/null 2>&1)
  for deb in "$build-sysroot"/debs/*.deb; do dpkg -x "$deb" "$sysroot"; done
  cmake -S . -B "$build-sysroot/build" -DCMAKE_TOOLCHAIN_FILE="cmake/toolchains/$triplet.cmake" \
    -DCMAKE_BUILD_TYPE=MinSizeRel -DCMAKE_SYSROOT="$sysroot" -DKVSWS_BUILD_TESTS=OFF >/dev/null
  found=$(grep -E '^(CURL_LIBRARY_RELEASE|OPENSSL_SSL_LIBRARY|pkgcfg_lib_CJSON_cjson):' \
    "$build-sysroot/build/CMakeCache.txt" | cut -d= -f2)
  if grep -v "^$sysroot/usr/lib/$triplet/" <<<"$found"; then
    echo "cross-test: with CMAKE_SYSROOT, the libraries above came from outside $sysroot"; exit 1
  fi
  cmake --build "$build-sysroot/build" -j --target kvsws kvsws_cli >/dev/null
  check_sign "$sysroot" "$build-sysroot/build"
  echo "cross-test: with -DCMAKE_SYSROOT ($(wc -l <<<"$found") libraries from it, $(ls "$build-sysroot/debs" | wc -l) .debs)"
fi
