"""Compiled per-problem loops of the transport step (numba), with a torch fallback.

The greedy feasible plan of :func:`.transport._greedy_plan` walks the active
rows of each problem in order; written as a batched torch loop it launches a
dozen tensor operations per row and dominated the transport bounds. Here each
problem is one tight loop. Without numba (``ncurv_lib`` does not require it
to be importable) :data:`GREEDY_PLAN` is None and the torch version is used;
both give a feasible plan's cost, the upper bound the engine needs.
"""
import numpy as np

try:
    from numba import njit
except ImportError:                                   # pragma: no cover - optional speed-up
    njit = None


def _greedy_plan_py(mu, nu, c, out):
    """For each problem e: rows by their cheapest entry (stable), each row sends its
    mass to its cheapest negative-cost columns while they have capacity; the cost
    of the plan goes to ``out[e]`` (leftover mass goes where the cost is 0)."""
    n_e, n_p, n_s = c.shape
    cap = np.empty(n_s)
    row_min = np.empty(n_p)
    neg = np.empty(n_s, dtype=np.int64)
    vals = np.empty(n_s)
    for e in range(n_e):
        for p in range(n_p):
            row_min[p] = c[e, p].min() if mu[e, p] > 0 else 0.0
        cap[:] = nu[e]
        total = 0.0
        for p in np.argsort(row_min, kind="mergesort"):
            if row_min[p] >= 0:
                break
            k = 0
            for s in range(n_s):                      # the row's negative entries only
                if c[e, p, s] < 0 and cap[s] > 0:
                    neg[k] = s
                    vals[k] = c[e, p, s]
                    k += 1
            mass = mu[e, p]
            for j in np.argsort(vals[:k], kind="mergesort"):
                s = neg[j]
                take = min(mass, cap[s])
                total += take * vals[j]
                cap[s] -= take
                mass -= take
                if mass <= 0:
                    break
        out[e] = total


GREEDY_PLAN = njit(cache=True, nogil=True)(_greedy_plan_py) if njit is not None else None


def greedy_plan(mu, nu, c):
    """Costs (E,) of the greedy plans of float64 arrays mu (E, P), nu (E, S), c (E, P, S),
    or None when numba is not available."""
    if GREEDY_PLAN is None:
        return None
    out = np.empty(c.shape[0])
    GREEDY_PLAN(np.ascontiguousarray(mu), np.ascontiguousarray(nu), np.ascontiguousarray(c), out)
    return out
