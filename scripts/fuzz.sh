#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan) into build-fuzz/ and runs each
# for SECONDS (default 60), one after the other, starting from its committed corpus
# (tests/fuzz/corpus/<target>; new inputs go to build-fuzz/corpus/<target>). Prints executions
# per target and exits non-zero when a target found a crash, a leak or a sanitizer report (the
# input is kept in build-fuzz/artifacts/).
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 5 (CI's smoke run),
#                                                  scripts/fuzz.sh 3600 fuzz_session
# KVSWS_FUZZ_DIR names another build directory (a long run beside CI's smoke run).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

seconds=${1:-60}
shift || true
dir=${KVSWS_FUZZ_DIR:-build-fuzz}
apt_install fuzz clang libclang-rt-14-dev cmake pkg-config libcurl4-openssl-dev libssl-dev \
  libcjson-dev
CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVSWS_BUILD_FUZZ=ON \
  -DKVSWS_BUILD_TESTS=OFF -DKVSWS_BUILD_CLI=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)" --target fuzz >/dev/null
echo "fuzz: targets built in $dir/"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in tests/fuzz/fuzz_*.c; do
    targets+=("$(basename "$src" .c)")
  done
fi

mkdir -p "$dir/artifacts"
summary=()
failed=0
for t in "${targets[@]}"; do
  seeds=tests/fuzz/corpus/${t#fuzz_}
  work=$dir/corpus/${t#fuzz_}
  mkdir -p "$work"
  log=$dir/$t.log
  start=$(date +%s)
  # The first byte of fuzz_ws_frame's input picks the size limit: let frames grow past 64 KiB.
  extra=()
  [ "$t" = fuzz_ws_frame ] && extra+=(-max_len=100000)
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     "$dir/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
     -print_final_stats=1 -artifact_prefix="$dir/artifacts/$t-" "${extra[@]}" \
     "$work" "$seeds" >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (see $log)"
    failed=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  summary+=("$(printf '%-24s %12s executions in %5ss  %s' "$t" "${runs:-?}" \
    "$(( $(date +%s) - start ))" "$result")")
  echo "${summary[-1]}"
done

echo "fuzz: summary ($seconds s per target)"
printf '  %s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  ls "$dir/artifacts/" >&2
  exit 1
fi
