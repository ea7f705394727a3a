#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Go without installing the C library (issue 9): a new module outside the repository (this
# directory, copied into a temporary one) gets kvsws as the README says, `go get
# github.com/kvsws/kvsws/go` (through a replace to this checkout: no network), builds with plain
# `go build` and runs against the emulator. No libkvsws is installed, nothing like
# PKG_CONFIG_PATH, LD_LIBRARY_PATH or CGO_* is set, and ldd must show no libkvsws. The programs:
# the README's Go example (main.go, taken from README.md) and twocgo, which links kvsws beside
# othercgo, another cgo package on libcurl and OpenSSL; and every global symbol of the core must
# carry its prefix, so no other package's C code can clash with it, and be hidden. Then the same
# `go get` without the replace, from a tagged snapshot through git and the module cache. Prints
# the cold and warm build times. Usage: tests/go-consumer/run.sh (go on PATH, .venv with the emulator's deps).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${KVSWS_PYTHON:-$root/.venv/bin/python}
work=$(mktemp -d)
emu_pid=""
cleanup() {
  if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; wait "$emu_pid" 2>/dev/null || true; fi
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "go-consumer: $*" >&2; exit 1; }

# Nothing from the caller's environment may help the build find a C library, and a fresh build
# cache means nothing built before (from another version of core/) is reused: this is a cold build.
unset PKG_CONFIG_PATH LD_LIBRARY_PATH LIBRARY_PATH CPATH C_INCLUDE_PATH \
  CGO_CFLAGS CGO_CPPFLAGS CGO_LDFLAGS GOFLAGS
export GOCACHE="$work/gocache" GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=1
if ldconfig -p 2>/dev/null | grep -q libkvsws || pkg-config --exists kvsws 2>/dev/null; then
  fail "a libkvsws is installed on this machine: this check proves nothing here"
fi

