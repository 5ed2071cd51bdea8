"""Reduced transport (curvature.transport) against the full LP, serial and threaded."""
import numpy as np
import ot
import pytest
import torch

from ncurv_lib.curvature import transport as T


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


@pytest.mark.parametrize("threads", [1, 2])
def test_reduced_ot_equals_full_lp(threads):
    mu, nu, c = _batch(120, 7, 9, seed=threads)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        val, hi, pending, n_lp = T.reduced_ot(mu, nu, c)
    finally:
        torch.set_num_threads(before)
    assert not pending.any() and torch.equal(val, hi)
    assert n_lp > 2 * T.MIN_LPS_PER_THREAD            # the threaded branch runs when threads=2
    assert np.abs(val.numpy() - np.array(_full_lp(mu, nu, c))).max() <= 1e-10


def test_threads_give_identical_values():
    mu, nu, c = _batch(200, 6, 5, seed=7)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = T.reduced_ot(mu, nu, c)[0]
        torch.set_num_threads(2)
        two = T.reduced_ot(mu, nu, c)[0]
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, two)


def test_bounds_bracket_the_value():
    mu, nu, c = _batch(60, 5, 6, seed=3)
    val = T.reduced_ot(mu, nu, c)[0]
    lo, hi, pending, n_lp = T.reduced_ot(mu, nu, c, solve=False)
    assert n_lp == 0 and pending.any()
    assert (lo <= val + 1e-12).all() and (val <= hi + 1e-12).all()
    assert torch.equal(lo[~pending], val[~pending])


def test_worker_error_reaches_the_caller(monkeypatch):
    mu, nu, c = _batch(100, 6, 6, seed=5)

    def broken(a, b, m):
        raise RuntimeError("simplex failed")
    monkeypatch.setattr(T, "_emd", broken)
    monkeypatch.setattr(T, "lp_threads", lambda: 2)
    with pytest.raises(RuntimeError, match="simplex failed"):
        T.reduced_ot(mu, nu, c)
