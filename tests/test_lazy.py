"""Finite-alpha curvature by the complete alpha-lazy LP (ncurv_lib.curvature.lazy).

On [1/2, 1) it must equal the engine's alpha-free value (contract §6); at every
alpha it must equal the independent full LP of tests/reference_lp.py.
"""
import itertools

import numpy as np
import pytest
import torch

import ncurv_lib as nc
from ncurv_lib.curvature.lazy import lazy_edge_curvature, lazy_transport
from ncurv_lib.models import mlp

from reference_lp import reference_curvature, tiny_cnn, tiny_mlp

ENGINE_ALPHAS = (0.5, 0.7, 0.9)
GRID = list(itertools.product(["relu", "tanh"], ["paper", "authors"]))


def random_mlp(act, seed):
    """A random MLP (random depth and widths, one zero weight) and 2 inputs, float64."""
    gen = torch.Generator().manual_seed(seed)
    depth = int(torch.randint(2, 5, (1,), generator=gen))
    sizes = torch.randint(2, 6, (depth + 1,), generator=gen).tolist()
    torch.manual_seed(seed)
    model = mlp(sizes, act).double().eval()
    with torch.no_grad():
        model[0].weight[0, -1] = 0.0
    return model, torch.randn(2, sizes[0], generator=gen, dtype=torch.float64)


def every_edge(ec):
    """(key, index) of every edge of an edge_curvature result (example 0's edge set)."""
    return [(k, idx) for k, v in ec.items() for idx in np.ndindex(*v.shape[1:])
            if not torch.isnan(v[0][idx])]


def engine_and_lazy(model, x, alphas, **kw):
    cfg = nc.CurvatureConfig(**kw)
    ec = nc.edge_curvature(model, x, cfg)
    edges = every_edge(ec)
    engine = np.array([[ec[k][(n,) + idx].item() for k, idx in edges]
                       for n in range(x.shape[0])])
    return engine, lazy_edge_curvature(model, x, edges, alphas, cfg), edges


@pytest.mark.parametrize("act,convention", GRID)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_engine_on_half_to_one(act, convention, seed):
    model, x = random_mlp(act, seed)
    engine, lazy, _ = engine_and_lazy(model, x, ENGINE_ALPHAS, convention=convention)
    assert lazy.shape == engine.shape + (len(ENGINE_ALPHAS),)
    assert np.abs(lazy - engine[:, :, None]).max() <= 1e-6


@pytest.mark.parametrize("nd,ncost", [(False, True), (True, False), (False, False)])
def test_equals_engine_with_ablations(nd, ncost):
    model, x = random_mlp("relu", 3)
    engine, lazy, _ = engine_and_lazy(model, x, ENGINE_ALPHAS, neural_distribution=nd,
                                      neural_cost=ncost)
    assert np.abs(lazy - engine[:, :, None]).max() <= 1e-6


def _reference_error(model, x, alphas, **kw):
    cfg = nc.CurvatureConfig(**kw)
    keys = list(nc.edge_curvature(model, x[:1], cfg))
    ref = reference_curvature(model, x, alphas=alphas, **kw)
    edges = sorted({(keys[int(r["key"])], tuple(r["index"])) for r in ref})
    pos = {e: k for k, e in enumerate(edges)}
    lazy = lazy_edge_curvature(model, x, edges, alphas, cfg)
    return max(abs(lazy[r["n"], pos[(keys[int(r["key"])], tuple(r["index"]))], j] - r["values"][a])
               for r in ref for j, a in enumerate(alphas))


@pytest.mark.parametrize("act,convention", GRID)
def test_equals_reference_lp_at_every_alpha(act, convention):
    """Below 1/2 too: there the full LP is the only definition."""
    model, x = tiny_mlp(act)
    assert _reference_error(model, x, (0.0, 0.2, 0.45, 0.7), convention=convention) <= 1e-6


def test_equals_reference_lp_on_a_cnn():
    model, x = tiny_cnn("tanh")
    assert _reference_error(model, x[:1], (0.3, 0.9)) <= 1e-6


def test_differs_below_half_and_between_conventions():
    """The comparisons above can fail: below 1/2 the LP departs from the engine's
    value, and the other convention's value is far from this one's."""
    model, x = tiny_mlp("tanh")
    engine, lazy, edges = engine_and_lazy(model, x, (0.1, 0.9))
    assert np.abs(lazy[:, :, 0] - engine).max() > 1e-3
    other = lazy_edge_curvature(model, x, edges, (0.9,), nc.CurvatureConfig(convention="authors"))
    assert np.abs(other[:, :, 0] - engine).max() > 1e-3


def test_lazy_transport_shifts_negative_costs():
    cost = np.array([[1.0, 4.0], [2.0, 0.5]])
    mu, nu = np.array([1.0]), np.array([1.0])
    w = lazy_transport(cost, mu, nu, 0.7)   # 0.7 -> (u, v), 0.3 -> (p, s)
    assert w == pytest.approx(0.7 * 1.0 + 0.3 * 0.5, abs=1e-12)
    assert lazy_transport(cost - 1e4, mu, nu, 0.7) == pytest.approx(w - 1e4, abs=1e-8)
    assert lazy_transport(np.array([[3.0]]), np.array([]), np.array([]), 0.2) == 3.0
    with pytest.raises(ValueError, match="finite"):
        lazy_transport(np.array([[1.0, np.inf]]), np.array([]), nu, 0.5)


def test_bad_arguments_are_refused():
    model, x = tiny_mlp("relu")
    with pytest.raises(ValueError, match="alphas"):
        lazy_edge_curvature(model, x, [("0.weight", (0, 0))], [1.0])
    with pytest.raises(ValueError, match="no weighted layer"):
        lazy_edge_curvature(model, x, [("1.weight", (0, 0))], [0.5])
    with pytest.raises(ValueError, match="no edge"):
        lazy_edge_curvature(model, x, [("2.weight", (1, 2))], [0.5])  # a zero weight
    with pytest.raises(ValueError, match="does not fit"):
        lazy_edge_curvature(model, x, [("0.weight", (9, 0))], [0.5])
