#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds kvsws into build/ (or $1), with extra CMake arguments after it. Warnings are errors here
# (KVSWS_WERROR): CI chooses the compiler; a user's build (the README's) never gets -Werror.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVSWS_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)" >/dev/null
echo "build: $dir ready"
