#!/usr/bin/env bash
# A long-lived Azurite on the default ports (blob 10000, queue 10001, table 10002) for manual use with
# UseDevelopmentStorage=true (e.g. running the Functions app with `func start`). Data: ~/.cache/fedtune/azurite.
# Usage: scripts/azurite.sh start|stop|status
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${FEDTUNE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fedtune}
data=$cache/azurite pidfile=$cache/azurite.pid log=$cache/azurite.log
mkdir -p "$cache"
running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
case "${1:-status}" in
  start)
    if running; then echo "Azurite already running (pid $(cat "$pidfile")), data in $data"; exit 0; fi
    [ -f "$root/tools/azurite/node_modules/azurite/dist/src/azurite.js" ] || "$root/scripts/bootstrap.sh" --quiet --project "$root/src/Core/Core.csproj"
    # The launcher stops Azurite when its owner exits; here the owner is a detached sleep that `stop` ends.
    setsid bash -c 'exec sleep infinity' </dev/null >/dev/null 2>&1 &
    owner=$!
    setsid "$root/tools/azurite/run-azurite.sh" "$owner" "$data" 10000 10001 10002 </dev/null >"$log" 2>&1 &
    echo "$owner" > "$pidfile"
    for _ in $(seq 1 50); do
      if (exec 3<>/dev/tcp/127.0.0.1/10000) 2>/dev/null; then echo "Azurite started on 127.0.0.1:10000-10002, data in $data"; exit 0; fi
      sleep 0.2
    done
    echo "Azurite did not start; see $log" >&2; exit 1 ;;
  stop)
    if running; then kill "$(cat "$pidfile")"; rm -f "$pidfile"; echo "Azurite stopped."; else echo "Azurite is not running."; fi ;;
  status)
    if running; then echo "Azurite running, data in $data"; else echo "Azurite is not running."; exit 1; fi ;;
  *) echo "usage: scripts/azurite.sh start|stop|status" >&2; exit 2 ;;
esac
