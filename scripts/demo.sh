#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets everything up, starts the local KVS emulator and runs a real storage session against it:
# examples/python/stream.py (kvsws + aiortc) streams a generated H.264 test pattern and an Opus tone
# for a few seconds, then the emulator's admin API says what its storage peer received (decoded
# frames, packets, codecs, and the time from the join to the offer and to the first frame).
# Before that, a short tour of the kvsws CLI: a channel described, a modelled AWS error.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
export AWS_EC2_METADATA_DISABLED=true
seconds=${DEMO_SECONDS:-8}

scripts/setup.sh
scripts/build.sh build

# The Python package, built from this checkout as the README says (`pip install .`), only when the
# sources changed since the last install (a build takes ~10 s); and aiortc for the example.
stamp=.venv/.kvsws-demo-install
sources=$(find python/kvsws bindings/python core/src core/include core/cli cmake -type f -print0 | sort -z |
          xargs -0 sha256sum | cat - CMakeLists.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$sources" ] || ! .venv/bin/python -c "import kvsws" 2>/dev/null; then
  echo "demo: pip install . (the kvsws package, with the core compiled in)"
  pip_install_kvsws demo
  echo "$sources" >"$stamp"
fi
pip_install_aiortc demo

state=$(mktemp -d)
PYTHONPATH=tests/emulator .venv/bin/python -m kvsws_emulator --state-dir "$state" >"$state/log" 2>&1 &
emulator=$!
trap 'kill $emulator 2>/dev/null; wait $emulator 2>/dev/null; rm -rf "$state"' EXIT
for _ in $(seq 100); do [ -s "$state/ready.json" ] && break; sleep 0.1; done
[ -s "$state/ready.json" ] || { echo "the emulator did not start:"; cat "$state/log"; exit 1; }

read_ready() { .venv/bin/python -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$state/ready.json" "$1"; }
export AWS_ACCESS_KEY_ID=$(read_ready access_key_id)
export AWS_SECRET_ACCESS_KEY=$(read_ready secret_access_key)
export AWS_REGION=us-west-2
export AWS_ENDPOINT_URL_KINESIS_VIDEO=$(read_ready endpoint)
export AWS_CA_BUNDLE=$(read_ready ca_bundle)
kvsws=build/kvsws

run() { echo; echo "\$ kvsws $*"; "$kvsws" "$@"; }
banner() { echo; echo "== $*"; }

banner "The local emulator is at $AWS_ENDPOINT_URL_KINESIS_VIDEO (TLS with its own CA, SigV4 checked by botocore)"
run describe-signaling-channel --channel-name demo-channel
arn=$("$kvsws" --output json describe-signaling-channel --channel-name demo-channel |
      .venv/bin/python -c "import json,sys; print(json.load(sys.stdin)['ChannelInfo']['ChannelARN'])")
echo; echo "A modelled AWS error, as the AWS CLI prints it:"
set +e
run describe-signaling-channel --channel-arn "${arn%/*/*}/no-such-channel/1" 2>&1
echo "(exit $?)"
set -e

banner "A storage session for ${seconds} s: examples/python/stream.py (kvsws + aiortc), generated H.264 + Opus"
echo "\$ python examples/python/stream.py --channel-name demo-channel --duration $seconds"
set +e
.venv/bin/python examples/python/stream.py --channel-name demo-channel --duration "$seconds"
streamed=$?
set -e

banner "What the emulator's storage peer received (its admin API: GET /_emulator/sessions)"
.venv/bin/python - "$AWS_ENDPOINT_URL_KINESIS_VIDEO" "$AWS_CA_BUNDLE" <<'EOF'
import json, ssl, sys, urllib.request

endpoint, ca = sys.argv[1], sys.argv[2]
with urllib.request.urlopen(f"{endpoint}/_emulator/sessions?channel=demo-channel",
                            context=ssl.create_default_context(cafile=ca), timeout=10) as resp:
    channel = next(iter(json.load(resp)["channels"].values()))
sessions = channel["sessions"]
if not sessions:
    sys.exit("no storage session was joined")
for s in sessions:
    video, audio, rtp, t = s["video"], s["audio"], s.get("rtp", {}), s["timings_ms"]
    codecs = s["codecs"]
    vcodec, acodec = codecs.get("video", {}), codecs.get("audio", {})
    vparams = vcodec.get("parameters", {})
    print(f"session {s['n']} (JoinStorageSession request {s['request_id']}), status {s['status']}")
    print(f"  codecs: {vcodec.get('mime', '-')} (profile-level-id {vparams.get('profile-level-id', '-')}), "
          f"{acodec.get('mime', '-')} {acodec.get('clock_rate', '-')} Hz")
    size = f"{video['width']}x{video['height']}" if video.get("width") else "-"
    rv, ra = rtp.get("video", {}), rtp.get("audio", {})
    print(f"  video:  {video['frames']} frames decoded, {size}, {rv.get('packets', 0)} RTP packets, "
          f"{rv.get('lost', 0)} lost")
    print(f"  audio:  {audio['frames']} Opus frames decoded ({audio.get('samples', 0) / max(audio.get('sample_rate') or 48000, 1):.1f} s), "
          f"{ra.get('packets', 0)} RTP packets, {ra.get('lost', 0)} lost")
    for mark, label in (("offer_sent", "offer sent"), ("answer_received", "answer received"),
                        ("ice_connected", "ICE connected"), ("first_video_frame", "first video frame"),
                        ("first_audio_frame", "first audio frame")):
        if mark in t:
            print(f"  join -> {label + ':':19s} {t[mark]:7.1f} ms")
ok = any(s["video"]["frames"] > 0 and s["audio"]["frames"] > 0 for s in sessions)
print("media flowed end to end" if ok else "no media arrived")
sys.exit(0 if ok else 1)
EOF
[ "$streamed" -eq 0 ] || { echo "demo: the example exited with $streamed"; exit 1; }
echo; echo "demo: done"
