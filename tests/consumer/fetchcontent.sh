#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Embeds this source tree in a parent project through FetchContent, in Release, as a user's project
# would: kvsws::kvsws and kvsws::kvsws_static link and run, and kvsws's tests and CLI are not
# built inside the parent. Usage: fetchcontent.sh [WORK_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${1:-$(mktemp -d)}
rm -rf "$work/fetchcontent"
mkdir -p "$work"
cmake -S "$here" -B "$work/fetchcontent" -DCMAKE_BUILD_TYPE=Release -DKVSWS_SOURCE_DIR="$root" \
  >"$work/fetchcontent.log"
cmake --build "$work/fetchcontent" -j "$(nproc)" >>"$work/fetchcontent.log" 2>&1 ||
  { cat "$work/fetchcontent.log"; exit 1; }
"$work/fetchcontent/consumer"
"$work/fetchcontent/consumer_static"
# Neither kvsws's test targets nor its CLI exist in the parent project, let alone were built.
targets=$(cmake --build "$work/fetchcontent" --target help)
if grep -E -q '(test_sigv4|abi_check|kvsws_cli)' <<<"$targets" ||
   [ -n "$(find "$work/fetchcontent" -type f \( -name 'test_*' -o -name kvsws \) -perm -u+x)" ]; then
  echo "fetchcontent: kvsws's tests or CLI were built inside the parent project" >&2
  exit 1
fi
echo "fetchcontent: kvsws::kvsws and kvsws::kvsws_static link in Release; no kvsws tests built"
