#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the built library into a scratch prefix and builds a consumer three ways:
# find_package(kvsws CONFIG) (shared and static targets), pkg-config, and pkg-config --static
# against libkvsws.a. Then checks that the CMake package, kvsws.pc, `kvsws --version` and kvsws.h
# name the same version. Usage: run.sh BUILD_DIR (built with the CLI).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
cd "$here/../.." && . scripts/lib.sh
# `pkg-config --static` expands Debian's libcurl.pc, whose Libs.private names these libraries.
apt_install consumer libnghttp2-dev libidn2-dev librtmp-dev libssh2-1-dev libpsl-dev libkrb5-dev \
  libldap-dev libzstd-dev libbrotli-dev zlib1g-dev
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name 'libkvsws.so.0' -print -quit)")
export PKG_CONFIG_PATH="$libdir/pkgconfig"

cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
LD_LIBRARY_PATH="$libdir" "$work/cmake/consumer"
"$work/cmake/consumer_static"

cc "$here/consumer.c" -o "$work/pc_consumer" $(pkg-config --cflags --libs kvsws)
LD_LIBRARY_PATH="$libdir" "$work/pc_consumer"

# The same flags a static link takes, with -lkvsws pinned to the archive (the .so sits beside it).
static_flags=$(pkg-config --static --libs kvsws)
cc "$here/consumer.c" -o "$work/pc_static_consumer" $(pkg-config --cflags kvsws) \
  ${static_flags/-lkvsws/-l:libkvsws.a}
"$work/pc_static_consumer"
for exe in "$work/cmake/consumer_static" "$work/pc_static_consumer"; do
  if ldd "$exe" | grep -q libkvsws; then
    echo "consumer: $(basename "$exe") needs libkvsws.so: it should hold libkvsws.a" >&2
    exit 1
  fi
done

header=$(sed -n 's/^#define KVSWS_VERSION_STRING "\(.*\)"$/\1/p' "$prefix/include/kvsws.h")
package=$(cat "$work/cmake/kvsws-package-version.txt")
pc=$(pkg-config --modversion kvsws)
cli=$("$prefix/bin/kvsws" --version)
echo "consumer: versions: kvsws.h $header, CMake package $package, kvsws.pc $pc, CLI $cli"
if [ -z "$header" ] || [ "$package" != "$header" ] || [ "$pc" != "$header" ] ||
   [ "$cli" != "kvsws/$header" ]; then
  echo "consumer: the versions disagree" >&2
  exit 1
fi
echo "consumer: find_package(kvsws) (shared, static), pkg-config and pkg-config --static all work"
