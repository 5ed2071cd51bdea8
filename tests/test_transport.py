"""Reduced transport (curvature.transport) against the full LP on the complete measures."""
import numpy as np
import ot
import pytest
import torch

from ncurv_lib.curvature import kernels, transport as T


def _batch(n, p, s, seed):
    """Random masses with zero padding and costs <= 0, negative on random blocks."""
    g = torch.Generator().manual_seed(seed)
    mu = torch.rand(n, p, generator=g, dtype=torch.float64)
    nu = torch.rand(n, s, generator=g, dtype=torch.float64)
    mu[:, -1] = 0.0                                   # a padding slot
    mu, nu = mu / mu.sum(1, keepdim=True), nu / nu.sum(1, keepdim=True)
    c = -torch.rand(n, p, s, generator=g, dtype=torch.float64) * 3
    c = torch.where(torch.rand(n, p, s, generator=g) < 0.4, c, torch.zeros_like(c))
    c[:, -1, :] = 0.0
    return mu, nu, c


def _full_lp(mu, nu, c):
    return [ot.emd2(mu[i].numpy(), nu[i].numpy(), c[i].numpy() + 3.0) - 3.0
            for i in range(mu.shape[0])]


@pytest.mark.parametrize("seed", [1, 2])
def test_reduced_ot_equals_full_lp(seed):
    mu, nu, c = _batch(120, 7, 9, seed=seed)
    val, hi, pending, n_lp = T.reduced_ot(mu, nu, c)
    assert not pending.any() and torch.equal(val, hi)
    assert n_lp > 50                        # most problems go to the simplex, not the shortcuts
    assert np.abs(val.numpy() - np.array(_full_lp(mu, nu, c))).max() <= 1e-10


def test_bounds_bracket_the_value():
    mu, nu, c = _batch(60, 5, 6, seed=3)
    val = T.reduced_ot(mu, nu, c)[0]
    lo, hi, pending, n_lp = T.reduced_ot(mu, nu, c, solve=False)
    assert n_lp == 0 and pending.any()
    assert (lo <= val + 1e-12).all() and (val <= hi + 1e-12).all()
    assert torch.equal(lo[~pending], val[~pending])


def test_simplex_failure_is_an_error(monkeypatch):
    """A non-optimal simplex result raises instead of returning a wrong value, on both
    the emd_c path and the ot.emd2 fallback."""
    mu, nu, c = _batch(20, 6, 6, seed=5)
    monkeypatch.setattr(T, "EMD_C", lambda *a: (None, 0.0, None, None, 2))   # max iterations
    with pytest.raises(RuntimeError, match="result code 2"):
        T.reduced_ot(mu, nu, c)
    monkeypatch.setattr(T, "EMD_C", None)
    monkeypatch.setattr(T.ot, "emd2", lambda *a, **k: (0.0, {"warning": "numItermax reached"}))
    with pytest.raises(RuntimeError, match="numItermax reached"):
        T.reduced_ot(mu, nu, c)


@pytest.fixture(params=["compiled", "torch"])
def backend(request, monkeypatch):
    """The greedy plan as the numba kernel and as its torch fallback."""
    if request.param == "torch":
        monkeypatch.setattr(kernels, "GREEDY_PLAN", None)
    else:
        assert kernels.GREEDY_PLAN is not None, "numba is pinned in requirements.txt"
    return request.param


def test_greedy_plan_is_feasible_and_beats_the_independent_coupling(backend):
    """An upper bound (a plan's cost) that is never below the optimum, mostly below
    the independent coupling, and exact when one row carries all negative costs."""
    mu, nu, c = _batch(200, 6, 7, seed=8)
    val = T.reduced_ot(mu, nu, c)[0]
    greedy = T._greedy_plan(mu, nu, c)
    indep = torch.einsum("ep,eps,es->e", mu, c, nu)
    assert (greedy >= val - 1e-12).all()
    assert (greedy < indep - 1e-9).float().mean() > 0.8
    one = c.clone()
    one[:, 1:, :] = 0.0
    torch.testing.assert_close(T._greedy_plan(mu, nu, one), T.reduced_ot(mu, nu, one)[0],
                               rtol=0, atol=1e-14)
    lo, hi, pending, _ = T.reduced_ot(mu, nu, c, solve=False)
    assert (hi <= torch.minimum(indep, greedy) + 1e-15).all() and (hi >= val - 1e-12).all()


def test_compiled_greedy_plan_equals_the_torch_loop(monkeypatch):
    """Same plan (random costs have no ties), on padded batches of several shapes."""
    for n, p, s, seed in [(300, 6, 7, 11), (40, 30, 25, 12)]:
        mu, nu, c = _batch(n, p, s, seed=seed)
        fast = T._greedy_plan(mu, nu, c)
        with monkeypatch.context() as m:
            m.setattr(kernels, "GREEDY_PLAN", None)
            slow = T._greedy_plan(mu, nu, c)
        torch.testing.assert_close(fast, slow, rtol=0, atol=1e-13)
