#!/usr/bin/env bash
# Sets everything up, starts the local KVS emulator and walks through a storage session's calls
# with the kvsws CLI: describe the channel, check its storage, get its endpoints, join, and show
# what a modelled AWS error looks like.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true

scripts/setup.sh
scripts/build.sh build

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

echo "The emulator is at $AWS_ENDPOINT_URL_KINESIS_VIDEO (TLS with its own CA, SigV4 checked by botocore)."
run describe-signaling-channel --channel-name demo-channel
arn=$("$kvsws" describe-signaling-channel --channel-name demo-channel |
      .venv/bin/python -c "import json,sys; print(json.load(sys.stdin)['ChannelInfo']['ChannelARN'])")
run describe-media-storage-configuration --channel-arn "$arn"
run get-signaling-channel-endpoint --channel-arn "$arn" --protocols WSS,HTTPS,WEBRTC --role MASTER
run get-ice-server-config --channel-arn "$arn"
run join-storage-session --channel-arn "$arn"
echo "(exit $?: JoinStorageSession accepted; the offer will arrive on the signaling WebSocket)"

echo; echo "A modelled AWS error, as the AWS CLI prints it:"
set +e
run describe-signaling-channel --channel-arn "${arn%/*/*}/no-such-channel/1"
echo "(exit $?)"
set -e
echo; echo "demo: done"
