#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole benchmark, one command: kvsws (C, Python, Go) side by side with botocore/boto3, awscrt,
# aws-sdk-go-v2, a bare libcurl loop and the bare OpenSSL floor. Prints the table and writes it to
# bench/results/latest.md (and every figure to latest.json).
#
#   bench/run.sh            the full run (about 5 minutes on 2 cores)
#   bench/run.sh --quick    every benchmark briefly, and the correctness gates (for CI)
#
# It installs what it compares, never vendored: Debian packages (build tools, nginx-light) with
# apt-get, boto3/botocore/awscrt from PyPI into bench/.venv (pinned in bench/requirements.txt) with
# kvsws itself built from this tree, aws-sdk-go-v2 and gorilla/websocket through the Go module
# proxy (bench/go/go.mod, go.sum). Needs Go 1.24 or later for the Go rows (skipped without it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH=$ROOT/bench
QUICK=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $a" >&2; exit 2 ;;
  esac
done

if [ "$QUICK" = 1 ]; then
  SIGN_ITER=2000; SIGN_RUNS=3; PY_SCALE=0.1; CALLS=200; CALL_RUNS=3; WARMUP=20
  STARTUP_RUNS=3; MEM_CLIENTS=100; PY_MEM_CLIENTS=20; SCALE_NS="20"; IDLE_S=3
else
  SIGN_ITER=20000; SIGN_RUNS=7; PY_SCALE=1; CALLS=2000; CALL_RUNS=5; WARMUP=200
  STARTUP_RUNS=10; MEM_CLIENTS=1000; PY_MEM_CLIENTS=200; SCALE_NS="100 500 1000"; IDLE_S=30
fi

