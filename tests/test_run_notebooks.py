"""The notebook runner: per-chapter scales from config/<scale>.yaml, committed chapters."""
import hashlib
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ncurv_lib import pipeline

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import run_notebooks  # noqa: E402


def test_cpu_book_scales_cover_every_chapter():
    plan = pipeline.load_plan("cpu")
    stems = {p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.py")}
    assert set(plan.chapters) == stems
    assert plan.chapters["21_dag_conservation"].scale == "cpu"
    assert {c.scale for c in plan.chapters.values()} <= set(pipeline.SCALES)


def test_committed_cpu_chapters_are_up_to_date(monkeypatch):
    """Every chapter of the cpu book has its executed notebook committed, executed from the
    current source at the chapter's scale, with the workflow's manifest beside it in the
    cache (so make book reuses them instead of re-running)."""
    monkeypatch.delenv("NCURV_CACHE")  # the committed cache
    plan = pipeline.load_plans("cpu")["cpu"]
    tracked = subprocess.run(["git", "ls-files", "book", "data/cache/manifests"], cwd=REPO,
                             capture_output=True, text=True).stdout.split()
    for stem, ch in plan.chapters.items():
        src, out = REPO / "notebooks" / f"{stem}.py", REPO / "book" / f"{stem}.ipynb"
        assert f"book/{stem}.ipynb" in tracked, f"{out} is not committed"
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        assert run_notebooks._up_to_date(out, digest, {"scale": ch.scale}, ch.hash), \
            f"{out} is stale"
        manifest = plan.chapter_path(stem).relative_to(REPO).as_posix()
        assert manifest in tracked, f"{manifest} is not committed"


def test_new_artifacts_make_a_chapter_stale(tmp_path):
    """Same source and parameters, but the chapter hash (what it reads) changed."""
    out = tmp_path / "x.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["ncurv"] = {"source_sha256": "ab", "parameters": {"scale": "cpu"},
                            "chapter_hash": "h1", "wall_time_s": 1.0}
    nbformat.write(nb, out)
    assert run_notebooks._up_to_date(out, "ab", {"scale": "cpu"}, "h1")
    assert not run_notebooks._up_to_date(out, "ab", {"scale": "cpu"}, "h2")
    assert not run_notebooks._up_to_date(out, "ac", {"scale": "cpu"}, "h1")
    assert not run_notebooks._up_to_date(out, "ab", {"scale": "smoke"}, "h1")


def test_manifest_names_the_executed_notebook(tmp_path):
    out = tmp_path / "x.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["ncurv"] = {"source_sha256": "ab", "parameters": {"scale": "smoke"},
                            "wall_time_s": 1.5}
    nbformat.write(nb, out)
    run_notebooks.write_manifest(tmp_path / "m.json", out)
    import json
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["wall_time_s"] == 1.5 and m["parameters"] == {"scale": "smoke"}
    assert m["notebook"].endswith("x.ipynb")


@pytest.mark.parametrize("argv,match", [(["--scale", "huge"], "invalid choice"),
                                        (["--scale", "smoke", "--only", "99_x"], "unknown")])
def test_bad_arguments_are_refused(argv, match, capsys):
    with pytest.raises(SystemExit):
        run_notebooks.main(argv)
    assert match in capsys.readouterr().err


def test_workflow_manifest_replaces_the_chapters_stale_ones(tmp_path):
    """`make notebook` writes the manifest the workflow reads and removes the same
    chapter's manifests of other chapter hashes, not other chapters'."""
    out = tmp_path / "01_a.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["ncurv"] = {"source_sha256": "ab", "parameters": {"scale": "cpu"},
                            "chapter_hash": "new", "wall_time_s": 2.0}
    nbformat.write(nb, out)
    folder = tmp_path / "manifests"
    folder.mkdir()
    for name in ("01_a-old.json", "01_a_b-old.json", "02_c-old.json"):
        (folder / name).write_text("{}")

    class Plan:
        def chapter_path(self, stem):
            return folder / f"{stem}-new.json"
    path = run_notebooks.write_workflow_manifest(Plan(), "01_a", out)
    assert path == folder / "01_a-new.json"
    assert sorted(p.name for p in folder.iterdir()) == ["01_a-new.json", "01_a_b-old.json",
                                                       "02_c-old.json"]
    import json
    assert json.loads(path.read_text())["chapter_hash"] == "new"
