#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Go module (go.mod at the root; the package in go/ compiles the C core itself): checks that
# every core/src file is compiled into the package (scripts/go-core-sources.py --check), then in
# go/: gofmt, go vet, and go test -race (every operation and modelled error against the emulator
# over TLS, cancellation, 100 goroutines on one client, storage sessions and their events, the
# runnable godoc examples); then the same in examples/go (its own module: pion streaming real
# H.264 + Opus, made by examples/go/make_media.py, into storage sessions on the emulator; its
# dependencies come from the Go module proxy, pinned by its go.sum); then tests/go-consumer/run.sh
# (a new module outside the repository: `go get`, plain `go build`, no libkvsws anywhere, ldd,
# another cgo package on libcurl/OpenSSL beside it); last, -tags kvsws_system against libkvsws
# built from this tree and installed into build-go/prefix.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
root=$PWD
export AWS_EC2_METADATA_DISABLED=true

# Debian packages and .venv (with the emulator's dependencies), unless scripts/test.sh did it.
[ -x .venv/bin/python ] || scripts/setup.sh

# Go: the machine's, else Debian's golang-go (1.19 is enough for the module, go.mod; examples/go uses pion,
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

# Go's build cache does not notice edits to files outside the package's directory, and the core's
# C files are #included from ../core/src: key the cache on core/'s content, so that no run here
# reuses objects compiled from another version of the core.
core_sha=$(find core/src core/include -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g} -DKVSWS_CORE_SHA256=$core_sha"

echo "== Go: every core file compiled into the package"
scripts/go-core-sources.py --check

export KVSWS_PYTHON="${KVSWS_PYTHON:-$root/.venv/bin/python}"
# go/'s module is the repository (go.mod at the root; tests/go-consumer is gofmt'd with it);
# examples/go is its own module.
for module in go examples/go; do
  if [ "$module" = go ]; then
    dir=$root pkgs=./go/... fmt=(go tests/go-consumer)
  else
    dir=$root/$module pkgs=./... fmt=(.)
  fi
  cd "$dir"
  echo "== Go ($module): gofmt and go vet"
  unformatted=$(gofmt -l "${fmt[@]}")
  if [ -n "$unformatted" ]; then
    echo "test-go: not gofmt'd in $module: $unformatted" >&2
    exit 1
  fi
  # go.sum must already cover what a module needs (no silent go.mod/go.sum edits).
  go mod verify >/dev/null
  go vet "$pkgs"
  echo "== Go ($module): go test -race (against the emulator)"
  go test -race -count=1 "$pkgs"
done
cd "$root"

echo "== Go: a new module with go get and plain go build, no libkvsws installed"
tests/go-consumer/run.sh

echo "== Go with -tags kvsws_system: libkvsws from this tree, installed into build-go/prefix"
prefix="$root/build-go/prefix"
scripts/build.sh build-go -DKVSWS_BUILD_TESTS=OFF -DKVSWS_BUILD_CLI=OFF \
  -DCMAKE_INSTALL_PREFIX="$prefix"
rm -rf "$prefix"
cmake --install build-go >/dev/null
pc=$(find "$prefix" -name kvsws.pc -print -quit)
[ -n "$pc" ] || { echo "test-go: no kvsws.pc under $prefix" >&2; exit 1; }
libdir=$(cd "$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --variable=libdir kvsws)" && pwd)
test_bin="$root/build-go/kvsws-system.test"
(
  cd go
  export PKG_CONFIG_PATH="$(dirname "$pc")"
  go build -tags kvsws_system    # the README's command
  go vet -tags kvsws_system .
  go test -tags kvsws_system -c -o "$test_bin" .
)
case "$(LD_LIBRARY_PATH="$libdir" ldd "$test_bin")" in
  *"=> $libdir/libkvsws.so"*) ;;
  *) echo "test-go: -tags kvsws_system did not link $libdir/libkvsws.so" >&2; exit 1 ;;
esac
(cd go && LD_LIBRARY_PATH="$libdir" "$test_bin" -test.count=1)
echo "test-go: -tags kvsws_system: the package's tests pass on $libdir/libkvsws.so"
