#!/usr/bin/env bash
# Vendor MathJax 3 (es5 build) from the npm registry into $1 (default book/_extra/mathjax),
# so the book renders formulas offline. Idempotent: does nothing if already there.
set -euo pipefail
dest=${1:-book/_extra/mathjax}
version=${MATHJAX_VERSION:-3.2.2}
if [ -f "$dest/tex-chtml.js" ] && [ "$(cat "$dest/.version" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is needed to vendor MathJax (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "mathjax@$version" >/dev/null)
tar -xzf "$tmp"/mathjax-*.tgz -C "$tmp"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
cp -r "$tmp/package/es5" "$dest"
echo "$version" > "$dest/.version"
echo "vendored MathJax $version (es5) into $dest"
