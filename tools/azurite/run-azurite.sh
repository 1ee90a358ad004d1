#!/usr/bin/env bash
# Runs Azurite (from this folder's node_modules) and stops it when the process that asked for it is gone,
# so a killed test run or `fedtune simulate` never leaves an orphan emulator behind.
# Usage: run-azurite.sh OWNER_PID DATA_DIR BLOB_PORT QUEUE_PORT TABLE_PORT
set -euo pipefail
owner=$1 data=$2 blob=$3 queue=$4 table=$5
here=$(cd "$(dirname "$0")" && pwd)
entry="$here/node_modules/azurite/dist/src/azurite.js"
if [ ! -f "$entry" ]; then
  echo "Azurite is not installed in $here. Run: scripts/bootstrap.sh (or: npm ci --prefix tools/azurite)" >&2
  exit 3
fi
mkdir -p "$data"
# Azurite's output goes to a file, never to the pipe of the process that started it: when that process is killed,
# Node would die of EPIPE logging its own shutdown, before it saves its data (the blobs of its last seconds).
log="$data/azurite.log"
# indexed-lookups.js: blob lookups use the container index instead of scanning every blob (it explains why).
preload=(-r "$here/indexed-lookups.js")
# FEDTUNE_AZURITE_SAVE_MS: save Azurite's metadata that often instead of every 5 s (save-often.js explains why).
if [ -n "${FEDTUNE_AZURITE_SAVE_MS:-}" ]; then preload+=(-r "$here/save-often.js"); fi
node "${preload[@]}" "$entry" --silent --disableTelemetry --skipApiVersionCheck --loose \
  --location "$data" --blobHost 127.0.0.1 --blobPort "$blob" --queueHost 127.0.0.1 --queuePort "$queue" \
  --tableHost 127.0.0.1 --tablePort "$table" >>"$log" 2>&1 </dev/null &
child=$!
trap 'kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT HUP
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$owner" 2>/dev/null; then
    kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0
  fi
  sleep 1
done
wait "$child"
