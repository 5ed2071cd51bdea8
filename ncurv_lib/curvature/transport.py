"""Reduced optimal transport for the curvature (contract §6); the only module importing ``ot``.

This is the batched torch path and POT's side: with numba, the bound kernel
solves the LPs itself (:mod:`.kernels`, :mod:`.simplex`) and sends here only
those its simplex leaves open.

For an edge :math:`(u,v)` with cost :math:`D`, neighbour distributions
:math:`\\mu` (support :math:`p`) and :math:`\\nu` (support :math:`s`),
:math:`A_p = C(p,v)`, :math:`B_s = C(u,s)` and three-hop lengths
:math:`C(p,s)`, the exact :math:`\\alpha \\to 1` transport term is

.. math::
    R = \\langle\\mu, A\\rangle + \\langle\\nu, B\\rangle - D
        + \\mathrm{OT}(\\mu, \\nu; c'), \\qquad
    c'(p,s) = \\min(0,\\, C(p,s) + D - A_p - B_s) \\le 0,

and :math:`\\kappa = 1 - R/D`. Where :math:`c' = 0` everywhere, OT = 0 (closed
form). Rows and columns of :math:`c'` that are all zero merge into one dummy
row/column, so the LP only sees where a three-hop path beats the bypass; a
single active row (or column) is solved greedily, exactly. Without an LP, the
value is bracketed by the row/column-minimum dual bound and the cheaper of two
feasible plans (the independent coupling and a greedy plan).

>>> import torch
>>> mu = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
>>> c = torch.tensor([[[-1., 0.], [0., -3.]]], dtype=torch.float64)
>>> reduced_ot(mu, mu, c)[0].tolist()
[-2.0]
>>> c = torch.tensor([[[-3., -2.], [-2., 0.]]], dtype=torch.float64)
>>> lo, hi, pending, n_lp = reduced_ot(mu, mu, c, solve=False)
>>> lo.tolist(), hi.tolist(), pending.tolist()
([-2.5], [-1.75], [True])
>>> reduced_ot(mu, mu, c)[0].tolist()
[-2.0]
"""
import numpy as np
import ot
import torch

from .kernels import greedy_plan

NUM_ITER_MAX = 10_000_000
OPTIMAL = 1


def _network_simplex():
    """POT's network simplex without ``ot.emd2``'s per-call checks (3-4x faster on
    the small problems here), or None when this POT version does not expose it
    with the signature of POT 0.9.7 (then ``ot.emd2`` is used)."""
    try:
        from ot.lp._network_simplex import emd_c
        one = np.ones(1)
        emd_c(one, one, np.zeros((1, 1)), 10, 1, None, None)
    except (ImportError, TypeError, ValueError):
        return None
    return emd_c


EMD_C = _network_simplex()


def _fill(mass, cap_s):
    """Amounts (E, K) that ``mass`` (E,) puts on slots of capacities ``cap_s`` (E, K),
    filling them in order."""
    before = torch.cumsum(cap_s, dim=1) - cap_s
    return torch.minimum((mass[:, None] - before).clamp_min(0), cap_s)


def _greedy_row(mass_row, cost_row, cap):
    """Send ``mass_row`` (E,) through costs (E, K) sorted ascending, capacities (E, K)."""
    cost_s, order = torch.sort(cost_row, dim=1)
    return (_fill(mass_row, torch.gather(cap, 1, order)) * cost_s).sum(dim=1)


def _emd(a, b, m):
    """Exact OT value of masses a, b under cost m (numpy), shifted to be >= 0."""
    low = m.min()
    if EMD_C is not None:
        _, val, _, _, code = EMD_C(a, b, np.ascontiguousarray(m - low), NUM_ITER_MAX, 1, None, None)
        if code != OPTIMAL:
            raise RuntimeError(f"POT network simplex did not solve the transport exactly "
                               f"(result code {code})")
        return float(val) + low * float(a.sum())
    val, log = ot.emd2(a, b, m - low, numItermax=NUM_ITER_MAX, log=True)
    if log.get("warning"):
        raise RuntimeError(f"POT emd2 did not solve the transport exactly: {log['warning']}")
    return float(val) + low * float(a.sum())


def _lp(mu, nu, c, rows, cols):
    """One reduced LP with a dummy row/column for the inactive mass."""
    return lp_block(mu[rows], nu[cols], c[np.ix_(rows, cols)])


