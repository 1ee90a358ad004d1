#!/usr/bin/env bash
# Runs every test from a bare clone: set-up (Azurite, NuGet restore, build, Chromium for the browser test), then all test projects.
# Prints each project's result and a closing line "N passed, N failed, N skipped". Exit code 0 only if all pass.
#   ./test.sh                 all tests
#   ./test.sh --filter EXPR   a subset (dotnet test --filter syntax)
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
cd "$root"
filter=()
if [ "${1:-}" = "--filter" ]; then filter=(--filter "$2"); fi
scripts/bootstrap.sh --configuration Release
# Chromium + chromedriver for the dashboard's browser test (apt-get, only when missing).
scripts/browser-deps.sh
results=$root/TestResults
rm -rf "$results"
status=0
# One project at a time: the machine has 2 cores and several suites start their own Azurite and hosts.
for proj in tests/*.Tests/*.Tests.csproj; do
  name=$(basename "$proj" .csproj)
  echo "== $name"
  if ! dotnet test "$proj" -c Release --no-build --nologo "${filter[@]}" \
       --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
       --results-directory "$results" --blame-hang-timeout 15m; then
    status=1
  fi
done
# The closing summary, summed over the projects' TRX files.
cat "$results"/*.trx 2>/dev/null | grep -o '<Counters [^>]*' | awk '
  function val(k,  m) { return match($0, k "=\"[0-9]+\"") ? substr($0, RSTART + length(k) + 2, RLENGTH - length(k) - 3) + 0 : 0 }
  { p += val("passed"); f += val("failed") + val("error") + val("timeout") + val("aborted"); s += val("total") - val("executed") }
  END { printf "%d passed, %d failed, %d skipped\n", p, f, s }'
exit $status
