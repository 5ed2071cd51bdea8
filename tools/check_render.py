"""Open built book pages in headless Chromium; assert figures loaded and no formula is raw.

    python tools/check_render.py _build/html book/01_orc_primer.html [more pages ...]

For each page a copy with a small probe script is loaded (so relative paths still
resolve); after the page and MathJax have finished, the probe records which images
failed to load, and the DOM is dumped. A screenshot of each page is written to
``<html>/../screenshots/<page>.png`` for a human look.
"""
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = """<script>
window.addEventListener('load', function () {
  var imgs = Array.from(document.images);
  var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
                .map(function (i) { return i.getAttribute('src'); });
  document.body.setAttribute('data-img-total', String(imgs.length));
  document.body.setAttribute('data-img-bad', JSON.stringify(bad));
  var ok = window.MathJax && MathJax.startup && MathJax.startup.promise;
  (ok ? MathJax.startup.promise : Promise.reject('no MathJax')).then(
    function () { document.body.setAttribute('data-mathjax', 'ok'); },
    function () { document.body.setAttribute('data-mathjax', 'missing'); });
});
</script>"""

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--virtual-time-budget=20000"]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("check_render: no Chromium found (run tools/ensure_chromium.sh)")


def _run(args, profile):
    cmd = [_chromium(), *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def check_page(page: Path, shots: Path) -> list:
    """Problems found on one page (empty list: fine)."""
    probe = page.with_name(page.stem + ".__probe__.html")
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    problems = []
    try:
        with tempfile.TemporaryDirectory() as profile:
            dom = _run(["--dump-dom", probe.as_uri()], profile)
            shots.mkdir(parents=True, exist_ok=True)
            _run([f"--screenshot={shots / (page.stem + '.png')}", "--window-size=1280,2400",
                  page.as_uri()], profile)
    finally:
        probe.unlink()
    body = re.search(r"<body([^>]*)>", dom)
    attrs = dict(re.findall(r'data-([\w-]+)="([^"]*)"', body.group(1))) if body else {}
    n_math = len(re.findall(r'class="[^"]*\bmath\b', dom))
    if n_math and attrs.get("mathjax") != "ok":  # Sphinx loads MathJax only where there is math
        problems.append(f"MathJax did not load ({attrs.get('mathjax', 'no probe result')})")
    if not attrs:
        problems.append("the probe did not run (page failed to load?)")
    n_rendered = dom.count("<mjx-container")
    if n_math and n_rendered < n_math:
        problems.append(f"{n_math - n_rendered} of {n_math} formulas left raw")
    bad = json.loads(attrs.get("img-bad", "[]").replace("&quot;", '"'))
    total = int(attrs.get("img-total", "0"))
    if total == 0:
        problems.append("no figure on the page")
    if bad:
        problems.append(f"images failed to load: {bad}")
    print(f"{page.name}: {n_rendered} formulas rendered of {n_math}, "
          f"{total - len(bad)}/{total} images loaded")
    return problems


def main(argv) -> int:
    if len(argv) < 2:
        sys.exit(__doc__)
    html = Path(argv[0]).resolve()
    failed = False
    for rel in argv[1:]:
        page = html / rel
        if not page.exists():
            print(f"{rel}: page missing under {html}")
            failed = True
            continue
        for problem in check_page(page, html.parent / "screenshots"):
            print(f"  FAIL {rel}: {problem}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
