"""Publishing: the ghp-import check script and the GitHub Actions workflow stay thin
wrappers around `make book`."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
GHP = Path(sys.executable).with_name("ghp-import")


def _site(tmp_path):
    html = tmp_path / "html"
    (html / "_static").mkdir(parents=True)
    (html / "index.html").write_text("<html>index</html>")
    (html / "chapter.html").write_text("<html>chapter</html>")
    (html / "_static" / "style.css").write_text("body {}")
    return html


@pytest.mark.skipif(not GHP.exists() or shutil.which("git") is None, reason="needs ghp-import and git")
def test_check_publish_puts_exactly_the_site_on_gh_pages(tmp_path):
    html = _site(tmp_path)
    refs = lambda: subprocess.run(["git", "-C", str(ROOT), "for-each-ref"], capture_output=True,
                                  text=True).stdout
    before = refs()
    res = subprocess.run(["bash", str(ROOT / "tools/check_publish.sh"), str(html)],
                         capture_output=True, text=True, env={**os.environ, "GHP_IMPORT": str(GHP)})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "gh-pages (scratch clone): 4 files" in res.stdout     # 3 site files + .nojekyll
    assert refs() == before                                     # the real repo is not touched


def test_check_publish_refuses_an_unbuilt_site(tmp_path):
    res = subprocess.run(["bash", str(ROOT / "tools/check_publish.sh"), str(tmp_path)],
                         capture_output=True, text=True, env={**os.environ, "GHP_IMPORT": str(GHP)})
    assert res.returncode == 1 and "build the book first" in res.stdout


def test_actions_workflow_builds_with_make_book_and_deploys_pages():
    wf = yaml.safe_load((ROOT / ".github/workflows/book.yml").read_text())
    build = wf["jobs"]["build"]["steps"]
    runs = [s["run"] for s in build if "run" in s]
    assert runs == ["make book"]
    upload = [s for s in build if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert upload and upload[0]["with"]["path"] == "_build/html"
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in deploy["steps"])
    assert wf["permissions"]["pages"] == "write" and wf["permissions"]["id-token"] == "write"
