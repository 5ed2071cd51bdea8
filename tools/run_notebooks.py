"""Execute the book's notebooks (jupytext percent sources) with papermill.

    python tools/run_notebooks.py --scale smoke --out _build/smoke/book [--only 01_orc_primer]
                                  [-p key value ...] [--force]

Each ``notebooks/NN_name.py`` becomes ``<out>/NN_name.ipynb``, executed with the
parameters ``scale`` (and any ``-p``). A notebook is skipped when its executed copy
already records the same source hash and parameters (``--force`` re-runs it).
Wall times go to ``<out>/_timings.json`` (read by the reproducibility appendix).
"""
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
    ap.add_argument("--scale", required=True, choices=("smoke", "cpu", "paper"))
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--only", nargs="*", default=None, help="notebook stems to run")
    ap.add_argument("-p", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"))
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    sources = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))
    if args.only:
        unknown = set(args.only) - {s.stem for s in sources}
        if unknown:
            ap.error(f"unknown notebooks {sorted(unknown)}; have {[s.stem for s in sources]}")
        sources = [s for s in sources if s.stem in args.only]
    params = {"scale": args.scale, **{k: _literal(v) for k, v in args.p}}
    timings_path = args.out / "_timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.exists() else {}
    print(f"executing {len(sources)} notebooks at scale={args.scale} into {args.out}")
    for src in sources:
        wall = execute(src, args.out / f"{src.stem}.ipynb", params, args.force)
        if wall:
            timings[src.stem] = {"scale": args.scale, "wall_time_s": round(wall, 2)}
    args.out.mkdir(parents=True, exist_ok=True)
    timings_path.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
