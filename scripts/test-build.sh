#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The C build wherever it is documented. From a clean copy of the checkout (its tracked and new
# files, no build trees):
#   1. the README's "Build and install the C library" commands exactly as written (Release, gcc,
#      no -Werror, `sudo cmake --install build` into /usr/local), which must build without a
#      warning and gives a stripped libkvsws.so of at most 200 kB; then consumers built against
#      /usr/local the way the README says, and the installed files removed again;
#   2. the README's packager commands: each install component holds exactly its files.
# Then, in this checkout through scripts/build.sh (KVSWS_WERROR=ON), Debug with gcc and Release with
# clang, each with its unit tests, and a FetchContent consumer in Release. Prints the configure +
# build seconds of each.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
export AWS_EC2_METADATA_DISABLED=true
# sudo: the README's install line runs as written, also where CI is root without sudo.
apt_install test-build build-essential cmake pkg-config libcurl4-openssl-dev libssl-dev libcjson-dev \
  clang sudo
root=$PWD
work=$(mktemp -d)
copy="$work/kvsws"
installed_manifest="$copy/build/install_manifest.txt"
new_install_dirs=()

# Takes back what the README's install put into /usr/local (right after the checks, or on failure).
uninstall_readme_build() {
  if [ -f "$installed_manifest" ]; then
    xargs -d '\n' sudo rm -f <"$installed_manifest"
    sudo rm -rf /usr/local/lib*/cmake/kvsws
    # The directories the install created, if they were not there before and are empty now.
    for dir in "${new_install_dirs[@]}"; do
      sudo rmdir --ignore-fail-on-non-empty "$dir" 2>/dev/null || true
    done
    sudo ldconfig
    rm -f "$installed_manifest"
  fi
}
trap 'uninstall_readme_build; rm -rf "$work"' EXIT

# seconds_since START_NS: elapsed seconds, one decimal.
seconds_since() { awk -v s="$1" -v e="$(date +%s%N)" 'BEGIN { printf "%.1f", (e - s) / 1e9 }'; }

# expect_files DIR PATH...: DIR holds exactly these files (and symlinks), no others.
expect_files() {
  local dir=$1
  shift
  if ! diff <(printf '%s\n' "$@" | sort) <(cd "$dir" && find . ! -type d | sed 's|^\./||' | sort); then
    echo "test-build: $dir does not hold exactly the files above (< expected, > found)" >&2
    return 1
  fi
}

# run_unit_tests BUILD_DIR: ctest, its summary line (everything when a test fails).
run_unit_tests() {
  (cd "$1" && ctest -j 2 --output-on-failure >ctest.log 2>&1) || { cat "$1/ctest.log"; return 1; }
  grep -E 'tests passed' "$1/ctest.log"
}

mkdir -p "$copy"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -C "$copy" -xf -
readme_block "Build and install the C library" 1 >"$work/readme-build.sh"
readme_block "Build and install the C library" 2 >"$work/readme-packager.sh"
grep -q '^sudo cmake --install build' "$work/readme-build.sh" ||
  { echo "test-build: the README's build block has no 'sudo cmake --install build'" >&2; exit 1; }
grep -q -- '--component cli$' "$work/readme-packager.sh" ||
  { echo "test-build: the README's packager block has no component installs" >&2; exit 1; }

echo "== the README's build, as written (in a clean copy)"
cat "$work/readme-build.sh"
if ls /usr/local/include/kvsws.h /usr/local/bin/kvsws /usr/local/lib*/libkvsws* >/dev/null 2>&1; then
  echo "test-build: a kvsws is already installed under /usr/local; this test installs there and" \
    "removes what it installed, so remove that one first" >&2
  exit 1
fi
new_install_dirs=()
for dir in /usr/local/lib/cmake /usr/local/lib/pkgconfig; do
  [ -d "$dir" ] || new_install_dirs+=("$dir")
done
start=$(date +%s%N)
(cd "$copy" && bash -euo pipefail "$work/readme-build.sh") >"$work/readme-build.log" 2>&1 ||
  { cat "$work/readme-build.log"; exit 1; }
