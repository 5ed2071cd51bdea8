"""Sweeps against direct masked evaluations; per-layer isolation; grids; summary metrics.

The direct reference prunes a fresh copy with ``prune_masks`` (or a brute-force
per-layer order) and counts correct predictions with its own forward pass.
"""
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import ncurv_lib as nc
from ncurv_lib.pruning import sweeps as S
from ncurv_lib.pruning.masks import apply_masks, prunable_weights
from ncurv_lib.pruning.metrics import area_under_curve, max_removable_fraction, summarize


def setup(seed=0, n=300):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                        nn.Linear(3 * 4 * 4, 8), nn.ReLU(), nn.Linear(8, 4)).eval()
    with torch.no_grad():
        net[1].running_mean.uniform_(-0.2, 0.2)
        net[1].running_var.uniform_(0.5, 1.5)
    x = torch.randn(n, 1, 6, 6)
    with torch.no_grad():  # labels mostly agree with the net: accuracy well above chance
        y = net(x).argmax(1)
    flip = torch.rand(n) < 0.15
    y[flip] = (y[flip] + 1) % 4
    return net, x, y


def direct_accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).double().mean().item()


def curvature_like(net, seed=1):
    rng = np.random.default_rng(seed)
    return {n: torch.from_numpy(rng.choice([-2.0, -1.0, 0.0, 0.5, 1.0], size=tuple(p.shape)))
            for n, p in prunable_weights(net)}


@pytest.mark.parametrize("scorer,opts", [("magnitude", {}), ("snip", {}),
                                         ("curvature", {"order": "positive"}),
                                         ("curvature", {"order": "negative"})])
def test_global_sweep_points_equal_direct_masked_evaluation(scorer, opts):
    net, x, y = setup()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    data = (x[:40], y[:40])
    if scorer == "curvature":
        opts = {**opts, "scores": curvature_like(net)}
    table = nc.pruning.global_sweep(net, x, y, scorer, data, grid="smoke", batch_size=64,
                                    progress=False, **opts)
    n = sum(p.numel() for _, p in prunable_weights(net))
    common = table[table.grid == "common"]
    assert common.removed_fraction.tolist() == pytest.approx(
        [(n - round((1 - f) * n)) / n for f in S.common_grid("smoke")])
    assert common.accuracy.iloc[0] == direct_accuracy(net, x, y)  # fraction 0 = unpruned
    assert np.isnan(common.last_score.iloc[0])
    for row in table.itertuples():
        if row.grid == "common":
            keep = 1 - row.removed_fraction
            masks = nc.prune_masks(net, scorer, keep, data, **opts)
        else:
            order, _ = nc.pruning.removal_plan(net, scorer, data, **opts)
            keep_flat = np.ones(n, dtype=bool)
            keep_flat[order[:row.removed_count]] = False
            masks = nc.pruning.masks.split_flat(keep_flat, {k: p.shape for k, p in
                                                            prunable_weights(net)})
        assert sum(int((~m).sum()) for m in masks.values()) == row.removed_count
        assert row.accuracy == direct_accuracy(apply_masks(net, masks), x, y)
    assert (table.grid == "sign_aware").any() == (scorer == "curvature")
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k])


def test_last_score_is_score_of_last_removed_weight():
    net, x, y = setup(1)
    scores = curvature_like(net, 2)
    s = np.concatenate([v.reshape(-1).numpy() for v in scores.values()])
    a = np.abs(np.concatenate([p.detach().reshape(-1).numpy() for _, p in prunable_weights(net)]))
    ref = sorted(range(s.size), key=lambda i: (-s[i], float(a[i]), i))
    table = nc.pruning.global_sweep(net, x, y, "curvature", fractions=[0.0, 0.3, 1.0],
                                    scores=scores, progress=False, sign_aware=False)
    for row in table.itertuples():
        if row.removed_count:
            assert row.last_score == s[ref[row.removed_count - 1]]


def test_sign_aware_counts_follow_the_authors_grid():
    s = np.array([-3.0] * 7 + [0.0] * 3 + [1.0] * 40)  # n_neg = 7, n_pos = 40, N = 50
    neg = S.sign_aware_counts(s, "negative")
    ref_neg = np.unique(np.rint(np.r_[np.linspace(0, 7, 12)[:-1], np.linspace(7, 50, 6)]))
    assert neg.tolist() == ref_neg.astype(int).tolist()
    assert neg[0] == 0 and neg[-1] == 50 and 7 in neg
    pos = S.sign_aware_counts(s, "positive")
    assert pos.tolist() == np.unique(np.rint(np.r_[np.linspace(0, 40, 25)[:-1],
                                                   np.linspace(40, 50, 10)])).astype(int).tolist()
    with pytest.raises(ValueError, match="order"):
        S.sign_aware_counts(s, "both")


def test_common_grids():
    g = S.common_grid("default")
    assert g[0] == 0.0 and g[-1] == 1.0 and np.all(np.diff(g) > 0)
    for tail in (0.95, 0.975, 0.99, 0.995, 0.999):
        assert np.isclose(g, tail).any()
    assert len(g) == 26 and len(S.common_grid("fine")) == 44
    with pytest.raises(ValueError, match="unknown grid"):
        S.common_grid("coarse")


