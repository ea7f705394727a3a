#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The core is used from many threads at once (a shared client, cgo, Python threads): libc calls
# that keep hidden static state must not appear in it. Use the _r forms.
set -u
src=$1
hits=$(grep -rnE --include=*.c '\b(strtok|gmtime|localtime|asctime|ctime|rand|srand|inet_ntoa|strerror|getpwnam|getpwuid|getgrnam|ttyname|setlocale)[[:space:]]*\(' "$src" | grep -vE '_r[[:space:]]*\(' || true)
if [ -n "$hits" ]; then
  echo "non-reentrant libc calls in the core:"; echo "$hits"
  echo "0 passed, 1 failed"; exit 1
fi
echo "1 passed, 0 failed"
