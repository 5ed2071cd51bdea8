"""Masks and orders: exact counts under ties, tie-breaking, errors, model untouched.

Reference orders are brute force: Python's ``sorted`` on explicit key tuples.
"""
import numpy as np
import pytest
import torch
from torch import nn

import ncurv_lib as nc
from ncurv_lib.pruning.masks import apply_masks, prunable_weights


def tiny_net(seed=0, bias=True):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 2, 3, bias=bias), nn.BatchNorm2d(2), nn.ReLU(),
                         nn.Flatten(), nn.Linear(2 * 3 * 3, 4, bias=bias), nn.ReLU(),
                         nn.Linear(4, 3, bias=bias))


def flat(masks):
    return torch.cat([m.reshape(-1) for m in masks.values()]).numpy()


def state_copy(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_same_state(model, before):
    after = model.state_dict()
    assert before.keys() == after.keys()
    for k in before:
        assert torch.equal(before[k], after[k]), k


def test_prunable_weights_are_linear_and_conv_only():
    net = tiny_net()
    assert [n for n, _ in prunable_weights(net)] == ["0.weight", "4.weight", "6.weight"]
    masks = nc.prune_masks(net, "magnitude", 0.5)
    assert list(masks) == ["0.weight", "4.weight", "6.weight"]
    for name, p in net.named_parameters():
        if name in masks:
            assert masks[name].shape == p.shape and masks[name].dtype == torch.bool


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.25, 0.5, 0.333, 0.77, 0.999, 1.0])
def test_exact_counts_with_all_equal_weights(keep):
    net = tiny_net()
    with torch.no_grad():
        for _, p in prunable_weights(net):
            p.fill_(0.5)
    n = sum(p.numel() for _, p in prunable_weights(net))  # 18 + 72 + 12 = 102
    assert n == 102
    masks = nc.prune_masks(net, "magnitude", keep)
    kept = flat(masks)
    assert kept.sum() == round(keep * n)
    # ties by parameter order: the first removed entries are the first flat indices
    n_remove = n - round(keep * n)
    assert not kept[:n_remove].any() and kept[n_remove:].all()


def test_magnitude_order_matches_brute_force():
    net = tiny_net(3)
    with torch.no_grad():  # create ties across layers
        net[4].weight[0, :5] = 0.1
        net[6].weight[1, :] = -0.1
        net[0].weight[0, 0] = 0.1
    w = np.concatenate([p.detach().reshape(-1).numpy() for _, p in prunable_weights(net)])
    ref = sorted(range(w.size), key=lambda i: (abs(float(w[i])), i))
    for keep in (0.9, 0.6, 0.3, 0.05):
        n_remove = w.size - round(keep * w.size)
        removed = np.flatnonzero(~flat(nc.prune_masks(net, "magnitude", keep)))
        assert sorted(removed.tolist()) == sorted(ref[:n_remove])


def test_magnitude_scores_are_abs_weights():
    net = tiny_net(1)
    scores = nc.prune_scores(net, "magnitude")
    for name, p in prunable_weights(net):
        assert scores[name].dtype == torch.float64
        assert torch.equal(scores[name], p.detach().double().abs())


@pytest.mark.parametrize("order", ["positive", "negative"])
def test_curvature_tie_breaking_by_abs_weight_then_index(order):
    net = tiny_net(2)
    with torch.no_grad():
        net[4].weight[0, :4] = torch.tensor([0.3, -0.3, 0.1, 0.3])  # |W| ties too
    rng = np.random.default_rng(0)
    shapes = {n: p.shape for n, p in prunable_weights(net)}
    scores = {n: torch.from_numpy(rng.choice([-1.0, 0.0, 0.5, np.inf], size=tuple(s)))
              for n, s in shapes.items()}
    s = np.concatenate([v.reshape(-1).numpy() for v in scores.values()])
    a = np.abs(np.concatenate([p.detach().reshape(-1).numpy()
                               for _, p in prunable_weights(net)]))
    sign = -1.0 if order == "positive" else 1.0
    ref = sorted(range(s.size), key=lambda i: (sign * s[i], float(a[i]), i))
    for keep in (0.95, 0.5, 0.2, 0.0):
        masks = nc.prune_masks(net, "curvature", keep, scores=scores, order=order)
        n_remove = s.size - round(keep * s.size)
        assert sorted(np.flatnonzero(~flat(masks)).tolist()) == sorted(ref[:n_remove])
    # the full removal order is the reference order
    order_idx, flat_scores = nc.pruning.removal_plan(net, "curvature", scores=scores,
                                                    order=order)
    assert order_idx.tolist() == ref
    assert np.array_equal(flat_scores, s)


