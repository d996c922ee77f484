#!/usr/bin/env bash
# run.sh: the interop suite in one command. Installs what it needs
# (simple-peer, @roamhq/wrtc, y-webrtc, yjs and ws from package-lock.json;
# Debian's chromium and firefox-esr when missing, which needs root) and
# runs the Go tests against simple-peer in Node, headless Chromium and
# headless Firefox, and
# against y-webrtc and examples/signalserver/js/room.js through the signal
# server. Logs and the summary
# go to interop/out/. Extra arguments go to go test, e.g.
#
#	interop/run.sh -run 'TestInterop/node'
#
# Environment: INTEROP_DEBUG=1 turns on simple-peer's debug output (in
# out/node.log) and the Go peers' (in out/go.log), INTEROP_STRICT=1 fails
# on known issues instead of skipping, INTEROP_CHROMIUM_MDNS=1 leaves
# Chromium's mDNS host-candidate hiding on.
set -euo pipefail
cd "$(dirname "$0")"

command -v node >/dev/null || { echo "run.sh: node is required (Node.js 18+)" >&2; exit 1; }
command -v go >/dev/null || { echo "run.sh: go is required" >&2; exit 1; }

echo "== npm ci (simple-peer@9.11.1, @thaunknown/simple-peer@10.1.2, @roamhq/wrtc@0.10.0, node-datachannel@0.33.4, y-webrtc@10.3.0, yjs@13.6.33, ws@8.23.1)"
npm ci --no-audit --no-fund

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt-get install ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: ${missing[*]} missing and installing needs root" >&2
    exit 1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

mkdir -p out
echo "== go test (interop)"
go test -count=1 -v -timeout 15m ./... "$@" 2>&1 | tee out/test.log
