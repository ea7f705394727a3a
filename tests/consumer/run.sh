#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the built library into a scratch prefix and builds a consumer two ways:
# find_package(kvsws CONFIG) and pkg-config. Usage: run.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
LD_LIBRARY_PATH="$work/prefix/lib" "$work/cmake/consumer"
libdir=$(ls -d "$work"/prefix/lib*/pkgconfig | head -1)
cc "$here/consumer.c" -o "$work/pc_consumer" $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs kvsws)
LD_LIBRARY_PATH="$work/prefix/lib" "$work/pc_consumer"
echo "consumer: find_package(kvsws) and pkg-config both work"
