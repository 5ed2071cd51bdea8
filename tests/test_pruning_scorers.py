"""SNIP and SynFlow against hand-derived gradients; SynFlow's conservation law.

References are closed forms written in numpy (no autograd):

* SNIP on ``x -> W2 relu(W1 x + b1) + b2`` with the summed cross-entropy:
  ``dL/dW2 = sum_b (p_b - e_b) h_b^T`` and
  ``dL/dW1 = sum_b ((W2^T (p_b - e_b)) * 1[a_b > 0]) x_b^T``.
* SynFlow on a bias-free ReLU MLP: with all-ones input and ``|W|``, every unit is active,
  ``R = 1^T |W_L| ... |W_1| 1`` and the score of ``W_l[i, j]`` is
  ``(1^T |W_L| ... |W_{l+1}|)_i |W_l[i, j]| (|W_{l-1}| ... |W_1| 1)_j``, so each layer's
  scores sum to R (Tanaka et al. 2020, Theorem 2).
"""
import numpy as np
import pytest
import torch
from torch import nn

import ncurv_lib as nc
from ncurv_lib.pruning.masks import prunable_weights


def test_snip_equals_hand_gradient():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 3))
    x = torch.randn(7, 3)
    y = torch.tensor([0, 1, 2, 2, 1, 0, 1])
    scores = nc.prune_scores(net, "snip", (x, y))

    w1, b1 = net[0].weight.detach().double().numpy(), net[0].bias.detach().double().numpy()
    w2, b2 = net[2].weight.detach().double().numpy(), net[2].bias.detach().double().numpy()
    xs = x.double().numpy()
    a = xs @ w1.T + b1
    h = np.maximum(a, 0)
    z = h @ w2.T + b2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    delta = p - np.eye(3)[y.numpy()]
    g2 = delta.T @ h
    g1 = ((delta @ w2) * (a > 0)).T @ xs
    np.testing.assert_allclose(scores["2.weight"].numpy(), np.abs(g2 * w2), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(scores["0.weight"].numpy(), np.abs(g1 * w1), rtol=1e-10, atol=1e-14)
    assert scores["0.weight"].dtype == torch.float64


def test_snip_chunked_equals_one_batch_and_is_summed_not_mean():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 3 * 3, 3))
    x, y = torch.randn(9, 1, 5, 5), torch.randint(0, 3, (9,))
    full = nc.prune_scores(net, "snip", (x, y))
    chunked = nc.prune_scores(net, "snip", (x, y), batch_size=4)
    half = nc.prune_scores(net, "snip", (torch.cat([x, x]), torch.cat([y, y])))
    for k in full:
        torch.testing.assert_close(chunked[k], full[k], rtol=1e-12, atol=1e-15)
        torch.testing.assert_close(half[k], 2 * full[k], rtol=1e-12, atol=1e-15)


def mlp_no_bias(sizes, seed):
    torch.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, bias=False))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def test_synflow_closed_form_and_conservation_mlp():
    net = mlp_no_bias([5, 7, 6, 4], seed=2)
    scores = nc.prune_scores(net, "synflow")  # input shape from the leading Linear
    ws = [np.abs(p.detach().double().numpy()) for _, p in prunable_weights(net)]
    r = np.ones(4) @ ws[2] @ ws[1] @ ws[0] @ np.ones(5)
    for l, (name, _) in enumerate(prunable_weights(net)):
        left = np.ones(ws[-1].shape[0])
        for w in ws[:l:-1]:
            left = left @ w
        right = np.ones(5)
        for w in ws[:l]:
            right = w @ right
        ref = np.outer(left, right) * ws[l]
        np.testing.assert_allclose(scores[name].numpy(), ref, rtol=1e-12)
        assert abs(scores[name].sum().item() - r) <= 1e-10 * r  # conservation, float64


def test_synflow_conservation_conv_net_and_abs_of_everything():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(2, 3, 3, bias=False), nn.ReLU(),
                        nn.Conv2d(3, 4, 2, stride=2, bias=False), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 2 * 2, 5, bias=False), nn.ReLU(),
                        nn.Linear(5, 3, bias=False))
    with torch.no_grad():
        net[0].weight.mul_(-1)  # negative weights: SynFlow must use |theta|
    scores = nc.prune_scores(net, "synflow", input_shape=(2, 6, 6))
    r_ref = _abs_forward_sum(net, (2, 6, 6))
    for name, s in scores.items():
        assert s.dtype == torch.float64
        assert abs(s.sum().item() - r_ref) <= 1e-10 * r_ref, name


def _abs_forward_sum(net, shape):
    """R of the |theta| network by an explicit float64 forward of copied layers."""
    x = torch.ones((1, *shape), dtype=torch.float64)
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Conv2d):
                x = torch.nn.functional.conv2d(x, m.weight.double().abs(), None, m.stride,
                                               m.padding, m.dilation)
            elif isinstance(m, nn.Linear):
                x = x @ m.weight.double().abs().T
            else:
                x = m(x)
    return x.sum().item()


