"""What a new user hits first: checkpoints keyed by their weights, damaged cache files,
bad flags and damaged datasets, each a clear error or a correct recomputation.

The model is a small MLP on synthetic MNIST-shaped data, in a temporary cache; its
"cached model" is written the way :func:`ncurv_lib.train.load_or_train` writes one.
"""
import dataclasses
import gzip
import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import torch

import ncurv_lib as nc
import ncurv_lib.data as D
import ncurv_lib.train as T
from ncurv_lib import cache, scores
from ncurv_lib.__main__ import main
from ncurv_lib.pruning import runs


@pytest.fixture
def world(monkeypatch, tmp_path):
    """A cached smoke MLP (its file at the cache's model path) and synthetic data."""
    monkeypatch.setenv("NCURV_CACHE", str(tmp_path / "cache"))
    cfg = T.TrainConfig.preset("mnist", "mlp", "relu", "ce", "smoke")
    model = cfg.build().eval()
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(40, 1, 28, 28, generator=gen)
    with torch.no_grad():
        y = model(x).argmax(1)
    y[::3] = (y[::3] + 1) % 10                     # a base accuracy below 1
    cache.atomic_torch_save({"config": dataclasses.asdict(cfg), "state_dict": model.state_dict(),
                             "info": {"test_acc": 0.0, "train_time_s": 1.0}},
                            cache.artifact_path("models", cfg, "pt"))
    monkeypatch.setattr(D, "load_split", lambda ds, split, root=None, limit=None: (x, y))
    monkeypatch.setattr(T, "_run_training",
                        lambda *a, **k: pytest.fail("trained although a model was given"))
    return cfg, model, x, y, tmp_path


def _changed(cfg, model, tmp_path):
    """A checkpoint of the same configuration with other weights."""
    mine = cfg.build().eval()
    mine.load_state_dict(model.state_dict())
    with torch.no_grad():
        mine[-1].weight.mul_(-1.0)
    path = tmp_path / "mine.pt"
    torch.save({"config": dataclasses.asdict(cfg), "state_dict": mine.state_dict()}, path)
    return path, mine


