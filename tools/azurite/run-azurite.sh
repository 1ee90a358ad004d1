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
node "$entry" --silent --disableTelemetry --skipApiVersionCheck --loose \
  --location "$data" --blobHost 127.0.0.1 --blobPort "$blob" --queueHost 127.0.0.1 --queuePort "$queue" \
  --tableHost 127.0.0.1 --tablePort "$table" &
child=$!
trap 'kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT HUP
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$owner" 2>/dev/null; then
    kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0
  fi
  sleep 1
done
wait "$child"