def test_synflow_uses_abs_buffers_and_eval_mode():
    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.BatchNorm1d(4), nn.ReLU(),
                        nn.Linear(4, 2, bias=False))
    with torch.no_grad():
        net[1].running_mean.copy_(torch.tensor([-1.0, 2.0, -0.5, 0.1]))
        net[1].running_var.copy_(torch.tensor([0.5, 2.0, 1.5, 1.0]))
        net[1].weight.copy_(torch.tensor([-1.0, 0.5, 2.0, -0.3]))
        net[1].bias.copy_(torch.tensor([0.2, -0.4, 0.1, 0.3]))
    net.train()
    scores = nc.prune_scores(net, "synflow")
    # hand computation: h = relu(|g| (|W1| 1 - |mu|) / sqrt(|var| + eps) + |b|), R = 1^T |W2| h
    w1 = net[0].weight.detach().double().abs()
    w2 = net[3].weight.detach().double().abs()
    bn = net[1]
    g = bn.weight.detach().double().abs()
    scale = g / torch.sqrt(bn.running_var.double().abs() + bn.eps)
    a = scale * (w1.sum(1) - bn.running_mean.double().abs()) + bn.bias.detach().double().abs()
    h = a.clamp(min=0)
    ref2 = w2 * h.unsqueeze(0)                      # dR/dW2[i,j] = h_j
    up = (w2.sum(0) * (a > 0) * scale)              # dR/dz1_j
    ref1 = w1 * up.unsqueeze(1)                     # dR/dW1[j,k] = up_j * 1
    torch.testing.assert_close(scores["3.weight"], ref2, rtol=1e-12, atol=0)
    torch.testing.assert_close(scores["0.weight"], ref1, rtol=1e-12, atol=0)
    assert net.training  # caller's mode untouched


@pytest.mark.parametrize("keep", [0.0, 0.013, 0.1, 0.5, 0.91, 1.0])
def test_synflow_iterative_reaches_exact_count(keep):
    net = mlp_no_bias([6, 8, 8, 3], seed=5)
    with torch.no_grad():  # heavy ties: all weights equal in the second layer
        net[2].weight.fill_(0.25)
    n = 6 * 8 + 8 * 8 + 8 * 3
    masks = nc.prune_masks(net, "synflow", keep, iterations=7)
    kept = sum(int(m.sum()) for m in masks.values())
    assert kept == round(keep * n)


def test_synflow_iterative_matches_manual_schedule():
    """Reference loop: rescore the masked |theta| net, keep the top round(rho^((k+1)/n) N)."""
    net = mlp_no_bias([4, 5, 3], seed=6)
    keep, iters = 0.2, 4
    ws = [p.detach().double().abs().numpy() for _, p in prunable_weights(net)]
    n = sum(w.size for w in ws)
    m = [np.ones_like(w, dtype=bool) for w in ws]
    for k in range(iters):
        a, b = ws[0] * m[0], ws[1] * m[1]
        s0 = (np.ones(3) @ b)[:, None] * a            # scores of layer 0: (5, 4)
        s1 = b * (a @ np.ones(4))[None, :]            # scores of layer 1: (3, 5)
        flat = np.concatenate([s0.ravel(), s1.ravel()])
        was = np.concatenate([m[0].ravel(), m[1].ravel()])
        n_keep = round(keep ** ((k + 1) / iters) * n)
        ref_order = sorted(range(n), key=lambda i: (bool(was[i]), flat[i], i))
        keep_flat = np.ones(n, dtype=bool)
        keep_flat[ref_order[:n - n_keep]] = False
        m = [keep_flat[:20].reshape(5, 4), keep_flat[20:].reshape(3, 5)]
    masks = nc.prune_masks(net, "synflow", keep, iterations=iters)
    assert np.array_equal(masks["0.weight"].numpy(), m[0])
    assert np.array_equal(masks["2.weight"].numpy(), m[1])


def test_synflow_float64_separates_what_float32_ties():
    """A deep narrow net whose scores differ by less than float32 resolution."""
    net = mlp_no_bias([2, 2, 2], seed=0).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0 + 1e-9, 1.0], [1.0, 1.0]], dtype=torch.float64))
        net[2].weight.fill_(1.0)
    s = nc.prune_scores(net, "synflow")["0.weight"]
    # score of W1[i, j] = 2 W1[i, j]: float64 keeps 2 (1 + 1e-9) apart from 2
    assert s[0, 0].item() == 2 * (1 + 1e-9) and s[0, 1].item() == 2.0
    masks = nc.prune_masks(net, "synflow", 1 - 1 / 8, iterations=1)
    # a float32 computation would tie all lowest scores and remove flat index 0 instead
    assert masks["0.weight"][0, 0] and not masks["0.weight"][0, 1]


def test_curvature_scorer_from_calibration_inputs():
    """calib= runs parameter_curvature once; masks equal those of the precomputed scores."""
    torch.manual_seed(7)
    net = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    x = torch.randn(3, 4)
    for conv in ("paper", "authors"):
        cfg = nc.CurvatureConfig(convention=conv)
        pre = nc.parameter_curvature(net, x, cfg)
        got = nc.prune_scores(net, "curvature", calib=x, config=cfg)
        assert list(got) == ["0.weight", "2.weight"]
        for k in pre:
            assert torch.equal(got[k], pre[k].double())
        for order in ("positive", "negative"):
            a = nc.prune_masks(net, "curvature", 0.6, calib=x, config=cfg, order=order)
            b = nc.prune_masks(net, "curvature", 0.6, scores=pre, order=order)
            assert all(torch.equal(a[k], b[k]) for k in a)
            removed = torch.cat([pre[k][~a[k]] for k in a])
            kept = torch.cat([pre[k][a[k]] for k in a])
            assert removed.numel() == 35 - round(0.6 * 35)
            if order == "positive":  # highest curvature removed first
                assert removed.min() >= kept.max()
            else:
                assert removed.max() <= kept.min()
