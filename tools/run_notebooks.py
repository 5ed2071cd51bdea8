"""Execute the book's notebooks (jupytext percent sources) with papermill.

    python tools/run_notebooks.py --scale smoke --out _build/smoke/book [--only 01_orc_primer]
                                  [-p key value ...] [--force]

Each ``notebooks/NN_name.py`` becomes ``<out>/NN_name.ipynb``, executed with the
parameters ``scale`` (and any ``-p``). ``--scale book`` runs every chapter at the
scale the book publishes it at (``book/scales.json``); chapters at ``smoke`` then
keep their artifacts in ``_build/smoke/cache`` unless ``NCURV_CACHE`` is set.
A notebook is skipped when its executed copy already records the same source
hash and parameters (``--force`` re-runs it), so the executed chapters committed
in ``book/`` are reused as they are. Wall times go to ``<out>/_timings.json``
(read by the reproducibility appendix).
"""
import os
import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
import papermill

REPO = Path(__file__).resolve().parent.parent
SCALES = ("smoke", "cpu", "paper")
SMOKE_CACHE = REPO / "_build" / "smoke" / "cache"


def book_scales(path: Path, stems) -> dict:
    """Scale of every chapter in the published book: ``chapters`` of ``path``, else
    its ``default``."""
    spec = json.loads(path.read_text())
    chapters, default = spec.get("chapters", {}), spec.get("default")
    unknown = set(chapters) - set(stems)
    bad = {k: v for k, v in {**chapters, "default": default}.items() if v not in SCALES}
    if unknown or bad:
        raise SystemExit(f"{path}: unknown chapters {sorted(unknown)} or scales {bad}; "
                         f"chapters are {sorted(stems)}, scales {SCALES}")
    return {s: chapters.get(s, default) for s in stems}


def _literal(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _up_to_date(out: Path, digest: str, params: dict) -> bool:
    if not out.exists():
        return False
    meta = nbformat.read(out, as_version=4).metadata.get("ncurv", {})
    return meta.get("source_sha256") == digest and meta.get("parameters") == params


def execute(src: Path, out: Path, params: dict, force: bool) -> float:
    """Execute one notebook source into ``out``; returns the wall time (0 if skipped)."""
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    if not force and _up_to_date(out, digest, params):
        print(f"  {src.name}: up to date, skipped")
        return 0.0
    nb = jupytext.read(src)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_nb = Path(tmp) / (src.stem + ".ipynb")
        nbformat.write(nb, tmp_nb)
        t0 = time.perf_counter()
        try:
            papermill.execute_notebook(str(tmp_nb), str(tmp_nb), parameters=params,
                                       kernel_name="python3", cwd=str(REPO),
                                       progress_bar=False, start_timeout=120)
        except papermill.PapermillExecutionError:
            failed = out.with_name(out.stem + ".failed.ipynb")
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(tmp_nb, failed)
            print(f"  {src.name}: FAILED, executed notebook kept in {failed}")
            raise
        wall = time.perf_counter() - t0
        done = nbformat.read(tmp_nb, as_version=4)
        for cell in done.cells:  # the book shows papermill's injected cell (values used)
            tags = cell.metadata.get("tags", [])
            if "parameters" in tags and "remove-cell" not in tags:
                cell.metadata["tags"] = tags + ["remove-cell"]
        done.metadata["ncurv"] = {"source_sha256": digest, "parameters": params,
                                  "wall_time_s": round(wall, 2)}
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".ipynb.tmp")
        nbformat.write(done, partial)
        partial.replace(out)
    print(f"  {src.name}: executed in {wall:.1f} s")
    return wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", required=True, choices=("book",) + SCALES,
                    help="one scale for all, or 'book': each chapter's from book/scales.json")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--only", nargs="*", default=None, help="notebook stems to run")
    ap.add_argument("-p", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"))
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    sources = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))
    stems = [s.stem for s in sources]
    if args.only:
        unknown = set(args.only) - set(stems)
        if unknown:
            ap.error(f"unknown notebooks {sorted(unknown)}; have {[s.stem for s in sources]}")
        sources = [s for s in sources if s.stem in args.only]
    extra = {k: _literal(v) for k, v in args.p}
    scales = (book_scales(REPO / "book" / "scales.json", stems) if args.scale == "book"
              else dict.fromkeys(stems, args.scale))
    timings_path = args.out / "_timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    print(f"executing {len(sources)} notebooks at scale={args.scale} into {args.out}")
    for src in sources:
        scale = scales[src.stem]
        cache = {} if scale != "smoke" or "NCURV_CACHE" in os.environ else \
            {"NCURV_CACHE": str(SMOKE_CACHE)}
        os.environ.update(cache)  # the kernel inherits the environment
        try:
            wall = execute(src, args.out / f"{src.stem}.ipynb", {"scale": scale, **extra},
                           args.force)
        finally:
            for key in cache:
                del os.environ[key]
        if wall:
            timings[src.stem] = {"scale": scale, "wall_time_s": round(wall, 2)}
    args.out.mkdir(parents=True, exist_ok=True)
    timings_path.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
