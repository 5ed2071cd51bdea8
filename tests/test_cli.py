"""The command line: `python -m ncurv_lib train` end to end, in a subprocess."""
import json
import os
import subprocess
import sys

import pytest


def _run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "ncurv_lib", *args], capture_output=True,
                          text=True, env=env or os.environ.copy(), timeout=600)


def test_train_cli_writes_model_and_manifest(tmp_path):
    manifest = tmp_path / "m.json"
    out = _run("train", "--scale", "smoke", "--act", "tanh", "--train-limit", "300",
               "--epochs", "1", "--width", "0.25", "--no-progress", "--manifest", str(manifest))
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(manifest.read_text())
    assert row["config"]["act"] == "tanh" and row["config"]["epochs"] == 1
    assert row["config"]["width"] == 0.25 and os.path.exists(row["path"])
    assert "lenet5/mnist/tanh/ce width 0.25: test acc" in out.stdout and "trained in" in out.stdout
    again = _run("train", "--scale", "smoke", "--act", "tanh", "--train-limit", "300",
                 "--epochs", "1", "--width", "0.25", "--no-progress")
    assert again.returncode == 0 and row["path"] in again.stdout  # cache hit, same file
    assert "loaded from the cache" in again.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--scale", "huge"], "invalid choice"),
    (["train", "--scheme", "wd", "--weight-decay", "0", "--scale", "smoke"], "weight_decay"),
    (["nonsense"], "invalid choice"),
])
def test_bad_arguments_fail_clearly(args, message):
    out = _run(*args)
    assert out.returncode != 0 and message in out.stderr
