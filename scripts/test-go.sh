#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Go module (go/) against the C library built from this tree: builds libkvsws, installs it
# into build-go/prefix (library, header, kvsws.pc), then in go/: gofmt, go vet, and
# go test -race (every operation and modelled error against the emulator over TLS,
# cancellation, 100 goroutines on one client, storage sessions and their events, the runnable
# godoc examples); then the same in examples/go (its own module: pion streaming real H.264 +
# Opus, made by examples/go/make_media.py, into storage sessions on the emulator; its
# dependencies come from the Go module proxy, pinned by its go.sum).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
root=$PWD
export AWS_EC2_METADATA_DISABLED=true

# Debian packages and .venv (with the emulator's dependencies), unless scripts/test.sh did it.
[ -x .venv/bin/python ] || scripts/setup.sh

# Go: the machine's, else Debian's golang-go (1.19 is enough for go/go.mod; examples/go uses pion,
# which needs Go 1.24 or newer: with an older Go that module fails to build, saying so).
if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    apt_install test-go golang-go
  fi
fi
export GOTOOLCHAIN=local CGO_ENABLED=1
if [ -z "${GOCACHE:-}" ] && [ -z "${HOME:-}" ] && [ -z "${XDG_CACHE_HOME:-}" ]; then
  export GOCACHE="$root/build-go/gocache"
fi
echo "test-go: $(go version)"

echo "== Go: build and install the C library into build-go/prefix"
prefix="$root/build-go/prefix"
scripts/build.sh build-go -DKVSWS_BUILD_TESTS=OFF -DKVSWS_BUILD_CLI=OFF \
  -DCMAKE_INSTALL_PREFIX="$prefix"
rm -rf "$prefix"
cmake --install build-go >/dev/null
pc=$(find "$prefix" -name kvsws.pc -print -quit)
[ -n "$pc" ] || { echo "test-go: no kvsws.pc under $prefix" >&2; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
libdir=$(pkg-config --variable=libdir kvsws)
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Go's build cache does not look at headers outside the module: key it on kvsws.h's content.
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -DKVSWS_H_SHA256=$(sha256sum "$prefix/include/kvsws.h" | cut -c1-16)"
echo "test-go: pkg-config kvsws $(pkg-config --modversion kvsws): $(pkg-config --libs kvsws)"

export KVSWS_PYTHON="${KVSWS_PYTHON:-$root/.venv/bin/python}"
for module in go examples/go; do
  cd "$root/$module"
  echo "== Go ($module): gofmt and go vet"
  unformatted=$(gofmt -l .)
  if [ -n "$unformatted" ]; then
    echo "test-go: not gofmt'd in $module: $unformatted" >&2
    exit 1
  fi
  # examples/go's go.sum must already cover what it needs (no silent go.mod/go.sum edits).
  go mod verify >/dev/null
  go vet ./...
  echo "== Go ($module): go test -race (against the emulator)"
  go test -race -count=1 ./...
done