app="$work/app"
cp -r "$here" "$app"
rm -f "$app/run.sh"
cd "$app"
# main.go: the README's Go example, as written.
awk '/^## Go$/ {go = 1} /^## / && !/^## Go$/ {go = 0} go && /^```go$/ {on = 1; next}
     on && /^```$/ {exit} on {print}' "$root/README.md" > main.go
grep -q 'kvsws.NewClient' main.go || fail "no Go example found in the README's Go section"

go mod edit -replace "github.com/kvsws/kvsws=$root"
# kvsws's dependency (smithy-go) is in the module cache (`go test` fetched it); its hashes, which
# a user's go command gets from the checksum database, come from kvsws's go.sum (GOPROXY=off).
cp "$root/go.sum" go.sum
go get github.com/kvsws/kvsws/go
pc=$(go list -f '{{.CgoPkgConfig}}' github.com/kvsws/kvsws/go)
[ "$pc" = "[]" ] || fail "the kvsws package still asks pkg-config for $pc"

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {print b - a}'; }
# What the program needs but kvsws (the standard library, runtime/cgo) first, to time kvsws alone.
start=$EPOCHREALTIME
go build $(go list -deps . | grep -v -e '^github.com/kvsws/' -e '^example.com/')
std=$(since "$start")
start=$EPOCHREALTIME
go build -o readme .
cold=$(since "$start")
start=$EPOCHREALTIME
go build -o readme .
warm=$(since "$start")
go build -o two-cgo ./twocgo
go vet ./...
printf 'go-consumer: go build of the README example, from an empty build cache: %.1f s for the standard library it needs, then %.1f s for kvsws (its C core) and the link; warm %.2f s; %s bytes\n' \
  "$std" "$cold" "$warm" "$(stat -c %s readme)"

libs=$(ldd readme | awk '{print $1}' | tr '\n' ' ')
echo "go-consumer: ldd readme: $libs"
case "$libs" in *libkvsws*) fail "readme links a libkvsws" ;; esac
case "$libs" in *libcurl.so*) ;; *) fail "ldd shows no libcurl: not the dynamic executable expected" ;; esac

# And without the replace, through the go command's module machinery: a tagged snapshot of this
# checkout's files stands in for github.com/kvsws/kvsws (git's insteadOf, GOPROXY=direct), so the
# module is fetched, zipped and unpacked into a module cache as for a user, and built from there.
snap="$work/snapshot"
mkdir -p "$snap"
(cd "$root" && git ls-files -z | xargs -0 -I{} sh -c '[ ! -f "$1" ] || cp --parents "$1" "$2"' _ {} "$snap")
git -C "$snap" init -q
git -C "$snap" add -A
git -C "$snap" -c user.name=ci -c user.email=ci@localhost commit -qm snapshot
git -C "$snap" tag v0.0.1
printf '[url "file://%s"]\n\tinsteadOf = https://github.com/kvsws/kvsws\n' "$snap" > "$work/gitconfig"
mkdir "$work/fetched"
cp main.go "$work/fetched/"
# kvsws's own dependency (github.com/aws/smithy-go, for smithy.APIError) comes, as for a user,
# through a module proxy: here the module cache `go test` filled from the Go module proxy, read
# as a file:// proxy, and checked against the hashes in kvsws's go.sum (no network in this run).
dep_proxy="file://$(go env GOMODCACHE)/cache/download"
(
  cd "$work/fetched"
  export GIT_CONFIG_GLOBAL="$work/gitconfig" GOPROXY="$dep_proxy" GOPRIVATE=github.com/kvsws GOMODCACHE="$work/modcache"
  go mod init example.com/kvsws-fetched 2>/dev/null
  cp "$root/go.sum" go.sum
  go get github.com/kvsws/kvsws/go
  grep -Eq '^(require )?[[:space:]]*github.com/kvsws/kvsws v0.0.1' go.mod || fail "go get did not take the tag v0.0.1: $(cat go.mod)"
  start=$EPOCHREALTIME
  go build -o readme .
  printf 'go-consumer: go build of it from the module cache: %.1f s\n' "$(since "$start")"
  case "$(ldd readme)" in *libkvsws*) fail "the go-got build links a libkvsws" ;; esac
)
echo "go-consumer: go get of a v0.0.1 tag through git and the module cache: $(du -k "$work"/modcache/cache/download/github.com/kvsws/kvsws/@v/v0.0.1.zip | cut -f1) KB module zip, builds"

# The emulator, and the variables the README's example reads.
PYTHONPATH="$root/tests/emulator" "$python" -m kvsws_emulator --state-dir "$work/emu" --port 0 \
  >"$work/emulator.log" 2>&1 &
emu_pid=$!
for _ in $(seq 300); do [ -s "$work/emu/ready.json" ] && break; sleep 0.1; done
[ -s "$work/emu/ready.json" ] || { cat "$work/emulator.log" >&2; fail "the emulator did not start"; }
ready() { "$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/emu/ready.json" "$1"; }
endpoint=$(ready endpoint)
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-west-2 AWS_ACCESS_KEY_ID=AKIDEMULATOR \
  AWS_SECRET_ACCESS_KEY="$(ready secret_access_key)" AWS_CA_BUNDLE="$work/emu/ca.pem" \
  AWS_ENDPOINT_URL_KINESIS_VIDEO="$endpoint"

out=$(./readme)
echo "go-consumer: readme: $out"
case "$out" in
  "joined arn:aws:kinesisvideo:us-west-2:123456789012:channel/demo-channel/"*" after 1 attempt(s)") ;;
  *) fail "the README example printed something else" ;;
esac
joins=$(curl -sS --cacert "$work/emu/ca.pem" "$endpoint/_emulator/state" |
  "$python" -c 'import json, sys; print(json.load(sys.stdin)["calls"].get("JoinStorageSession", 0))')
[ "$joins" = 1 ] || fail "the emulator saw $joins JoinStorageSession calls, not 1"

./two-cgo | sed 's/^/go-consumer: twocgo: /'    # exits 1 (and so does this script) at a failed check

# Every global symbol the package's C code defines starts with kvsws_ or kvi_ (compiled as the go
# command compiles it: its C files and its #cgo CFLAGS).
objs="$work/objs"
mkdir -p "$objs"
cd "$root/go"
read -ra cflags <<<"$(go list -f '{{join .CgoCFLAGS " "}}' .)"
for c in $(go list -f '{{join .CFiles " "}}' .); do
  cc -c -O0 "${cflags[@]}" "$c" -o "$objs/${c%.c}.o"
done
leaked=$(nm -g --defined-only "$objs"/*.o | awk 'NF == 3 && $3 !~ /^(kvsws_|kvi_)/ {print $3}' | sort -u)
[ -z "$leaked" ] || fail "global symbols without the kvsws_/kvi_ prefix (another package's C could clash): $leaked"
# And all hidden (no KVSWS_BUILDING, -fvisibility=hidden): none can leave a Go binary or c-shared library.
visible=$(readelf -sW "$objs"/*.o | awk '$5 == "GLOBAL" && $7 != "UND" && $6 != "HIDDEN" {print $8}' | sort -u)
[ -z "$visible" ] || fail "global symbols of the core that are not hidden: $visible"
echo "go-consumer: $(nm -g --defined-only "$objs"/*.o | awk 'NF == 3' | wc -l) global symbols in the core, all kvsws_* or kvi_*, all hidden"
echo "go-consumer: go get, plain go build and both programs work without libkvsws"
