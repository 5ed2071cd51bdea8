"""``python -m ncurv_lib prune`` end to end, with the trained model and datasets
replaced by small stand-ins (no training, no dataset files), in a temporary cache."""
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch

import ncurv_lib.data as D
import ncurv_lib.train as T
from ncurv_lib.__main__ import main
from ncurv_lib.pruning import runs
from ncurv_lib.pruning.masks import prunable_weights
from ncurv_lib.pruning.sweeps import global_sweep


@pytest.fixture
def fake(monkeypatch, tmp_path):
    monkeypatch.setenv("NCURV_CACHE", str(tmp_path / "cache"))
    cfg = T.TrainConfig.preset("mnist", "lenet5", "relu", "ce", "smoke")
    model = cfg.build().eval()
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(60, 1, 28, 28, generator=gen)
    with torch.no_grad():
        y = model(x).argmax(1)
    y[::4] = (y[::4] + 3) % 10
    calls = []

    def load_or_train(c, progress=True, **kw):
        calls.append(c)
        assert c == cfg
        return model, {}

    monkeypatch.setattr(T, "load_or_train", load_or_train)
    monkeypatch.setattr(D, "load_split", lambda ds, split, root=None, limit=None: (x, y))
    monkeypatch.setattr(D, "pruning_batch", lambda ds, per_class=10, root=None:
                        (x[:per_class * 2], y[:per_class * 2]))
    return cfg, model, x, y, calls


def run_cli(tmp_path, *extra):
    out = tmp_path / "out.csv"
    argv = ["prune", "--dataset", "mnist", "--model", "lenet5", "--scale", "smoke",
            "--grid", "smoke", "--no-progress", "--out", str(out), *extra]
    assert main(argv) == 0
    return pd.read_csv(out)


def test_cli_magnitude_matches_library_and_caches(fake, tmp_path, capsys):
    cfg, model, x, y, calls = fake
    table = run_cli(tmp_path, "--scorer", "magnitude")
    ref = global_sweep(model, x, y, "magnitude", grid="smoke", progress=False)
    assert table.accuracy.tolist() == ref.accuracy.tolist()
    assert table.removed_count.tolist() == ref.removed_count.tolist()
    assert set(table.model) == {"lenet5-mnist-relu-ce"} and len(calls) == 1
    side = list((tmp_path / "cache" / "sweeps").glob("*.json"))
    assert len(side) == 1
    meta = json.loads(side[0].read_text())
    assert meta["config"]["method"] == "magnitude" and meta["rows"] == len(table)
    assert meta["summary"][0]["base_accuracy"] == ref.accuracy.iloc[0]
    assert "magnitude" in capsys.readouterr().out
    again = run_cli(tmp_path, "--scorer", "magnitude")  # from the cache: no model load
    assert len(calls) == 1
    pd.testing.assert_frame_equal(again, table)
    run_cli(tmp_path, "--scorer", "magnitude", "--force")
    assert len(calls) == 2


def test_cli_snip_synflow_curvature(fake, tmp_path, monkeypatch):
    cfg, model, x, y, calls = fake
    rng = np.random.default_rng(0)
    scores = {n: torch.from_numpy(rng.normal(size=tuple(p.shape)))
              for n, p in prunable_weights(model)}
    monkeypatch.setattr(runs, "load_or_curvature", lambda *a, **k: scores)
    table = run_cli(tmp_path, "--scorer", "all", "--iterations", "2", "--per-layer")
    methods = set(table.method)
    assert methods == {"magnitude", "snip", "synflow", "curvature-positive",
                       "curvature-negative"}
    ref = global_sweep(model, x, y, "snip", (x[:20], y[:20]), grid="smoke", progress=False)
    snip = table[(table.method == "snip") & (table.layer == "all")]
    assert snip.accuracy.tolist() == ref.accuracy.tolist()
    neg = table[(table.method == "curvature-negative") & (table.grid == "sign_aware")]
    n_neg = sum(int((s < 0).sum()) for s in scores.values())
    assert n_neg in neg.removed_count.tolist()
    assert set(table[table.method == "synflow"].layer) == {"all"}
    assert set(table[table.method == "magnitude"].layer) == {"all"} | set(scores)


def test_cli_checkpoint(fake, tmp_path, capsys):
    cfg, model, x, y, calls = fake
    path = tmp_path / "model.pt"
    torch.save({"config": dataclasses.asdict(cfg), "state_dict": model.state_dict()}, path)
    table = run_cli(tmp_path, "--scorer", "magnitude", "--checkpoint", str(path))
    assert not calls  # the model came from the file
    ref = global_sweep(model, x, y, "magnitude", grid="smoke", progress=False)
    assert table.accuracy.tolist() == ref.accuracy.tolist()
    torch.save({"weights": 1}, path)
    assert main(["prune", "--checkpoint", str(path), "--no-progress"]) == 2
    assert "not a model file" in capsys.readouterr().err


def test_load_or_curvature_computes_once_then_reads_cache(fake, monkeypatch):
    import ncurv_lib as nc
    import ncurv_lib.scores as C
    from ncurv_lib import train as T
    cfg = fake[0]
    torch.manual_seed(0)
    tiny = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    xc = torch.randn(2, 3)
    monkeypatch.setattr(T, "load_or_train", lambda *a, **k: (tiny, {}))
    monkeypatch.setattr(D, "calibration_indices", lambda *a, **k: torch.tensor([0, 1]))
    monkeypatch.setattr(D, "load_split", lambda *a, **k: (xc, None))
    first = runs.load_or_curvature(tiny, cfg, "authors")
    ref = nc.parameter_curvature(tiny, xc, nc.CurvatureConfig(convention="authors"))
    assert all(torch.equal(first[k], ref[k]) for k in ref)

    def boom(*a, **k):
        raise AssertionError("recomputed instead of reading the cache")

    monkeypatch.setattr(C, "parameter_curvature", boom)
    again = runs.load_or_curvature(tiny, cfg, "authors")
    assert all(torch.equal(again[k], ref[k]) for k in ref)
    with pytest.raises(AssertionError, match="recomputed"):
        runs.load_or_curvature(tiny, cfg, "paper")  # another key: not cached
