"""Execute the book's notebooks (jupytext percent sources) with papermill.

    python tools/run_notebooks.py --scale cpu [--only 01_orc_primer] [--out DIR]
                                  [-p key value ...] [--force] [--manifest FILE]
                                  [--workflow-manifests]

Each ``notebooks/NN_name.py`` becomes ``<out>/NN_name.ipynb`` (``<out>``: the scale's
``book_dir``), executed with the parameter ``scale`` (and any ``-p``). The scale's
config (``config/<scale>.yaml``) says at which scale each chapter runs (a chapter may
run at a smaller one while its artifacts are missing) and the chapter reads the cache
of that scale. A notebook is skipped when its executed copy already records the same
source hash, parameters and chapter hash (the plan's hash of the artifacts it reads:
new sweeps re-run it) (``--force`` re-runs it), so the executed chapters
committed in ``book/`` are reused as they are. The workflow (``Snakefile``) calls this
once per chapter with ``--manifest``: a small JSON file naming the executed notebook,
its scale and its wall time; ``--workflow-manifests`` (``make notebook``) writes it
where the workflow reads it, so a chapter re-run by hand counts as done.
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
sys.path.insert(0, str(REPO))
from ncurv_lib import pipeline  # noqa: E402
from ncurv_lib.cache import atomic_write_json  # noqa: E402


def _literal(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _up_to_date(out: Path, digest: str, params: dict, chapter_hash: str) -> bool:
    """Whether ``out`` was executed from this source, with these parameters, over the
    artifacts ``chapter_hash`` names (the plan's hash of what the chapter reads)."""
    if not out.exists():
        return False
    meta = nbformat.read(out, as_version=4).metadata.get("ncurv", {})
    return (meta.get("source_sha256") == digest and meta.get("parameters") == params
            and meta.get("chapter_hash") == chapter_hash)


def execute(src: Path, out: Path, params: dict, force: bool, chapter_hash: str) -> float:
    """Execute one notebook source into ``out``; returns the wall time (0 if skipped)."""
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    if not force and _up_to_date(out, digest, params, chapter_hash):
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
                                  "chapter_hash": chapter_hash, "wall_time_s": round(wall, 2)}
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".ipynb.tmp")
        nbformat.write(done, partial)
        partial.replace(out)
        out.with_name(out.stem + ".failed.ipynb").unlink(missing_ok=True)  # an older failure
    print(f"  {src.name}: executed in {wall:.1f} s")
    return wall


def write_manifest(path: Path, out: Path):
    """The workflow's record of one executed chapter (read from the notebook itself)."""
    meta = nbformat.read(out, as_version=4).metadata["ncurv"]
    atomic_write_json(path, {"notebook": os.path.relpath(out, REPO), **meta})


def write_workflow_manifest(plan, stem: str, out: Path) -> Path:
    """Chapter ``stem``'s manifest where the workflow expects it (``plan.chapter_path``),
    so that a chapter re-executed by hand is not re-run by the workflow; the chapter's
    manifests for other chapter hashes are stale and removed."""
    path = plan.chapter_path(stem)
    write_manifest(path, out)
    for old in path.parent.glob(f"{stem}-*.json"):
        if old != path and old.stem.rsplit("-", 1)[0] == stem:
            old.unlink()
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", required=True, choices=pipeline.SCALES,
                    help="the book to build; each chapter runs at the scale its config gives")
    ap.add_argument("--out", type=Path, default=None, help="default: the scale's book_dir")
    ap.add_argument("--only", nargs="*", default=None, help="notebook stems to run")
    ap.add_argument("-p", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"))
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--manifest", type=Path, default=None,
                    help="with one --only chapter: write the workflow's manifest here")
    ap.add_argument("--workflow-manifests", action="store_true",
                    help="write each chapter's manifest where the workflow reads it "
                         "(into the scale's book_dir only; `make notebook` does this)")
    args = ap.parse_args(argv)
    plans = pipeline.load_plans(args.scale)
    plan = plans[args.scale]
    stems = list(plan.chapters)
    if args.only:
        unknown = set(args.only) - set(stems)
        if unknown:
            ap.error(f"unknown notebooks {sorted(unknown)}; have {stems}")
        stems = [s for s in stems if s in args.only]
    if args.manifest and len(stems) != 1:
        ap.error("--manifest needs exactly one chapter in --only")
    if (args.workflow_manifests and args.out is not None
            and args.out.resolve() != Path(plan.book_dir).resolve()):
        ap.error("--workflow-manifests writes the manifests of the scale's book_dir; "
                 "leave --out out")
    extra = {k: _literal(v) for k, v in args.p}
    out_dir = args.out or plan.book_dir
    print(f"executing {len(stems)} notebooks of the {args.scale} book into {out_dir}")
    for stem in stems:
        scale = plan.chapters[stem].scale
        cache = str(plans[scale].cache)
        saved = os.environ.get("NCURV_CACHE")
        os.environ["NCURV_CACHE"] = cache  # the kernel inherits the environment
        try:
            out = out_dir / f"{stem}.ipynb"
            execute(REPO / "notebooks" / f"{stem}.py", out, {"scale": scale, **extra},
                    args.force, plan.chapters[stem].hash)
        finally:
            if saved is None:
                del os.environ["NCURV_CACHE"]
            else:
                os.environ["NCURV_CACHE"] = saved
        if args.manifest:
            write_manifest(args.manifest, out)
        if args.workflow_manifests:
            print(f"  manifest: {os.path.relpath(write_workflow_manifest(plan, stem, out), REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
