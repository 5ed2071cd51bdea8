#!/usr/bin/env bash
# What `make publish` would push, checked locally: ghp-import commits the built HTML to a
# gh-pages branch of a scratch clone (no push), then the branch must hold exactly the site's
# files plus .nojekyll, with index.html at its root.
#   bash tools/check_publish.sh [HTML_DIR]     (default _build/html)
set -euo pipefail
export LC_ALL=C
repo="$(cd "$(dirname "$0")/.." && pwd)"
html="$(cd "${1:-$repo/_build/html}" && pwd)"
ghp="${GHP_IMPORT:-$repo/.venv/bin/ghp-import}"
test -f "$html/index.html" || { echo "no $html/index.html: build the book first (make book)"; exit 1; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
git clone -q --depth 1 "file://$repo" "$scratch/clone"
cd "$scratch/clone"
"$ghp" --no-jekyll -b gh-pages -m "publish check" "$html"
git ls-tree -r --name-only gh-pages | sort > "$scratch/branch.txt"
(cd "$html" && find . -type f ! -path './.doctrees/*' | sed 's|^\./||' | sort) > "$scratch/site.txt"
echo .nojekyll | sort -m - "$scratch/site.txt" > "$scratch/expected.txt"
if ! diff -q "$scratch/expected.txt" "$scratch/branch.txt" > /dev/null; then
  echo "gh-pages differs from $html:"; diff "$scratch/expected.txt" "$scratch/branch.txt" | head -20
  exit 1
fi
grep -qx index.html "$scratch/branch.txt"
echo "gh-pages (scratch clone): $(wc -l < "$scratch/branch.txt") files, index.html and .nojekyll at the root; origin untouched"
