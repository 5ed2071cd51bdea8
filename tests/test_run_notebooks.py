"""The notebook runner's per-chapter scales (book/scales.json)."""
import hashlib
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import run_notebooks  # noqa: E402


def test_published_scales_cover_every_chapter():
    stems = [p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.py")]
    scales = run_notebooks.book_scales(REPO / "book" / "scales.json", stems)
    assert set(scales) == set(stems) and set(scales.values()) <= set(run_notebooks.SCALES)
    assert scales["91_model_zoo"] == "smoke" and scales["21_dag_conservation"] == "cpu"


def test_committed_cpu_chapters_are_up_to_date():
    """Every chapter published at cpu has its executed notebook committed, executed from
    the current source at that scale (so make book reuses it instead of re-running)."""
    stems = [p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.py")]
    scales = run_notebooks.book_scales(REPO / "book" / "scales.json", stems)
    for stem, scale in scales.items():
        if scale == "smoke":
            continue
        src, out = REPO / "notebooks" / f"{stem}.py", REPO / "book" / f"{stem}.ipynb"
        assert out.exists(), f"{out} is not committed"
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        assert run_notebooks._up_to_date(out, digest, {"scale": scale}), f"{out} is stale"


@pytest.mark.parametrize("spec,match", [({"default": "huge"}, "scales"),
                                        ({"default": "cpu", "chapters": {"99_x": "cpu"}},
                                         "chapters")])
def test_bad_scales_file_is_refused(tmp_path, spec, match):
    path = tmp_path / "scales.json"
    path.write_text(json.dumps(spec))
    with pytest.raises(SystemExit, match=match):
        run_notebooks.book_scales(path, ["01_orc_primer"])