echo "test-build: README Release build (gcc), configure + build + ctest + install: $(seconds_since "$start") s"
if grep -n 'warning:' "$work/readme-build.log"; then
  echo "test-build: the README's Release build warns (above)" >&2
  exit 1
fi
grep -E '^100% tests passed' "$work/readme-build.log"
# The size the project promises for the README's Release build (bench/README.md): stripped as the
# bench strips it, every feature in.
max_lib_bytes=200000
cp "$(readlink -f "$copy/build/libkvsws.so")" "$work/libkvsws-stripped.so"
strip --strip-unneeded "$work/libkvsws-stripped.so"
lib_bytes=$(stat -c %s "$work/libkvsws-stripped.so")
echo "test-build: libkvsws.so (README Release build) stripped: $lib_bytes bytes (at most $max_lib_bytes)"
if [ "$lib_bytes" -gt "$max_lib_bytes" ]; then
  echo "test-build: the stripped libkvsws.so grew past $max_lib_bytes bytes (cmake/KvswsOptimize.cmake" \
    "says what keeps it small)" >&2
  exit 1
fi
# What the README promises next: find_package and pkg-config find it, and programs run.
cmake -S tests/consumer -B "$work/system-consumer" >/dev/null
cmake --build "$work/system-consumer" >/dev/null
"$work/system-consumer/consumer"
"$work/system-consumer/consumer_static"
# shellcheck disable=SC2046
cc tests/consumer/consumer.c -o "$work/pc-consumer" $(pkg-config --cflags --libs kvsws)
"$work/pc-consumer"
kvsws --version
uninstall_readme_build

echo "== the README's packager commands, as written: install components"
(cd "$copy" && bash -euo pipefail "$work/readme-packager.sh") >"$work/readme-packager.log" 2>&1 ||
  { cat "$work/readme-packager.log"; exit 1; }
version=$(sed -n 's/^#define KVSWS_VERSION_STRING "\(.*\)"$/\1/p' core/include/kvsws.h)
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$copy/build/CMakeCache.txt")
pkg="$copy/pkg"
expect_files "$pkg/runtime" "usr/$libdir/libkvsws.so.0" "usr/$libdir/libkvsws.so.$version"
expect_files "$pkg/development" usr/include/kvsws.h "usr/$libdir/libkvsws.a" "usr/$libdir/libkvsws.so" \
  "usr/$libdir/pkgconfig/kvsws.pc" "usr/$libdir/cmake/kvsws/kvswsConfig.cmake" \
  "usr/$libdir/cmake/kvsws/kvswsConfigVersion.cmake" "usr/$libdir/cmake/kvsws/kvswsTargets.cmake" \
  "usr/$libdir/cmake/kvsws/kvswsTargets-release.cmake"
expect_files "$pkg/cli" usr/bin/kvsws
# Every installed file belongs to one of the three: nothing is left in CMake's "Unspecified".
DESTDIR="$pkg/unspecified" cmake --install "$copy/build" --component Unspecified >/dev/null
[ ! -e "$pkg/unspecified" ] || expect_files "$pkg/unspecified"
"$pkg/cli/usr/bin/kvsws" --version
echo "test-build: runtime, development and cli components hold exactly their files"

echo "== Debug (gcc) and Release (clang), warnings as errors, with the unit tests"
start=$(date +%s%N)
scripts/build.sh build-debug -DCMAKE_BUILD_TYPE=Debug
echo "test-build: Debug build (gcc), configure + build: $(seconds_since "$start") s"
run_unit_tests build-debug
start=$(date +%s%N)
scripts/build.sh build-clang -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang
echo "test-build: Release build (clang), configure + build: $(seconds_since "$start") s"
grep -q '^CMAKE_C_COMPILER:[A-Z]*=.*clang' build-clang/CMakeCache.txt
run_unit_tests build-clang

echo "== FetchContent consumer (Release)"
start=$(date +%s%N)
tests/consumer/fetchcontent.sh "$work"
echo "test-build: FetchContent consumer, configure + build: $(seconds_since "$start") s"