log() { printf 'bench: %s\n' "$*" >&2; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# ---- set-up ------------------------------------------------------------------------------------
need=()
for p in build-essential cmake pkg-config libcurl4-openssl-dev libssl-dev libcjson-dev python3-dev \
         python3-venv nginx-light openssl curl binutils; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

log "building the library and the C benchmarks (Release)"
cmake -S "$BENCH/c" -B "$BENCH/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BENCH/build" -j "$(nproc)" >/dev/null
cmake --install "$BENCH/build" --prefix "$BENCH/build/prefix" >/dev/null

VENV=$BENCH/.venv
if [ ! -x "$VENV/bin/python" ]; then
  log "creating bench/.venv"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
fi
"$VENV/bin/python" -m pip install -q -r "$BENCH/requirements.txt"
# kvsws from this tree, rebuilt only when its sources changed.
src_hash=$(cat CMakeLists.txt pyproject.toml $(git ls-files -co --exclude-standard core bindings python | sort) \
           2>/dev/null | sha256sum | cut -c1-16)
if [ "$(cat "$VENV/.kvsws-src" 2>/dev/null)" != "$src_hash" ]; then
  log "installing kvsws from this tree into bench/.venv (pip install .)"
  "$VENV/bin/python" -m pip install -q --force-reinstall --no-deps "$ROOT" >/dev/null
  echo "$src_hash" > "$VENV/.kvsws-src"
fi
PY=$VENV/bin/python
# And the wheel (what `pip install kvsws` installs: libcurl and OpenSSL inside), in a venv of its
# own, for the start-up row: built by scripts/build-wheel.sh when the sources changed.
WHEEL_VENV=$BENCH/.venv-wheel
if [ ! -x "$WHEEL_VENV/bin/python" ]; then
  python3 -m venv "$WHEEL_VENV"
fi
if [ "$(cat "$WHEEL_VENV/.kvsws-src" 2>/dev/null)" != "$src_hash" ]; then
  log "building the wheel (scripts/build-wheel.sh) into bench/.venv-wheel"
  rm -rf "$BENCH/build/dist"
  scripts/build-wheel.sh "$BENCH/build/dist" >"$BENCH/build/wheel.log" 2>&1 || { cat "$BENCH/build/wheel.log" >&2; exit 1; }
  "$WHEEL_VENV/bin/python" -m pip install -q --force-reinstall --no-deps "$BENCH"/build/dist/kvsws-*.whl >/dev/null
  echo "$src_hash" > "$WHEEL_VENV/.kvsws-src"
fi

GO_OK=0
GOBIN_DIR=$BENCH/build/go
if command -v go >/dev/null && go version | grep -qE 'go1\.(2[4-9]|[3-9][0-9])'; then
  GO_OK=1
  log "building the Go benchmarks"
  export GOTOOLCHAIN=local GOFLAGS=-mod=mod
  # The kvsws package compiles the C core itself; Go's cache does not see core/ edits: key it on them.
  export CGO_CFLAGS="-O2 -g -DKVSWS_CORE_SHA256=$(cat $(git ls-files -co --exclude-standard core | sort) | sha256sum | cut -c1-16)"
  mkdir -p "$GOBIN_DIR"
  (cd "$BENCH/go" && go build -o "$GOBIN_DIR/" ./cmd/sign ./cmd/calls ./cmd/mem ./cmd/sigserver)
  (cd "$BENCH/go" && go build -trimpath -ldflags="-s -w" -o "$GOBIN_DIR/" ./cmd/startkvsws ./cmd/startsdk)
  rm -f "$GOBIN_DIR/signkvsws"
  if ! (cd "$BENCH/go" && go build -o "$GOBIN_DIR/" ./cmd/signkvsws) 2>"$BENCH/build/signkvsws.log"; then
    log "kvsws Go signing not built (see bench/build/signkvsws.log): $(head -c 200 "$BENCH/build/signkvsws.log")"
  fi
else
  log "no Go 1.24+ in PATH: the Go rows are skipped"
fi

# ---- the servers: nginx for the calls, the signaling stand-in for scale ------------------------
RUN=$BENCH/build/run
rm -rf "$RUN"; mkdir -p "$RUN/body" "$RUN/proxy"
(
  cd "$RUN"
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
  openssl req -x509 -new -key ca.key -subj "/CN=kvsws bench CA" -days 7 -out ca.pem 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
  openssl req -new -key server.key -subj "/CN=127.0.0.1" -out server.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > ext.cnf
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 7 -extfile ext.cnf \
    -out server.pem 2>/dev/null
)
CA=$RUN/ca.pem
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
sed -e "s#@DIR@#$RUN#g" -e "s#@PORT@#$PORT#g" "$BENCH/nginx/nginx.conf.in" > "$RUN/nginx.conf"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
nginx -c "$RUN/nginx.conf" -e "$RUN/error.log" >"$RUN/nginx.out" 2>&1 &
PIDS+=($!)
ENDPOINT=https://127.0.0.1:$PORT
for _ in $(seq 50); do curl -s -o /dev/null --cacert "$CA" -X POST "$ENDPOINT/joinStorageSession" && break; sleep 0.1; done
curl -sf -o /dev/null --cacert "$CA" -X POST "$ENDPOINT/joinStorageSession" || { log "nginx did not start"; cat "$RUN/error.log" >&2; exit 1; }

# ---- the benchmarks ----------------------------------------------------------------------------
mkdir -p "$BENCH/results"
RAW=$BENCH/results/raw.jsonl
: > "$RAW"
FIX=$BENCH/fixtures.json
export BENCH_FIXTURES=$FIX AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN \
      AWS_ENDPOINT_URL AWS_CA_BUNDLE 2>/dev/null || true
fail() { log "FAILED: $*"; printf '{"kind": "error", "message": "%s"}\n' "$*" >> "$RAW"; }
run() { local what=$1; shift; log "$what"; "$@" >> "$RAW" || fail "$what"; }

LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
run "signing: C (kvsws, floor)" "$BENCH/build/floor" --fixtures "$FIX" --iterations $((SIGN_ITER * 2)) --runs $SIGN_RUNS
run "signing: C kvsws" "$BENCH/build/bench_sign" --fixtures "$FIX" --iterations $SIGN_ITER --runs $SIGN_RUNS
run "signing: Python (kvsws, botocore, awscrt)" "$PY" "$BENCH/py/sign.py" --runs $SIGN_RUNS --iterations-scale $PY_SCALE
if [ $GO_OK = 1 ]; then
  run "signing: Go aws-sdk-go-v2" "$GOBIN_DIR/sign" -fixtures "$FIX" -iterations $SIGN_ITER -runs $SIGN_RUNS
  if [ -x "$GOBIN_DIR/signkvsws" ]; then
    run "signing: Go kvsws" "$GOBIN_DIR/signkvsws" -fixtures "$FIX" -iterations $SIGN_ITER -runs $SIGN_RUNS
  else
    printf '{"kind": "sign", "impl": "kvsws-go", "op": "%s", "missing": "not built"}\n' header presign >> "$RAW"
  fi
fi

COMMON_CALL="--calls $CALLS --runs $CALL_RUNS --warmup $WARMUP"
for op in join describe; do
  run "calls: libcurl floor $op" "$BENCH/build/bench_calls" --fixtures "$FIX" --impl curl --op $op --endpoint "$ENDPOINT" --ca "$CA" $COMMON_CALL
  run "calls: kvsws C $op" "$BENCH/build/bench_calls" --fixtures "$FIX" --impl kvsws --op $op --endpoint "$ENDPOINT" --ca "$CA" $COMMON_CALL
  run "calls: kvsws Python $op" "$PY" "$BENCH/py/calls.py" kvsws $op "$ENDPOINT" "$CA" $COMMON_CALL
  run "calls: boto3 $op" "$PY" "$BENCH/py/calls.py" boto3 $op "$ENDPOINT" "$CA" $COMMON_CALL
  if [ $GO_OK = 1 ]; then
    run "calls: kvsws Go $op" "$GOBIN_DIR/calls" -fixtures "$FIX" -impl kvsws -op $op -endpoint "$ENDPOINT" -ca "$CA" \
      -calls $CALLS -runs $CALL_RUNS -warmup $WARMUP
    [ $op = join ] || run "calls: aws-sdk-go-v2 $op" "$GOBIN_DIR/calls" -fixtures "$FIX" -impl sdk -op $op \
      -endpoint "$ENDPOINT" -ca "$CA" -calls $CALLS -runs $CALL_RUNS -warmup $WARMUP
  fi
done

GO_START=()
[ $GO_OK = 1 ] && GO_START=(--go-kvsws "$GOBIN_DIR/startkvsws" --go-sdk "$GOBIN_DIR/startsdk")
run "start-up" "$PY" "$BENCH/py/startup.py" --runs $STARTUP_RUNS --wheel-python "$WHEEL_VENV/bin/python" "${GO_START[@]}"

log "size and memory"
size() { printf '{"kind": "size", "group": "%s", "what": "%s", "bytes": %s%s}\n' "$1" "$2" "$3" "${4:+, \"baseline\": true}" >> "$RAW"; }
strip_size() { local t; t=$(mktemp); cp "$1" "$t"; strip --strip-unneeded "$t"; stat -c %s "$t"; rm -f "$t"; }
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
size c "libkvsws.so (stripped)" "$(strip_size "$(readlink -f "$BENCH/build/prefix/lib/libkvsws.so")")" base
size py "kvsws Python package installed (extension stripped + .py)" \
  "$(( $(strip_size "$(ls "$SITE"/kvsws/_core*.so)") + $(cat "$SITE"/kvsws/*.py | wc -c) ))" base
size py "boto3 + botocore + s3transfer + jmespath + dateutil + urllib3 + six installed" \
  "$(du -sb "$SITE"/{boto3,botocore,s3transfer,jmespath,dateutil,urllib3,six.py} | awk '{s+=$1} END {print s}')"
size py "awscrt installed" "$(du -sb "$SITE"/awscrt "$SITE"/_awscrt* | awk '{s+=$1} END {print s}')"
if [ $GO_OK = 1 ]; then
  size go "Go program creating a kvsws client (-s -w; the C core inside)" "$(stat -c %s "$GOBIN_DIR/startkvsws")" base
  size go "Go program creating an aws-sdk-go-v2 kinesisvideo client (-s -w)" "$(stat -c %s "$GOBIN_DIR/startsdk")"
fi
run "memory: kvsws C clients" "$BENCH/build/bench_mem" --fixtures "$FIX" --endpoint "$ENDPOINT" --ca "$CA" --clients $MEM_CLIENTS
run "memory: kvsws Python clients" "$PY" "$BENCH/py/mem.py" kvsws --clients $PY_MEM_CLIENTS
run "memory: boto3 clients" "$PY" "$BENCH/py/mem.py" boto3 --clients $PY_MEM_CLIENTS
if [ $GO_OK = 1 ]; then
  run "memory: kvsws Go clients" "$GOBIN_DIR/mem" -fixtures "$FIX" -impl kvsws -clients $MEM_CLIENTS
  run "memory: aws-sdk-go-v2 clients" "$GOBIN_DIR/mem" -fixtures "$FIX" -impl sdk -clients $MEM_CLIENTS
fi

# Scale against the signaling stand-in. The CA bundle matters: every WebSocket connect loads it, so
# the last run uses one the size of Debian's system bundle (what a client trusting the system store
# loads) with the bench CA appended.
cat /etc/ssl/certs/ca-certificates.crt "$CA" > "$RUN/ca-system-size.pem" 2>/dev/null || cp "$CA" "$RUN/ca-system-size.pem"
SYSTEM_CERTS=$(grep -c 'BEGIN CERTIFICATE' "$RUN/ca-system-size.pem")
scale() { # sessions, CA file, label, idle seconds
  local n=$1 ca=$2 label=$3 idle=$4 sig
  rm -f "$RUN/sig.ready"
  "$GOBIN_DIR/sigserver" -cert "$RUN/server.pem" -key "$RUN/server.key" -ready "$RUN/sig.ready" >"$RUN/sig-$n.log" 2>&1 &
  sig=$!
  PIDS+=($sig)
  for _ in $(seq 50); do [ -s "$RUN/sig.ready" ] && break; sleep 0.1; done
  local url
  url=$(cat "$RUN/sig.ready")
  run "scale: $n sessions ($label)" "$BENCH/build/bench_scale" --fixtures "$FIX" --endpoint "$url" --ca "$ca" \
    --sessions "$n" --idle-s "$idle" --label "$label"
  curl -sf --cacert "$CA" "$url/_stats" | "$PY" -c \
    "import json,sys; d=json.load(sys.stdin); d.update(kind='scale-server', sessions=$n, label='$label'); print(json.dumps(d))" \
    >> "$RAW" || fail "scale: no stats from the signaling stand-in"
  kill "$sig" 2>/dev/null || true
  wait "$sig" 2>/dev/null || true
}
if [ $GO_OK = 1 ]; then
  for n in $SCALE_NS; do
    scale "$n" "$CA" "bench CA, 1 cert" $IDLE_S
  done
  scale "${SCALE_NS##* }" "$RUN/ca-system-size.pem" "$SYSTEM_CERTS-cert bundle" $(( IDLE_S < 5 ? IDLE_S : 5 ))
else
  fail "scale: needs Go for the signaling stand-in"
fi

# ---- the table ---------------------------------------------------------------------------------
versions=$("$PY" - <<EOF
import importlib.metadata as m, ssl, platform
print(", ".join([f"OpenSSL {ssl.OPENSSL_VERSION.split()[1]}", "$(curl --version | head -1 | cut -d' ' -f1-2)",
  "$(nginx -v 2>&1 | cut -d' ' -f3)", f"Python {platform.python_version()}",
  "$(go version 2>/dev/null | cut -d' ' -f3)"] + [f"{p} {m.version(p)}" for p in ("kvsws", "boto3", "botocore", "awscrt")]
  + ["aws-sdk-go-v2 $(cd "$BENCH/go" && go list -m -f '{{.Version}}' github.com/aws/aws-sdk-go-v2 2>/dev/null)",
     "kinesisvideo $(cd "$BENCH/go" && go list -m -f '{{.Version}}' github.com/aws/aws-sdk-go-v2/service/kinesisvideo 2>/dev/null)"]))
EOF
)
MACHINE="$(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), \
$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
CMD="bench/run.sh"; [ $QUICK = 1 ] && CMD="bench/run.sh --quick"
"$PY" - "$BENCH/build/machine.json" <<EOF
import json, sys
json.dump({"date": "$(date -u +%Y-%m-%dT%H:%MZ)", "machine": """$MACHINE""", "command": "$CMD",
           "quick": $QUICK == 1, "versions": """$versions""", "loadavg": "$LOADAVG",
           "git": "$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- core bindings python go 2>/dev/null || echo '+dirty')"},
          open(sys.argv[1], "w"))
EOF
"$PY" "$BENCH/report.py" "$RAW" "$BENCH/build/machine.json" "$BENCH/results"