def test_synflow_sweep_iterative_points_equal_prune_masks():
    net, x, y = setup(2)
    table = nc.pruning.global_sweep(net, x, y, "synflow", (x, y), fractions=[0.0, 0.5, 0.9],
                                    iterations=3, progress=False)
    for row in table.itertuples():
        masks = nc.prune_masks(net, "synflow", 1 - row.removed_fraction, (x, y), iterations=3)
        assert sum(int((~m).sum()) for m in masks.values()) == row.removed_count
        assert row.accuracy == direct_accuracy(apply_masks(net, masks), x, y)
    single = nc.pruning.global_sweep(net, x, y, "synflow", (x, y), fractions=[0.5],
                                     synflow_iterative=False, progress=False)
    order, flat = nc.pruning.removal_plan(net, "synflow", (x, y))
    k = single.removed_count.iloc[0]
    assert k == table.removed_count.iloc[1]
    assert single.last_score.iloc[0] == flat[order[k - 1]]


@pytest.mark.parametrize("scorer", ["magnitude", "curvature"])
def test_layer_sweep_touches_only_its_layer(scorer, monkeypatch):
    net, x, y = setup(3)
    opts = {"scores": curvature_like(net, 4), "order": "negative"} if scorer == "curvature" else {}
    originals = {n: p.detach().clone() for n, p in prunable_weights(net)}
    seen = []
    real = S.accuracy

    def spy(model, xx, yy, batch_size=1000):
        zeros = {n: int(((p.detach() == 0) & (originals[n] != 0)).sum())
                 for n, p in prunable_weights(model)}
        changed = {n for n, p in prunable_weights(model)
                   if not torch.equal(p.detach(), originals[n])}
        seen.append((zeros, changed))
        return real(model, xx, yy, batch_size)

    monkeypatch.setattr(S, "accuracy", spy)
    table = nc.pruning.layer_sweep(net, x, y, scorer, grid="smoke", progress=False, **opts)
    assert len(table) == len(seen) == 3 * 5
    w = {n: p.detach().reshape(-1).numpy() for n, p in prunable_weights(net)}
    for row, (zeros, changed) in zip(table.itertuples(), seen):
        assert changed <= {row.layer}
        assert zeros[row.layer] == row.removed_count
        assert row.n_weights == w[row.layer].size
        # brute-force order within the layer
        a = np.abs(w[row.layer])
        if scorer == "magnitude":
            key = lambda i: (a[i], i)  # noqa: E731
        else:
            s = opts["scores"][row.layer].reshape(-1).numpy()
            key = lambda i: (s[i], a[i], i)  # noqa: E731
        removed = sorted(range(a.size), key=key)[:row.removed_count]
        masks = {n: torch.ones_like(p, dtype=torch.bool) for n, p in prunable_weights(net)}
        masks[row.layer].view(-1)[removed] = False
        assert row.accuracy == direct_accuracy(apply_masks(net, masks), x, y)
    assert set(table.layer) == {"0.weight", "4.weight", "6.weight"}
    assert table.removed_fraction.max() == 1.0


def test_sweep_all_and_summary():
    net, x, y = setup(4)
    table = nc.pruning.sweep_all(net, x, y, ("magnitude", "curvature-positive",
                                             "curvature-negative"),
                                 curvature=curvature_like(net, 5), grid="smoke",
                                 per_layer=True, progress=False, sign_aware=False)
    summary = summarize(table)
    assert len(summary) == 3 * (1 + 3)
    for rec in summary.itertuples():
        curve = table[(table.method == rec.method) & (table.layer == rec.layer)]
        assert rec.points == len(curve) == 5
        assert rec.auc == pytest.approx(np.trapezoid(curve.accuracy, curve.removed_fraction))
        assert rec.base_accuracy == direct_accuracy(net, x, y)
    with pytest.raises(ValueError, match="curvature="):
        nc.pruning.sweep_all(net, x, y, ("curvature-positive",))
    with pytest.raises(ValueError, match="unknown method"):
        nc.pruning.sweep_all(net, x, y, ("random",))


def test_summary_metrics_by_hand():
    f = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    a = [0.90, 0.91, 0.895, 0.88, 0.90, 0.1]
    # 0.88 < 0.89 first at 0.6, so the largest fraction before that is 0.4 (not 0.8)
    assert max_removable_fraction(f, a) == 0.4
    assert max_removable_fraction(f, a, drop=0.05) == 0.8
    assert max_removable_fraction(f[::-1], a[::-1]) == 0.4  # order of points irrelevant
    assert area_under_curve(f, a) == pytest.approx(
        0.2 * (0.905 + 0.9025 + 0.8875 + 0.89 + 0.5))
    with pytest.raises(ValueError, match="baseline"):
        max_removable_fraction([0.5, 1.0], [0.9, 0.1])
    table = pd.DataFrame({"method": "m", "removed_fraction": f, "accuracy": a})
    rec = summarize(table).iloc[0]
    assert rec.max_removable_fraction == 0.4 and rec.final_accuracy == 0.1


def test_sweep_bad_inputs():
    net, x, y = setup()
    with pytest.raises(ValueError, match="unknown scorer"):
        nc.pruning.global_sweep(net, x, y, "random")
    with pytest.raises(ValueError, match="fractions"):
        nc.pruning.global_sweep(net, x, y, "magnitude", fractions=[0.5, 1.2])
    with pytest.raises(ValueError, match="unknown layers"):
        nc.pruning.layer_sweep(net, x, y, "magnitude", layers=["1.weight"])
