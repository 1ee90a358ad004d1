#!/usr/bin/env bash
# One-time (and idempotent) set-up from a bare clone: checks the toolchain, installs the pinned Azurite into
# tools/azurite, restores NuGet packages and builds. Both README commands (./fedtune and ./test.sh) call it.
# Usage: scripts/bootstrap.sh [--configuration Release|Debug] [--quiet] [--project PATH]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
configuration=Release quiet=0 project=FedTune.Cloud.sln
while [ $# -gt 0 ]; do
  case "$1" in
    --configuration) configuration=$2; shift 2 ;;
    --quiet) quiet=1; shift ;;
    --project) project=$2; shift 2 ;;
    *) echo "bootstrap: unknown argument $1" >&2; exit 2 ;;
  esac
done
say() { [ "$quiet" = 1 ] || echo "bootstrap: $*"; }
fail() { echo "bootstrap: $*" >&2; exit 1; }

command -v dotnet >/dev/null 2>&1 || fail "the .NET SDK is missing. Fix: install .NET 10 SDK (https://dot.net, or 'apt-get install dotnet-sdk-10.0' from Microsoft's Debian feed)."
sdk_major=$(dotnet --version 2>/dev/null | cut -d. -f1)
[ "${sdk_major:-0}" -ge 10 ] || fail "the .NET SDK is $(dotnet --version 2>/dev/null); FedTune.Cloud needs 10 or newer. Fix: install .NET 10 SDK."

# Azurite (Node.js) for local storage: installed from the lock file, only when missing or the lock changed.
azurite_dir=tools/azurite
stamp=$azurite_dir/node_modules/.fedtune-lock.sha256
lock_sum=$(sha256sum "$azurite_dir/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  command -v npm >/dev/null 2>&1 || fail "npm is missing (needed for Azurite, the local Azure Storage emulator). Fix: apt-get install -y nodejs npm (Node 18+)."
  node_major=$(node --version | sed 's/^v//; s/\..*//')
  [ "$node_major" -ge 18 ] || fail "Node.js $(node --version) is too old for Azurite 3.35. Fix: install Node.js 18 or newer."
  say "installing Azurite into $azurite_dir (npm ci)"
  (cd "$azurite_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || fail "npm ci failed in $azurite_dir. Fix: check npm registry access, then run: npm ci --prefix $azurite_dir"
  echo "$lock_sum" > "$stamp"
fi

# Disk: a first build needs about 2.5 GB in the NuGet cache (libtorch alone is 0.6 GB) plus a few hundred MB
# here; output folders hard-link libtorch from the cache where the file system allows. Warn early, and name the
# cause plainly if the build still runs out of space.
nuget_cache=${NUGET_PACKAGES:-$HOME/.nuget/packages}
mkdir -p "$nuget_cache" 2>/dev/null || true
free_kb() { df -Pk "$1" 2>/dev/null | awk 'NR==2 {print $4}'; }
for place in "$root" "$nuget_cache"; do
  kb=$(free_kb "$place"); kb=${kb:-0}
  if [ "$kb" -gt 0 ] && [ "$kb" -lt 3000000 ]; then
    echo "bootstrap: warning: only $((kb / 1024)) MB free on the disk holding $place; a first build needs about 3 GB (NuGet cache ~2.5 GB, build outputs ~0.3 GB)." >&2
  fi
done

# Already built and nothing the build reads changed since (sources, project files, props, SDK pin): skip the
# incremental build, which costs about 5 s even when there is nothing to do (every ./fedtune command paid it).
build_stamp="$root/obj/.fedtune-build-$(printf '%s %s' "$project" "$configuration" | sha256sum | cut -c1-12)"
project_dir=$(dirname "$project")
# One check-and-build at a time: a second ./fedtune started while the first builds waits for that build, then finds
# it up to date (without the lock both built into the same folders and one failed on the other's stamp).
mkdir -p "$root/obj"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$root/obj/.fedtune-build.lock"
  flock 9
fi
if [ -f "$build_stamp" ] && { [ "$project_dir" = . ] || [ -d "$project_dir/bin/$configuration" ]; } &&
   [ -z "$(find src tests Directory.Build.props Directory.Build.targets Directory.Packages.props global.json NuGet.config FedTune.Cloud.sln \
          \( -name bin -o -name obj -o -name node_modules -o -name TestResults \) -prune -o -type f -newer "$build_stamp" -print -quit 2>/dev/null)" ]; then
  say "$project ($configuration) is up to date"
  exit 0
fi

say "building $project ($configuration)"
rm -f "$build_stamp"
# Stamped with the build's start time, so that a file edited while it builds still counts as newer next time.
mkdir -p "$(dirname "$build_stamp")" && touch "$build_stamp.starting"
# 9>&-: the build servers dotnet leaves running must not inherit (and hold) the lock.
if ! dotnet build "$project" -c "$configuration" --nologo -v quiet -clp:ErrorsOnly > .bootstrap-build.log 2>&1 9>&-; then
  cat .bootstrap-build.log >&2
  if grep -q "No space left on device" .bootstrap-build.log; then
    fail "the build ran out of disk space (free: $(( $(free_kb "$root") / 1024 )) MB here, $(( $(free_kb "$nuget_cache") / 1024 )) MB at the NuGet cache $nuget_cache). Fix: free about 3 GB, or point NUGET_PACKAGES at a disk with room, then run this again."
  fi
  fail "the build failed (log above, also in .bootstrap-build.log)."
fi
grep -h "FedTune:" .bootstrap-build.log | sort -u | sed 's/^ *//' | while read -r line; do say "$line"; done || true
rm -f .bootstrap-build.log
mv "$build_stamp.starting" "$build_stamp"
