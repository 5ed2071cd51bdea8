"""The score store and the ``curvature`` subcommand (foundation stubbed, tiny model)."""
import argparse
import json
from pathlib import Path

import pytest
import torch
import torch.nn as nn

import ncurv_lib as nc
from ncurv_lib import curvature_cli as cli
from ncurv_lib import data, train
from ncurv_lib import scores as store
from ncurv_lib.curvature import params


@pytest.fixture
def stubbed(monkeypatch, tmp_path):
    monkeypatch.setenv("NCURV_CACHE", str(tmp_path))
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).eval()
    x = torch.randn(6, 4)
    monkeypatch.setattr(train, "load_or_train", lambda cfg, progress=True: (model, {}))
    monkeypatch.setattr(data, "calibration_indices",
                        lambda m, dataset, k=None, classes=None: torch.tensor([4, 1, 2]))
    monkeypatch.setattr(data, "load_split", lambda dataset, split, root=None: (x, None))
    return model, x, tmp_path


def test_cached_scores_equal_direct_and_are_reused(stubbed, monkeypatch):
    model, x, tmp = stubbed
    cfg = train.TrainConfig.preset("mnist", "mlp", "tanh", "ce", "smoke")
    scores, info = store.cached_parameter_curvature(cfg, convention="authors", progress=False,
                                                  return_info=True)
    direct = nc.parameter_curvature(model, x[[4, 1, 2]], nc.CurvatureConfig(convention="authors"))
    assert list(scores) == ["0.weight", "2.weight"]
    for k in scores:
        torch.testing.assert_close(scores[k], direct[k], rtol=0, atol=0)
    assert info["key"]["calibration_ids"] == [4, 1, 2]
    assert info["examples"] == 3 and str(tmp) in info["path"]

    def boom(*a, **k):
        raise AssertionError("recomputed although cached")
    monkeypatch.setattr(store, "parameter_curvature", boom)
    again = store.cached_parameter_curvature(cfg, convention="authors", progress=False)
    assert all(torch.equal(again[k], scores[k]) for k in scores)
    with pytest.raises(AssertionError, match="recomputed"):
        store.cached_parameter_curvature(cfg, convention="paper", progress=False)


def test_a_moved_cache_names_where_its_scores_are_now(stubbed, monkeypatch, tmp_path_factory):
    """Scores cached in one checkout and read in another (a fresh clone of committed
    artifacts): the info, and the manifest written from it, name the new place."""
    model, x, tmp = stubbed
    cfg = train.TrainConfig.preset("mnist", "mlp", "tanh", "ce", "smoke")
    _, first = store.cached_parameter_curvature(cfg, progress=False, return_info=True)
    sidecar = json.loads(Path(first["path"]).with_suffix(".json").read_text())
    assert "path" not in sidecar and "path" not in torch.load(first["path"])["info"]
    moved = tmp_path_factory.mktemp("clone") / "cache"
    tmp.rename(moved)
    monkeypatch.setenv("NCURV_CACHE", str(moved))
    monkeypatch.setattr(store, "parameter_curvature", lambda *a, **k: pytest.fail("recomputed"))
    _, info = store.cached_parameter_curvature(cfg, progress=False, return_info=True)
    assert info["path"].startswith(str(moved)) and info["path"] != first["path"]
    assert info["key"] == first["key"] and info["seconds"] == first["seconds"]
    cli.write_manifest(moved / "manifest.json", info)
    artifact = json.loads((moved / "manifest.json").read_text())["artifact"]
    assert (moved / artifact).exists() and not artifact.startswith("..")


def test_cli_run_prints_summary(stubbed, capsys):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--model", "mlp", "--act", "tanh", "--scale", "smoke",
                              "--no-neural-cost", "--no-progress"])
    assert args.neural_cost is False and args.neural_distribution is True
    assert cli.run(args) == 0
    out = capsys.readouterr().out
    assert "0.weight" in out and "3 examples" in out


def test_chunked_scores_equal_one_pass_and_resume_after_an_interruption(stubbed, monkeypatch):
    model, x, tmp = stubbed
    cfg = train.TrainConfig.preset("mnist", "mlp", "tanh", "ce", "smoke")
    whole_stats = nc.curvature.api.Stats()
    whole = nc.parameter_curvature(model, x[[4, 1, 2]], nc.CurvatureConfig(), stats=whole_stats)
    first = nc.parameter_curvature(model, x[[4, 1]], nc.CurvatureConfig())
    real, calls = params._scores, []                      # one call per chunk of examples

    def interrupted(c, mdl, n_examples, *args):
        if len(calls) == 1:
            raise KeyboardInterrupt                       # ^C during the second chunk
        calls.append(n_examples)
        return real(c, mdl, n_examples, *args)
    monkeypatch.setattr(params, "_scores", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.cached_parameter_curvature(cfg, progress=False, chunk=2)
    parts = list((tmp / "curvature").glob("*.partial.pt"))
    assert calls == [2] and len(parts) == 1
    part = torch.load(parts[0], weights_only=False)
    assert part["done"] == 2 and part["chunks"] == 1          # the first chunk's minimum
    assert all(torch.equal(part["scores"][k], first[k]) for k in first)

    def counting(c, mdl, n_examples, *args):
        calls.append(n_examples)
        return real(c, mdl, n_examples, *args)
    monkeypatch.setattr(params, "_scores", counting)
    scores, info = store.cached_parameter_curvature(cfg, progress=False, chunk=2, return_info=True)
    assert calls == [2, 1]                                # only the unfinished chunk re-ran
    assert info["chunks"] == 2 and info["examples"] == 3
    assert info["edges"] == whole_stats.edges and info["special"] == whole_stats.special
    assert not list((tmp / "curvature").glob("*.partial.pt"))
    for k in whole:                                       # min over chunks == one pass, exactly
        assert torch.equal(scores[k], whole[k])


def test_chunk_size_keeps_small_sets_whole_and_rejects_negative():
    from ncurv_lib.models import lenet5_small
    assert store.chunk_size(lenet5_small().eval(), torch.zeros(1, 1, 28, 28)) >= 100
    assert store.chunk_size(lenet5_small().eval(), torch.zeros(1, 1, 28, 28), 3) == 3
    assert store.chunk_size(lenet5_small().eval(), torch.zeros(1, 1, 28, 28), 3, workers=4) == 4
    with pytest.raises(ValueError, match="chunk"):
        store.chunk_size(lenet5_small().eval(), torch.zeros(1, 1, 28, 28), -1)


def test_workers_widen_chunks_and_give_the_one_pass_scores(stubbed, monkeypatch):
    model, x, tmp = stubbed
    cfg = train.TrainConfig.preset("mnist", "mlp", "tanh", "ce", "smoke")
    whole = nc.parameter_curvature(model, x[[4, 1, 2]], nc.CurvatureConfig())
    real, calls = params.parameter_curvature, []

    def counting(m, xs, c, **kw):
        calls.append((xs.shape[0], kw["workers"]))
        return real(m, xs, c, **kw)
    monkeypatch.setattr(params, "parameter_curvature", counting)
    scores, info = store.cached_parameter_curvature(cfg, progress=False, chunk=1, workers=2,
                                                  return_info=True)
    assert calls == [(2, 2), (1, 2)]           # a chunk holds at least one example per worker
    assert info["chunks"] == 2 and info["examples"] == 3
    for k in whole:
        torch.testing.assert_close(scores[k], whole[k], rtol=0, atol=1e-12)
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    assert parser.parse_args(["--workers", "2"]).workers == 2
    assert parser.parse_args([]).workers == 1