def test_curvature_default_order_is_positive_first():
    net = tiny_net()
    shapes = {n: p.shape for n, p in prunable_weights(net)}
    scores = {n: torch.zeros(s, dtype=torch.float64) for n, s in shapes.items()}
    scores["6.weight"][2, 1] = 5.0
    masks = nc.prune_masks(net, "curvature", 1 - 1 / 102, scores=scores)
    assert not masks["6.weight"][2, 1] and flat(masks).sum() == 101
    masks = nc.prune_masks(net, "curvature", 1 - 1 / 102, scores=scores, order="negative")
    assert masks["6.weight"][2, 1]


def test_apply_masks_zeroes_exactly_the_masked_entries_and_copies():
    net = tiny_net(4)
    before = state_copy(net)
    masks = nc.prune_masks(net, "magnitude", 0.4)
    pruned = apply_masks(net, masks)
    assert_same_state(net, before)
    assert type(pruned) is type(net)
    for name, p in prunable_weights(pruned):
        orig = dict(net.named_parameters())[name].detach()
        assert torch.equal(p.detach(), orig * masks[name])
    assert sum(int((p == 0).sum()) for _, p in prunable_weights(pruned)) == 102 - round(0.4 * 102)


def test_model_never_modified_by_scores_and_masks():
    net = tiny_net(5).train()
    before = state_copy(net)
    x, y = torch.randn(6, 1, 5, 5), torch.tensor([0, 1, 2, 0, 1, 2])
    nc.prune_scores(net, "snip", (x, y))
    nc.prune_scores(net, "synflow", (x, y))
    nc.prune_masks(net, "synflow", 0.3, (x, y), iterations=3)
    nc.prune_masks(net, "snip", 0.3, (x, y))
    nc.prune_masks(net, "magnitude", 0.3)
    assert_same_state(net, before)
    assert net.training and all(m.training for m in net.modules())
    assert all(p.grad is None for p in net.parameters())
    assert net[0].weight.dtype == torch.float32


def test_bad_inputs_raise_clear_value_errors():
    net = tiny_net()
    with pytest.raises(ValueError, match="unknown scorer 'random'"):
        nc.prune_masks(net, "random", 0.5)
    with pytest.raises(ValueError, match="unknown scorer"):
        nc.prune_scores(net, "Magnitude")
    for bad in (-0.1, 1.5, float("nan"), "half"):
        with pytest.raises(ValueError, match="keep_fraction"):
            nc.prune_masks(net, "magnitude", bad)
    with pytest.raises(ValueError, match="no prunable weights"):
        nc.prune_masks(nn.Sequential(nn.ReLU(), nn.BatchNorm1d(3)), "magnitude", 0.5)
    with pytest.raises(ValueError, match="no prunable weights"):
        nc.prune_scores(nn.Sequential(nn.Flatten()), "magnitude")
    with pytest.raises(ValueError, match="needs data"):
        nc.prune_scores(net, "snip")
    with pytest.raises(ValueError, match="needs data"):
        nc.prune_masks(net, "snip", 0.5)
    with pytest.raises(ValueError, match="needs scores"):
        nc.prune_masks(net, "curvature", 0.5)
    with pytest.raises(ValueError, match="input shape"):
        nc.prune_scores(net, "synflow")
    shapes = {n: p.shape for n, p in prunable_weights(net)}
    scores = {n: torch.zeros(s) for n, s in shapes.items()}
    with pytest.raises(ValueError, match="unknown curvature order"):
        nc.prune_masks(net, "curvature", 0.5, scores=scores, order="up")
    with pytest.raises(ValueError, match="curvature scorer only"):
        nc.prune_masks(net, "magnitude", 0.5, order="positive")
    with pytest.raises(ValueError, match="missing"):
        nc.prune_masks(net, "curvature", 0.5, scores={"0.weight": scores["0.weight"]})
    with pytest.raises(ValueError, match="shape"):
        nc.prune_masks(net, "curvature", 0.5, scores={**scores, "6.weight": torch.zeros(3)})
    scores["4.weight"][0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        nc.prune_masks(net, "curvature", 0.5, scores=scores)
    with pytest.raises(ValueError, match="takes no options"):
        nc.prune_scores(net, "magnitude", scores=scores)


def test_shared_weights_counted_once():
    lin = nn.Linear(3, 3, bias=False)
    net = nn.Sequential(lin, nn.ReLU(), lin)
    masks = nc.prune_masks(net, "magnitude", 0.5)
    assert list(masks) == ["0.weight"] and int(masks["0.weight"].sum()) == round(0.5 * 9)
