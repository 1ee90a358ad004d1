#!/usr/bin/env bash
# Installs Debian's chromium and chromium-driver for the dashboard's browser test (tests drive a real headless
# Chromium through chromedriver). Idempotent: returns at once when both are on PATH. Needs root (or passwordless
# sudo) and apt-get; elsewhere it prints the command to run and fails.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "browser-deps: chromium and chromedriver are missing and there is no apt-get. Fix: install Chromium and a matching chromedriver on PATH." >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root=(sudo -n); else
    echo "browser-deps: chromium and chromedriver are missing. Fix: sudo apt-get install -y chromium chromium-driver" >&2
    exit 1
  fi
fi
echo "browser-deps: installing chromium and chromium-driver (apt-get) for the dashboard's browser test"
log=$(mktemp)
if ! { "${as_root[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium chromium-driver; } >"$log" 2>&1; then
  tail -20 "$log" >&2
  rm -f "$log"
  echo "browser-deps: apt-get could not install chromium chromium-driver (output above). Fix: check the package sources, then run this again." >&2
  exit 1
fi
rm -f "$log"