def _accuracy(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def _prune(tmp_path, *extra):
    out = tmp_path / "out.csv"
    argv = ["prune", "--dataset", "mnist", "--model", "mlp", "--scale", "smoke",
            "--scorer", "magnitude", "--grid", "smoke", "--no-progress", "--out",
            str(out), *extra]
    assert main(argv) == 0
    return pd.read_csv(out)


# ------------------------------------------------------------ checkpoints keyed by weights
def test_prune_checkpoint_with_changed_weights_never_poses_as_the_preset(world):
    cfg, model, x, y, tmp = world
    path, mine = _changed(cfg, model, tmp)
    from_file = _prune(tmp, "--checkpoint", str(path))
    assert from_file.accuracy.iloc[0] == pytest.approx(_accuracy(mine, x, y))
    preset = _prune(tmp)                                   # the preset's model, after it
    assert preset.accuracy.iloc[0] == pytest.approx(_accuracy(model, x, y))
    assert _accuracy(mine, x, y) != _accuracy(model, x, y)
    keys = [json.loads(p.read_text())["config"] for p in (tmp / "cache" / "sweeps").glob("*.json")]
    assert len(keys) == 2 and sorted("weights" in k for k in keys) == [False, True]


def test_the_cached_model_or_a_copy_of_it_keeps_the_preset_key(world):
    cfg, model, x, y, tmp = world
    cached = cache.artifact_path("models", cfg, "pt")
    copy = tmp / "copy.pt"
    copy.write_bytes(cached.read_bytes())
    assert T.load_checkpoint(cached).weights == "" and T.load_checkpoint(copy).weights == ""
    path, _ = _changed(cfg, model, tmp)
    assert len(T.load_checkpoint(path).weights) == 16
    _prune(tmp)
    _prune(tmp, "--checkpoint", str(copy))
    assert len(list((tmp / "cache" / "sweeps").glob("*.csv"))) == 1   # one table, read back


def test_curvature_checkpoint_scores_the_files_weights_without_training(world, monkeypatch,
                                                                         capsys):
    cfg, model, x, y, tmp = world
    path, mine = _changed(cfg, model, tmp)
    monkeypatch.setattr(D, "calibration_indices", lambda m, ds, k=None, classes=None:
                        torch.tensor([1, 0]))
    cache.artifact_path("models", cfg, "pt").unlink()     # an empty cache: nothing to train
    monkeypatch.setattr(T, "load_or_train", lambda *a, **k: pytest.fail("trained or loaded"))
    assert main(["curvature", "--checkpoint", str(path), "--no-progress"]) == 0
    (file,) = (tmp / "cache" / "curvature").glob("*[0-9a-f].pt")
    saved = torch.load(file, weights_only=False)
    assert saved["key"]["weights"] == T.state_digest(mine.state_dict())
    ref = nc.parameter_curvature(mine, x[[1, 0]], nc.CurvatureConfig())
    other = nc.parameter_curvature(model, x[[1, 0]], nc.CurvatureConfig())
    assert all(torch.equal(saved["scores"][k], ref[k]) for k in ref)
    assert not all(torch.equal(ref[k], other[k]) for k in ref)
    assert str(path) in capsys.readouterr().out


# ------------------------------------------------------------ damaged cache files
@pytest.mark.parametrize("damage", ["truncated", "empty", "garbled", "no sidecar", "bad row"])
def test_a_damaged_sweep_table_is_recomputed_not_read(world, damage):
    cfg, model, x, y, tmp = world
    good = _prune(tmp)
    (csv,) = (tmp / "cache" / "sweeps").glob("*.csv")
    text = csv.read_text()
    if damage == "truncated":
        csv.write_text("\n".join(text.splitlines()[:3]) + "\n")
    elif damage == "empty":
        csv.write_text("")
    elif damage == "garbled":
        csv.write_bytes(b"\x00\xff,\n\"unclosed")
    elif damage == "no sidecar":
        csv.with_suffix(".json").unlink()
    else:
        bad = good.copy()
        bad.loc[1, "accuracy"] = 1.5
        bad.to_csv(csv, index=False)
    with pytest.raises(cache.CacheError, match="--force"):
        runs.read_table(csv)
    with pytest.warns(UserWarning, match="recomputing"):
        again = _prune(tmp)
    pd.testing.assert_frame_equal(again, good)
    runs.read_table(csv)                                    # whole again


def test_the_committed_sweeps_pass_the_checks(monkeypatch):
    from ncurv_lib import pipeline
    monkeypatch.delenv("NCURV_CACHE")
    paths = pipeline.load_plan("cpu").outputs("sweeps")
    assert len(paths) > 50
    for p in paths:
        assert len(runs.read_table(p)) > 1


def test_a_corrupt_cached_model_is_reported_not_retrained(world, capsys):
    cfg, model, x, y, tmp = world
    path = cache.artifact_path("models", cfg, "pt")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(cache.CacheError, match=r"--recompute") as err:
        T.load_or_train(cfg, progress=False)
    assert str(path) in str(err.value)
    assert main(["prune", "--model", "mlp", "--scale", "smoke", "--scorer", "magnitude",
                 "--no-progress"]) == 2
    line = capsys.readouterr().err.strip()
    assert line.count("\n") == 0 and "cached model" in line and "Traceback" not in line


def test_corrupt_cached_scores_are_reported(world, monkeypatch):
    cfg, model, x, y, tmp = world
    monkeypatch.setattr(D, "calibration_indices", lambda m, ds, k=None, classes=None:
                        torch.tensor([2]))
    first, info = scores.cached_parameter_curvature(cfg, progress=False, return_info=True)
    with open(info["path"], "r+b") as fh:
        fh.truncate(100)
    with pytest.raises(cache.CacheError, match="--recompute"):
        scores.cached_parameter_curvature(cfg, progress=False)
    again = scores.cached_parameter_curvature(cfg, progress=False, recompute=True)
    assert all(torch.equal(again[k], first[k]) for k in first)


# ------------------------------------------------------------ flags and inputs
def test_calib_k_zero_is_the_papers_and_negative_is_refused(world, monkeypatch, capsys):
    cfg, model, x, y, tmp = world
    with pytest.raises(ValueError, match=">= 1, or 0"):
        D.calibration_indices(model, "mnist", -1)
    seen = []
    monkeypatch.setattr(D, "calibration_indices",
                        lambda m, ds, k=None, classes=None: seen.append(k) or torch.tensor([0]))
    scores.cached_parameter_curvature(cfg, calib_k=0, progress=False)
    assert seen == [None]
    with pytest.raises(ValueError, match="calib_k must be >= 1"):
        scores.cached_parameter_curvature(cfg, calib_k=-1, progress=False)
    with pytest.raises(SystemExit) as stop:
        main(["curvature", "--calib-k", "-1"])
    assert stop.value.code == 2 and "calib_k must be >= 1" in capsys.readouterr().err


def test_parameter_curvature_on_no_examples_says_so():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    with pytest.raises(ValueError, match="no examples"):
        nc.parameter_curvature(model, torch.zeros(0, 4))


def test_too_few_calibration_examples_name_the_flags(world):
    cfg, model, x, y, tmp = world
    always0 = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    with torch.no_grad():
        always0[1].weight.zero_()
        always0[1].bias.copy_(torch.arange(10, 0, -1).float())
    with pytest.raises(ValueError, match=r"classes \[1, 2\].*--calib-classes.*--calib-k"):
        D.calibration_indices(always0, "mnist", 1, classes=[0, 1, 2])


def test_a_missing_checkpoint_says_no_such_file(world, capsys):
    assert main(["curvature", "--checkpoint", "/nonexistent.pt"]) == 2
    err = capsys.readouterr().err
    assert "/nonexistent.pt: no such file" in err and "not a model file" not in err


def test_a_damaged_mnist_file_is_named(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    arr = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    blob = gzip.compress(bytes([0, 0, 8, 3]) + np.array(arr.shape, ">i4").tobytes()
                         + arr.tobytes())
    f = raw / "t10k-images-idx3-ubyte.gz"
    f.write_bytes(blob[:len(blob) // 2])
    with pytest.raises(D.DatasetCorruptError, match="t10k-images-idx3-ubyte.gz"):
        D._read_idx(f)
    f.write_bytes(blob)
    (tmp_path / "SHA256SUMS").write_text(
        f"{hashlib.sha256(blob).hexdigest()}  MNIST/raw/t10k-images-idx3-ubyte.gz\n")
    D.verify_checksums(tmp_path, [f])                      # a good file passes
    f.write_bytes(blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(D.DatasetCorruptError, match="SHA256SUMS"):
        D.verify_checksums(tmp_path, [f])


# ------------------------------------------------------------ help and messages
def test_help_shows_defaults_without_rst_and_version(capsys):
    for cmd in ("train", "curvature", "prune"):
        with pytest.raises(SystemExit):
            main([cmd, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert "(default: cpu)" in out and "(default: mnist)" in out and "``" not in out and ":func:" not in out, cmd
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"ncurv_lib {nc.__version__}"


def test_train_says_loaded_when_it_only_loaded(world, capsys):
    assert main(["train", "--model", "mlp", "--scale", "smoke", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "loaded from the cache (trained in 1 s)" in out


def test_the_readme_quick_start_runs():
    import re
    from pathlib import Path
    text = (Path(__file__).parents[1] / "README.md").read_text()
    block = re.search(r"## Python API\s+```python\n(.*?)```", text, re.S).group(1)
    scope = {}
    exec(compile(block, "README.md", "exec"), scope)  # noqa: S102 (our own README)
    assert set(scope["scores"]) == {"1.weight", "3.weight"}
    assert scope["scores"]["1.weight"].dtype == torch.float64
    kept = sum(int(m.sum()) for m in scope["masks"].values())
    assert kept == round(0.5 * (784 * 64 + 64 * 10))
    table = scope["table"]
    assert set(table.grid) >= {"common"} and table.accuracy.between(0, 1).all()
    assert table[table.grid == "common"].removed_fraction.is_monotonic_increasing
