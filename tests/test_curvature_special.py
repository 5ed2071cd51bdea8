"""Hand-checked values, Def. 8 special values, alpha-independence, aggregation."""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

import ncurv_lib as nc

from reference_lp import orc_plain, reference_curvature, tiny_cnn, tiny_mlp


def clique_bridge(n1, n2):
    """Adjacency of K_n1 and K_n2 joined by the bridge (0, n1)."""
    n = n1 + n2
    adj = np.zeros((n, n))
    adj[:n1, :n1] = 1
    adj[n1:, n1:] = 1
    np.fill_diagonal(adj, 0)
    adj[0, n1] = adj[n1, 0] = 1
    return adj


def test_two_clique_bridge_orc():
    """K3 and K5 joined by a bridge (x, y), alpha = 0, unit weights.

    m_x = 1/3 on {x1, x2, y}; m_y = 1/5 on {y1..y4, x}. Optimal plan: x1 -> x
    (1/5, distance 1), the other 7/15 of x1, x2 -> y-side (distance 3), y -> y1..
    (1/3, distance 1): W = 3/15 + 21/15 + 5/15 = 29/15, kappa = -14/15 = -0.933.
    Two K_n: W = 2/n + 3(n-2)/n, kappa = (4 - 2n)/n (K4-K4: -1).
    """
    assert orc_plain(clique_bridge(3, 5), 0, 3) == pytest.approx(-14 / 15, abs=1e-12)
    assert round(orc_plain(clique_bridge(3, 5), 0, 3), 3) == -0.933
    assert orc_plain(clique_bridge(4, 4), 0, 4) == pytest.approx(-1.0, abs=1e-12)
    assert orc_plain(clique_bridge(6, 6), 0, 6) == pytest.approx((4 - 12) / 6, abs=1e-12)


def chain_net():
    """1 -> 1 -> 2 ReLU net without biases: input a, hidden h, outputs o1, o2."""
    m = nn.Sequential(nn.Linear(1, 1, bias=False), nn.ReLU(), nn.Linear(1, 2, bias=False))
    with torch.no_grad():
        m[0].weight.fill_(2.0)
        m[2].weight.copy_(torch.tensor([[0.5], [-4.0]]))
    return m


def test_hand_checked_chain():
    """x = 1: h = 2, o = (1, -8). Edge (a, h): mu = delta_a (input), nu = delta_{o2}
    (|o2| is the layer maximum, x(o1) = 0). kappa = 1 - C(a, o2)/D with D = 1/2 and
    C(a, o2) = D + 1/4, so kappa = -1/2. Edges into the outputs: mu_h = delta_h (the
    input layer has one neuron, x = 0) and nu = delta -> kappa = 0."""
    ec = nc.edge_curvature(chain_net(), torch.tensor([[1.0]]))
    assert ec["0.weight"][0, 0, 0].item() == pytest.approx(-0.5, abs=1e-12)
    assert torch.equal(ec["2.weight"][0], torch.zeros(2, 1, dtype=torch.float64))


def test_paper_dead_neuron_special_values():
    """x = -1: h is dead (beta = 0, D = inf): input edge -> 1 (Def. 8)."""
    ec = nc.edge_curvature(chain_net(), torch.tensor([[-1.0]]))
    assert ec["0.weight"][0, 0, 0].item() == 1.0
    assert ec["2.weight"][0, :, 0].tolist() == [1.0, 1.0]


def dead_mlp():
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2))
    with torch.no_grad():
        for lin in (m[0], m[2], m[4]):
            lin.weight.copy_(torch.tensor([[1.0, 0.5, -0.3][:lin.in_features]] * lin.out_features)
                             + 0.1 * torch.arange(lin.out_features)[:, None])
            lin.bias.zero_()
        m[2].bias[1] = -100.0   # neuron 1 of the second hidden layer is always dead
    return m


def test_paper_hidden_dead_edges_are_two():
    m, x = dead_mlp(), torch.tensor([[1.0, 2.0]])
    ec = nc.edge_curvature(m, x)
    assert torch.all(ec["2.weight"][0, 1, :] == 2.0)      # hidden -> dead hidden
    assert torch.all(ec["4.weight"][0, :, 1] == 1.0)      # dead hidden -> output