def lp_block(a, b, m):
    """OT value of the reduced problem with active row masses ``a``, column masses
    ``b`` and costs ``m`` between them (numpy); the mass outside them (1 minus their
    sum) goes to a dummy row/column at cost 0."""
    ra, rb = 1.0 - a.sum(), 1.0 - b.sum()
    if ra > 1e-14:
        a = np.append(a, ra)
        m = np.vstack([m, np.zeros((1, m.shape[1]))])
    if rb > 1e-14:
        b = np.append(b, rb)
        m = np.hstack([m, np.zeros((m.shape[0], 1))])
    a, b = a / a.sum(), b / b.sum()
    return _emd(a, b, np.ascontiguousarray(m))


def _greedy_plan(mu, nu, c):
    """Cost of a feasible plan (an upper bound on OT(mu, nu; c) for c <= 0): rows in the
    order of their cheapest entry, each sends its mass to its cheapest columns while
    they have capacity left; what is left over goes where the cost is 0.
    Compiled (:mod:`.kernels`) when numba is available."""
    fast = greedy_plan(mu.numpy(), nu.numpy(), c.numpy())
    if fast is not None:
        return torch.from_numpy(fast)
    rows = torch.argsort(c.amin(dim=2), dim=1)
    cost, col = torch.sort(torch.gather(c, 1, rows[:, :, None].expand_as(c)), dim=2)
    mass = torch.gather(mu, 1, rows)
    n_active = int((cost[:, :, 0] < 0).sum(dim=1).max())
    cap, total = nu.clone(), torch.zeros(c.shape[0], dtype=c.dtype)
    for i in range(n_active):
        cr, ix = cost[:, i], col[:, i]
        alloc = _fill(mass[:, i], torch.where(cr < 0, torch.gather(cap, 1, ix), 0.0))
        total += (alloc * cr).sum(dim=1)
        cap.scatter_add_(1, ix, -alloc)
    return total


def reduced_ot(mu, nu, c, solve=True):
    """:math:`\\mathrm{OT}(\\mu, \\nu; c')` for a batch of non-positive costs.

    Parameters
    ----------
    mu : (E, P) float64
        Source masses (rows sum to 1; padding has mass 0).
    nu : (E, S) float64
        Target masses.
    c : (E, P, S) float64
        Costs :math:`c' \\le 0`, 0 on padding.
    solve : bool
        If False, problems that need an LP are not solved; their bounds are
        returned instead (``lo``: row/column-minimum dual bound, ``hi``: the
        cheaper of the independent coupling :math:`\\langle \\mu\\otimes\\nu,
        c'\\rangle` and :func:`_greedy_plan`).

    Returns
    -------
    lo, hi : (E,) float64
        Bounds on the OT value (equal where it is exact).
    pending : (E,) bool
        Problems left unsolved (only when ``solve`` is False).
    n_lp : int
        Number of transport problems sent to ``ot.emd2``.
    """
    neg = c < 0
    row_act, col_act = neg.any(dim=2), neg.any(dim=1)
    n_rows, n_cols = row_act.sum(dim=1), col_act.sum(dim=1)
    value = torch.zeros(c.shape[0], dtype=torch.float64)
    one_r = n_rows == 1
    if one_r.any():
        r = row_act[one_r].to(torch.int8).argmax(dim=1)
        e = torch.nonzero(one_r).squeeze(1)
        value[one_r] = _greedy_row(mu[e, r], c[e, r, :], nu[one_r])
    one_c = (n_cols == 1) & ~one_r
    if one_c.any():
        s = col_act[one_c].to(torch.int8).argmax(dim=1)
        e = torch.nonzero(one_c).squeeze(1)
        value[one_c] = _greedy_row(nu[e, s], c[e, :, s], mu[one_c])
    many_mask = (n_rows > 1) & (n_cols > 1)
    many = torch.nonzero(many_mask).squeeze(1)
    lo, hi = value, value.clone()
    if not many.numel():
        return lo, hi, many_mask & False, 0
    if not solve:
        cm, mm, nm = c[many], mu[many], nu[many]
        rows = (mm * cm.min(dim=2).values).sum(dim=1)
        cols = (nm * cm.min(dim=1).values).sum(dim=1)
        lo[many] = torch.maximum(rows, cols)
        hi[many] = torch.minimum(torch.einsum("ep,eps,es->e", mm, cm, nm),
                                 _greedy_plan(mm, nm, cm))
        return lo, hi, many_mask, 0
    mu_n, nu_n, c_n = mu[many].numpy(), nu[many].numpy(), c[many].numpy()
    ra, ca = row_act[many].numpy(), col_act[many].numpy()
    value[many] = torch.tensor([
        _lp(mu_n[i], nu_n[i], c_n[i], np.nonzero(ra[i])[0], np.nonzero(ca[i])[0])
        for i in range(many.numel())], dtype=torch.float64)
    return value, value.clone(), many_mask & False, int(many.numel())
