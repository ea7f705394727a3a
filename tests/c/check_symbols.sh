#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The shared library exports exactly the functions the header declares with KVSWS_API.
set -eu
lib=$1 header=$2 map=$3
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sed 's/@.*//' | sort -u)
declared=$(grep -v '^#' "$header" | grep -o 'KVSWS_API[^(]*(' | sed 's/($//; s/.*[ *]//' | sort -u)
fail=0
stray=$(printf '%s\n' "$exported" | grep -v '^kvsws_' || true)
if [ -n "$stray" ]; then echo "exported without the kvsws_ prefix:"; echo "$stray"; fail=1; fi
missing=$(printf '%s\n' "$declared" | grep -vxF "$exported" || true)
if [ -n "$missing" ]; then echo "declared but not exported:"; echo "$missing"; fail=1; fi
extra=$(printf '%s\n' "$exported" | grep -vxF "$declared" || true)
if [ -n "$extra" ]; then echo "exported but not declared:"; echo "$extra"; fail=1; fi
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
case "$soname" in libkvsws.so.0) ;; *) echo "unexpected SONAME: $soname"; fail=1 ;; esac
grep -q 'global: kvsws_\*' "$map" || { echo "version script does not export kvsws_*"; fail=1; }
n=$(printf '%s\n' "$declared" | wc -l)
if [ $fail -eq 0 ]; then echo "$n passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
