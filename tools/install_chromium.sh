#!/usr/bin/env bash
# Make sure a Chromium for tests/test_site.py is there: `make test-site` runs this first.
# Uses $CHROMIUM, or chromium / chromium-browser / google-chrome on the PATH; otherwise installs
# Debian's `chromium` package (as root, or with sudo that asks no password). Elsewhere it says what
# to install and stops.
set -euo pipefail

if [ -n "${CHROMIUM:-}" ]; then
  [ -x "$CHROMIUM" ] && exit 0
  echo "CHROMIUM=$CHROMIUM is not a program: point it at a Chromium or Chrome binary" >&2
  exit 1
fi
for name in chromium chromium-browser google-chrome; do
  command -v "$name" >/dev/null 2>&1 && exit 0
done

if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "No Chromium found. Install it (sudo apt-get install chromium) and run again." >&2
    exit 1
  fi
  echo "No Chromium found: installing Debian's chromium package (about 300 MB, once)"
  ${as_root[@]+"${as_root[@]}"} apt-get update -qq
  DEBIAN_FRONTEND=noninteractive ${as_root[@]+"${as_root[@]}"} apt-get install -y -qq --no-install-recommends \
    chromium >/dev/null
  command -v chromium >/dev/null 2>&1 && exit 0
  echo "apt-get installed chromium but there is no 'chromium' on the PATH" >&2
  exit 1
fi

echo "No Chromium found. Install Chromium or Google Chrome, then run again; if it is not on the" >&2
echo "PATH, name it: make test-site CHROMIUM=\"/Applications/Google Chrome.app/Contents/MacOS/Google Chrome\"" >&2
exit 1