def test_authors_dead_neuron_values():
    """Authors, ReLU: target hidden and dead -> 1 then 2 on hidden edges; source dead on an
    output edge -> 1."""
    m, x = dead_mlp(), torch.tensor([[1.0, 2.0]])
    ec = nc.edge_curvature(m, x, nc.CurvatureConfig(convention="authors"))
    assert torch.all(ec["2.weight"][0, 1, :] == 2.0)
    assert torch.all(ec["4.weight"][0, :, 1] == 1.0)


def test_alpha_independence():
    """kappa_alpha / (1 - alpha) of the full LP is the same for alpha = 0.5, 0.7, 0.9, 0.99,
    and the engine's result does not depend on cfg.alpha."""
    model, x = tiny_mlp("tanh")
    ref = reference_curvature(model, x[:1], alphas=(0.5, 0.7, 0.9, 0.99))
    spread = max(max(r["values"].values()) - min(r["values"].values()) for r in ref)
    assert spread <= 1e-6
    a = nc.edge_curvature(model, x, nc.CurvatureConfig(alpha=0.5))
    b = nc.edge_curvature(model, x, nc.CurvatureConfig(alpha=0.9))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize("convention", ["paper", "authors"])
def test_parameter_score_is_min_over_edges_and_examples(convention):
    cfg = nc.CurvatureConfig(convention=convention)
    for act in ("relu", "tanh"):
        model, x = tiny_cnn(act)
        ec = nc.edge_curvature(model, x, cfg)
        pc = nc.parameter_curvature(model, x, cfg)
        assert list(pc) == list(ec) == ["0.weight", "3.0.weight", "6.weight", "10.weight"]
        for key, e in ec.items():
            w = dict(model.named_parameters())[key]
            assert pc[key].shape == w.shape and pc[key].dtype == torch.float64
            flat = e.reshape(e.shape[0], *w.shape, -1)
            flat = torch.where(torch.isnan(flat), torch.full_like(flat, math.inf), flat)
            expect = flat.amin(dim=-1).amin(dim=0)
            torch.testing.assert_close(pc[key], expect, rtol=0, atol=1e-12)
        assert pc["0.weight"][0, 1, 1, 1] == math.inf     # zero weight: no edge
        assert pc["6.weight"][1, 0] == math.inf


def test_parameter_curvature_skips_lps_but_stays_exact():
    """Bounds let parameter_curvature solve fewer LPs than edge_curvature needs."""
    from ncurv_lib.curvature.api import Stats, curvature_pass
    model, x = tiny_cnn("tanh")
    x = torch.cat([x, x.flip(0) * 0.5, x * 2.0])
    full, part = Stats(), Stats()
    curvature_pass(model, x, nc.CurvatureConfig(), lambda *a: None, stats=full)
    pc = nc.parameter_curvature(model, x, stats=part)
    assert full.lps > 0 and part.lps < full.lps
    ec = nc.edge_curvature(model, x)
    for key, e in ec.items():
        w = pc[key]
        flat = torch.nan_to_num(e.reshape(e.shape[0], *w.shape, -1), nan=math.inf)
        torch.testing.assert_close(w, flat.amin(dim=-1).amin(dim=0), rtol=0, atol=1e-12)


def test_conv_padding_and_zero_weights_are_nan():
    model, x = tiny_cnn("tanh")
    ec = nc.edge_curvature(model, x)
    e = ec["0.weight"]                                   # stride 2, padding 1, 4x4 -> 2x2
    assert e.shape == (2, 3, 2, 3, 3, 2, 2)
    assert torch.isnan(e[:, :, :, 0, :, 0, :]).all()     # kernel row 0 at oy = 0 reads row -1
    assert torch.isnan(e[:, 0, 1, 1, 1]).all()           # zero weight
    real = e[:, 1, 0, 1, 1]                              # centre tap always inside
    assert torch.isfinite(real).all()
    assert torch.isnan(ec["6.weight"][:, 1, :3]).all()
