#!/usr/bin/env bash
# Make sure a headless Chromium is available for the rendering check (Debian's package).
set -euo pipefail
for c in chromium chromium-browser google-chrome; do
  if command -v "$c" >/dev/null; then exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the rendering check ..."
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "the rendering check needs Chromium: install it (e.g. 'sudo apt-get install chromium')" >&2
exit 1
