#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds kvsws into build/ (or $1), with extra CMake arguments after it.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)" >/dev/null
echo "build: $dir ready"
