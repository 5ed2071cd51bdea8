"""Compiled per-problem loops of the curvature (numba), with torch fallbacks.

The loops are written here as plain Python over numpy arrays and compiled
with numba when it is importable (``ncurv_lib`` does not require it; then
:data:`GREEDY_PLAN`, :data:`EDGE_BOUNDS`, :data:`EDGE_PROBLEMS`,
:data:`SIDE_SUMS`, :data:`SIDE_VALUES` and :data:`PAPER_SUPPORT` are None and
the batched torch code of :mod:`.transport`, :mod:`.edges` and
:mod:`.measures` is used instead):

* :func:`_paper_support_py` / :func:`_compact_py`, the paper convention's
  neighbour distributions of a layer (softmax of :math:`-1/x^2`, tolerance
  cut, kept slots first);
* :func:`_side_sums_py` / :func:`_side_values_py`, the two-hop lengths of one
  side of every edge (and their mass-weighted sums, the cheap bound), read
  straight from the neighbour supports and the shared two-hop tables;
* :func:`_greedy_cost`, the greedy feasible plan of one reduced problem
  (rows by their cheapest entry, each sending its mass to its cheapest
  negative-cost columns while they have capacity) -- an upper bound on the
  transport value, exact when a single row or a single column has negative
  costs;
* :func:`_edge_bounds_py`, the whole reduced problem of a batch of edges:
  each edge's reduced costs :math:`c'(p,s)` are formed from the shared
  three-hop table in a scratch buffer (never as an (E, P, S) tensor), then
  settled exactly (no negative cost, or one row / one column), solved exactly
  by the compiled transportation simplex (:mod:`.simplex`, when solving), or
  bracketed by the dual row/column-minimum bound and the cheaper of the
  independent coupling and the greedy plan; given what bound would do, a
  north-west corner plan (at most P + S costs) may settle an edge first;
* :func:`_edge_problems_py`, the LPs of the edges the simplex left open (its
  pivot cap), written from the same costs for POT. The arithmetic is that of
  :func:`.edges.transport_term`, term by term.

The hot loops pass scalars, not arrays, to the helpers they call per cell:
numba counts references of every array argument of a call.
"""
import numpy as np
import torch

from .simplex import CAPPED, ENOUGH, transport_plan

try:
    from numba import njit
except ImportError:                                   # pragma: no cover - optional speed-up
    njit = None

_jit = njit(cache=True, nogil=True) if njit is not None else (lambda f: f)


def jit(f):
    """``f`` compiled by numba (cached, no GIL), or None without numba."""
    return njit(cache=True, nogil=True)(f) if njit is not None else None


@_jit
def _greedy_cost(cm, mass, cap, row_min):
    """Cost of the greedy plan for costs ``cm`` (P, S) <= 0, row masses ``mass`` (P,),
    column capacities ``cap`` (S,) (consumed) and ``row_min`` (P,) each row's cheapest
    entry (0 where its mass is 0).
    Each row, in the order of its cheapest entry, takes its cheapest negative
    column with capacity left (the first of equal ones), again until its mass is
    placed; every take empties a row or a column, so there are at most P + S
    scans of a row. Leftover mass goes where the cost is 0."""
    n_p, n_s = cm.shape
    order = np.empty(n_p, np.int64)      # the rows with a negative entry, stably sorted
    k = 0
    for p in range(n_p):
        x = row_min[p]
        if x < 0:
            i = k
            while i > 0 and row_min[order[i - 1]] > x:
                order[i] = order[i - 1]
                i -= 1
            order[i] = p
            k += 1
    full = np.zeros(n_s)                 # +inf on the columns without capacity
    for s in range(n_s):
        if cap[s] <= 0:
            full[s] = np.inf
    total = 0.0
    for t in range(k):
        p = order[t]
        m = mass[p]
        while m > 0:
            j, low = -1, 0.0
            for s in range(n_s):
                x = cm[p, s] + full[s]
                better = x < low
                j = s if better else j
                low = x if better else low
            if j < 0:
                break
            take = min(m, cap[j])
            total += take * low
            cap[j] -= take
            m -= take
            if cap[j] <= 0:
                full[j] = np.inf
    return total


def _greedy_plan_py(mu, nu, c, out):
    """``out[e]``: cost of the greedy plan of problem e (mu (E, P), nu (E, S), c (E, P, S))."""
    n_e, n_p, n_s = c.shape
    cap = np.empty(n_s)
    row_min = np.empty(n_p)
    for e in range(n_e):
        cap[:] = nu[e]
        for p in range(n_p):
            row_min[p] = c[e, p].min() if mu[e, p] > 0 else 0.0
        out[e] = _greedy_cost(c[e], mu[e], cap, row_min)


@_jit
def _cost(b3, a3, s3, pp, ap, cj, bj, d, th, paper):
    """Reduced cost of one cell from its three-hop entry (best ``b3``, middle node ``a3``,
    second best ``s3``), row parts ``pp`` = w(p, u), ``ap`` = A_p and column parts
    ``cj`` (the code of the excluded middle node), ``bj`` = B_s; 0 unless below ``th``
    (= -thr). Scalars only, so that the hot loops pass no arrays per cell."""
    v3 = b3
    if paper:
        if a3 == cj:
            v3 = s3
        v3 = min(v3, pp + bj)
    x = (v3 + d) - ap - bj
    return x if x < th else 0.0


@_jit
def _kept(e, pm, a, pw, rows, h, sm, b, cols, g, code, rk, ck):
    """The kept rows of edge e into ``rk`` = (mass, h, w(p, u), A) and its kept columns
    into ``ck`` = (mass, g, code, B); returns their numbers."""
    mass, hk, pk, ak = rk
    cap, gk, code_k, bk = ck
    nr = nc = 0
    for p in range(pm.shape[1]):
        if rows[e, p]:
            mass[nr], hk[nr], pk[nr], ak[nr] = pm[e, p], h[e, p], pw[e, p], a[e, p]
            nr += 1
    for s in range(sm.shape[1]):
        if cols[e, s]:
            cap[nc], gk[nc], code_k[nc], bk[nc] = sm[e, s], g[e, s], code[e, s], b[e, s]
            nc += 1
    return nr, nc


@_jit
def _corner_cost(nr, nc, rk, ck, d, th, best, arg, second, paper):
    """Cost of the north-west corner plan over the kept rows then a dummy row, and the
    kept columns then a dummy column (the mass outside them, at cost 0): a feasible
    plan, so an upper bound on the reduced transport, from at most P + S costs."""
    mass, hk, pk, ak = rk
    cap, gk, code_k, bk = ck
    j, c, total, last = 0, cap[0], 0.0, best.size - 1
    for i in range(nr):
        m = mass[i]
        while m > 0 and j < nc:
            t = min(m, c)
            f = min(max(hk[i] + gk[j], 0), last)
            total += t * _cost(best[f], arg[f], second[f], pk[i], ak[i], code_k[j], bk[j], d,
                               th, paper)
            m -= t
            c -= t
            if c <= 0:
                j += 1
                c = cap[j] if j < nc else 0.0
    return total


@_jit
def _edge_costs(nr, nc, rk, ck, d, th, best, arg, second, paper, r_min, c_min, buf):
    """Reduced costs of an edge's kept rows by kept columns (see :func:`_kept`) into
    ``buf`` (row-major); row and column minima in ``r_min`` / ``c_min``. Returns the
    independent coupling's cost."""
    mass, hk, pk, ak = rk
    cap, gk, code_k, bk = ck
    c_min[:nc] = 0.0
    indep, last = 0.0, best.size - 1
    for i in range(nr):
        hp, pp, ap = hk[i], pk[i], ak[i]
        low, acc, o = 0.0, 0.0, i * nc
        for j in range(nc):
            f = min(max(hp + gk[j], 0), last)
            x = _cost(best[f], arg[f], second[f], pp, ap, code_k[j], bk[j], d, th, paper)
            buf[o + j] = x
            low = min(low, x)
            c_min[j] = min(c_min[j], x)
            acc += cap[j] * x
        r_min[i] = low
        indep += mass[i] * acc
    return indep


@_jit
def _solve_block(nr, nc, rk, ck, r_min, c_min, buf, max_pivots, enough):
    """Exact reduced transport of an edge whose costs :func:`_edge_costs` has put in
    ``buf``, solved by :func:`.simplex.transport_plan` (``max_pivots``: its cap, -1
    for its default; it stops at a plan costing at most ``enough``); returns
    (value, status).

    Every cost is <= 0, so the value is the least cost of a partial plan on the
    negative cells alone (rows sending at most their mass, columns taking at
    most theirs): the rest of the mass can always be placed at cost 0. It is
    posed so: the rows and columns with a negative cost, the other cells absent
    (+inf), a dummy column taking what the rows do not place and a dummy row
    filling what the columns do not take, at cost 0 to everything (about half
    the cells are such zeros, and pricing them only costs pivots). Each dummy
    holds the other side's mass plus as much again to spare (it flows dummy to
    dummy), so that no rounding fills the dummy column before every row is
    placed. Masses are scaled to sum 1, the value back.
    """
    mass, cap = rk[0], ck[0]
    kr = kc = 0
    for i in range(nr):
        kr += r_min[i] < 0
    for j in range(nc):
        kc += c_min[j] < 0
    row_m, col_m = np.empty(kr + 1), np.empty(kc + 1)
    rows, cols = np.empty(kr, np.int64), np.empty(kc, np.int64)
    kr = kc = 0
    for i in range(nr):
        if r_min[i] < 0:
            row_m[kr], rows[kr] = mass[i], i
            kr += 1
    for j in range(nc):
        if c_min[j] < 0:
            col_m[kc], cols[kc] = cap[j], j
            kc += 1
    real_r, real_c = row_m[:kr].sum(), col_m[:kc].sum()
    spare = real_r + real_c
    row_m[kr], col_m[kc] = real_c + spare, real_r + spare
    cost = np.zeros((kr + 1, kc + 1))
    for r in range(kr):
        o = rows[r] * nc
        for q in range(kc):
            x = buf[o + cols[q]]
            cost[r, q] = x if x < 0 else np.inf
    total = row_m.sum()
    value, status = transport_plan(row_m / total, col_m / col_m.sum(), cost, max_pivots,
                                   enough / total)
    return value * total, status


def _scratch(n_p, n_s):
    """Per-call scratch of the kept rows and columns (see :func:`_kept`)."""
    rk = (np.empty(n_p), np.empty(n_p, np.int64), np.empty(n_p), np.empty(n_p))
    ck = (np.empty(n_s), np.empty(n_s, np.int64), np.empty(n_s, np.int64), np.empty(n_s))
    return rk, ck


_SCRATCH = _jit(_scratch)


def _edge_bounds_py(pm, a, pw, rows, h, sm, b, cols, g, code, d, thr, best, arg, second,
                    paper, enough, solve, max_pivots, lo, hi, pend, counts):
    """Bounds on the reduced transport term of each edge e (all arrays row e).

    Rows p (masses ``pm``, two-hop lengths ``a``, edge lengths ``pw`` = w(p, u),
    three-hop row parts ``h``) where ``rows`` is True, columns s (``sm``, ``b``,
    column parts ``g``, middle-node codes ``code``) where ``cols`` is True.
    The three-hop length is ``best[h + g]``; in the paper convention the best
    over middle nodes other than the edge's (``second`` where ``arg`` equals
    ``code``), capped by ``pw + b``. Costs not below ``-thr`` count as 0.
    Writes ``lo``, ``hi`` (equal where exact) and ``pend`` (an LP is needed) and
    ``counts`` = (edges with a negative cost, LPs solved). With ``solve``, an
    edge that needs an LP gets it here (:func:`_solve_block`); it stays pending
    only if that fails (the pivot cap). ``enough[e]`` is an upper
    bound that settles what the caller wants (-inf: none does): where the
    north-west corner plan already costs at most that, no other cost is formed
    (``hi`` is its cost, ``lo`` -inf, the edge stays open); where the independent
    coupling does, the greedy plan of an open problem is skipped; with ``solve``,
    the simplex stops at the first plan that does. An edge so settled has
    ``lo < hi`` (``hi`` that plan's cost) and, with ``solve``, is not pending:
    it needs no LP, being shown not to matter.
    """
    n_e, n_p = pm.shape
    n_s = sm.shape[1]
    buf = np.empty(n_p * n_s)
    rk, ck = _SCRATCH(n_p, n_s)
    c_min, r_min = np.empty(n_s), np.empty(n_p)
    n_open = n_lp = 0
    for e in range(n_e):
        lo[e], hi[e], pend[e] = 0.0, 0.0, False
        nr, nc = _kept(e, pm, a, pw, rows, h, sm, b, cols, g, code, rk, ck)
        if nr == 0 or nc == 0:
            continue
        de, th = d[e], -thr[e]
        if enough[e] > -np.inf:
            corner = _corner_cost(nr, nc, rk, ck, de, th, best, arg, second, paper)
            if corner <= enough[e]:
                lo[e], hi[e], pend[e] = -np.inf, corner, not solve
                continue
        indep = _edge_costs(nr, nc, rk, ck, de, th, best, arg, second, paper, r_min, c_min, buf)
        mass, cap = rk[0], ck[0]
        n_rows, r_dual = 0, 0.0
        for i in range(nr):
            n_rows += r_min[i] < 0
            r_dual += mass[i] * r_min[i]
        if n_rows == 0:
            continue
        n_open += 1
        n_cols, c_dual = 0, 0.0
        for j in range(nc):
            n_cols += c_min[j] < 0
            c_dual += cap[j] * c_min[j]
        if n_rows > 1 and n_cols > 1 and indep <= enough[e]:
            lo[e], hi[e], pend[e] = max(r_dual, c_dual), indep, not solve
            continue
        if n_rows > 1 and n_cols > 1 and solve:
            value, status = _solve_block(nr, nc, rk, ck, r_min, c_min, buf, max_pivots,
                                         enough[e])
            n_lp += status != CAPPED
            if status == CAPPED:
                lo[e], hi[e], pend[e] = max(r_dual, c_dual), indep, True
            elif status == ENOUGH:
                lo[e], hi[e] = max(r_dual, c_dual), value
            else:
                lo[e], hi[e] = value, value
            continue
        greedy = _greedy_cost(buf[:nr * nc].reshape((nr, nc)), mass[:nr], cap[:nc], r_min)
        if n_rows == 1 or n_cols == 1:
            lo[e], hi[e] = greedy, greedy
        else:
            lo[e], hi[e], pend[e] = max(r_dual, c_dual), min(indep, greedy), True
    counts[0], counts[1] = n_open, n_lp


def _edge_problems_py(pm, a, pw, rows, h, sm, b, cols, g, code, d, thr, best, arg, second,
                      paper, sel, off, mu_out, nu_out, cost_out, sizes):
    """The transport problems of edges ``sel``, for an LP: the masses of the rows and
    columns holding a negative reduced cost and the block of costs between them
    (row-major), written from offsets ``off[i]`` = (rows, columns, costs) into
    ``mu_out``, ``nu_out``, ``cost_out``; ``sizes[i]`` = (rows, columns). Arguments
    as :func:`_edge_bounds_py`, whose costs these are, entry for entry."""
    n_p, n_s = pm.shape[1], sm.shape[1]
    buf = np.empty(n_p * n_s)
    rk, ck = _SCRATCH(n_p, n_s)
    c_min, r_min = np.empty(n_s), np.empty(n_p)
    for i in range(sel.size):
        e = sel[i]
        nr, nc = _kept(e, pm, a, pw, rows, h, sm, b, cols, g, code, rk, ck)
        _edge_costs(nr, nc, rk, ck, d[e], -thr[e], best, arg, second, paper, r_min, c_min, buf)
        mass, cap = rk[0], ck[0]
        o_r, o_c, o_m = off[i, 0], off[i, 1], off[i, 2]
        k_r = k_c = 0
        for j in range(nc):
            if c_min[j] < 0:
                nu_out[o_c + k_c] = cap[j]
                k_c += 1
        for r in range(nr):
            if r_min[r] < 0:
                mu_out[o_r + k_r] = mass[r]
                k = 0
                for j in range(nc):
                    if c_min[j] < 0:
                        cost_out[o_m + k_r * k_c + k] = buf[r * nc + j]
                        k += 1
                k_r += 1
        sizes[i, 0], sizes[i, 1] = k_r, k_c


@_jit
def _side_row(idx, mass, length, n, x, c, y_node, c_node, best, arg, second, d, paper, row):
    """``row[k]``: the two-hop length of slot k of node n's distribution (``idx`` /
    ``mass`` / ``length``, kept slots first, -1 after), 0 where its mass is 0; returns
    the number of slots filled. The length sits at ``best[x + y_node[k]]``; in the
    paper convention over middle nodes other than the edge's (``second`` where
    ``arg`` equals ``c - c_node[k]``), capped by the path through the edge,
    ``length + d``."""
    last = best.size - 1
    n_k = min(row.size, idx.shape[1])
    for k in range(n_k):
        p = idx[n, k]
        if p < 0:
            return k
        val = 0.0
        if mass[n, k] > 0:
            f = min(max(x + y_node[p], 0), last)
            val = best[f]
            if paper:
                if arg[f] == c - c_node[p]:
                    val = second[f]
                val = min(val, length[n, k] + d)
        row[k] = val
    return n_k


def _side_sums_py(idx, mass, length, delta, nodes, x_e, c_e, y_node, c_node, best, arg, second,
                  d, paper, out):
    """``out[e]``: :math:`\\langle\\mu, A\\rangle` of one side of edge e, straight from the
    support arrays (no (E, K) tensor): the distribution of ``nodes[e]`` weighs the
    lengths of :func:`_side_row` (``x = x_e[e]``, ``c = c_e[e]``); a point mass
    (``delta``) gives ``d[e]``."""
    row = np.empty(idx.shape[1])
    for e in range(nodes.size):
        n = nodes[e]
        if delta[n]:
            out[e] = d[e]
            continue
        k = _side_row(idx, mass, length, n, x_e[e], c_e[e], y_node, c_node, best, arg, second,
                      d[e], paper, row)
        tot = 0.0
        for j in range(k):
            tot += mass[n, j] * row[j]
        out[e] = tot


def _side_values_py(idx, mass, length, delta, nodes, x_e, c_e, y_node, c_node, best, arg,
                    second, d, paper, out):
    """``out[e]`` (E, K'): the lengths that :func:`_side_sums_py` weighs, 0 where the
    mass is 0; a point mass has its length ``d[e]`` in slot 0."""
    for e in range(nodes.size):
        n = nodes[e]
        out[e, :] = 0.0
        if delta[n]:
            out[e, 0] = d[e]
        else:
            _side_row(idx, mass, length, n, x_e[e], c_e[e], y_node, c_node, best, arg, second,
                      d[e], paper, out[e])


def _paper_support_py(idx, lens, x, tol, mass, counts):
    """Pass 1 of the paper convention's neighbour distributions (contract §4): ``mass``
    (n, K) gets each row's masses, a softmax of :math:`-1/x^2` over its neighbours with
    x > 0, masses below ``tol`` times the row's largest set to 0 and the rest
    renormalised; ``counts`` (n,) the kept slots. Returns the largest count (at
    least 1). The arithmetic is that of :func:`.measures._paper_mass` and
    :func:`.measures.neighbour_support`, slot by slot."""
    n, k = idx.shape
    widest = 1
    for r in range(n):
        top = -np.inf
        for j in range(k):
            q = idx[r, j]
            v = x[q] if q >= 0 else 0.0
            logit = -1.0 / v ** 2 if v > 0 else -np.inf
            mass[r, j] = logit
            top = max(top, logit)
        if top == -np.inf:
            top = 0.0
        tot = 0.0
        for j in range(k):
            z = mass[r, j] - top
            e = np.exp(z) if z > -760.0 else 0.0     # exp underflows to 0 below -745.2
            mass[r, j] = e
            tot += e
        tot = tot if tot > 0 else 1.0
        big = 0.0
        for j in range(k):
            mass[r, j] /= tot
            big = max(big, mass[r, j])
        kept, tot = 0, 0.0
        for j in range(k):
            m = mass[r, j]
            if m > 0 and m >= tol * big:
                kept += 1
                tot += m
            else:
                mass[r, j] = 0.0
        tot = max(tot, 1e-300)
        for j in range(k):
            mass[r, j] /= tot
        counts[r] = kept
        widest = max(widest, kept)
    return widest


def _compact_py(idx, lens, mass, out_idx, out_mass, out_len):
    """Pass 2: each row's kept slots (mass > 0) first, in slot order, into the
    (n, K') outputs (-1, 0, inf after them)."""
    n, k = idx.shape
    for r in range(n):
        o = 0
        for j in range(k):
            if mass[r, j] > 0:
                out_idx[r, o], out_mass[r, o], out_len[r, o] = idx[r, j], mass[r, j], lens[r, j]
                o += 1
        for j in range(o, out_idx.shape[1]):
            out_idx[r, j], out_mass[r, j], out_len[r, j] = -1, 0.0, np.inf


PAPER_SUPPORT = jit(_paper_support_py)
COMPACT = jit(_compact_py)


def paper_support(idx, lens, x, tol):
    """(idx, mass, length, counts) of the paper convention's neighbour distributions of
    :func:`.measures.neighbour_support`, as tensors, by :data:`PAPER_SUPPORT` and
    :data:`COMPACT`; None without numba."""
    if PAPER_SUPPORT is None:
        return None
    idx_n, lens_n = np.ascontiguousarray(idx.numpy()), np.ascontiguousarray(lens.numpy())
    mass = np.empty(idx_n.shape)
    counts = np.empty(idx_n.shape[0], dtype=np.int64)
    width = PAPER_SUPPORT(idx_n, lens_n, np.ascontiguousarray(x.numpy()), float(tol), mass,
                          counts)
    shape = (idx_n.shape[0], width)
    out_idx, out_mass, out_len = np.empty(shape, np.int64), np.empty(shape), np.empty(shape)
    COMPACT(idx_n, lens_n, mass, out_idx, out_mass, out_len)
    return (torch.from_numpy(out_idx), torch.from_numpy(out_mass), torch.from_numpy(out_len),
            torch.from_numpy(counts))


#: pivot cap of the compiled simplex inside :data:`EDGE_BOUNDS` (-1: its default); an LP
#: that reaches it is left open and solved by POT (tests lower it to check that path)
MAX_PIVOTS = -1
GREEDY_PLAN = jit(_greedy_plan_py)
SIDE_SUMS = jit(_side_sums_py)
SIDE_VALUES = jit(_side_values_py)
EDGE_BOUNDS = jit(_edge_bounds_py)
EDGE_PROBLEMS = jit(_edge_problems_py)


def greedy_plan(mu, nu, c):
    """Costs (E,) of the greedy plans of float64 arrays mu (E, P), nu (E, S), c (E, P, S),
    or None when numba is not available."""
    if GREEDY_PLAN is None:
        return None
    out = np.empty(c.shape[0])
    GREEDY_PLAN(np.ascontiguousarray(mu), np.ascontiguousarray(nu), np.ascontiguousarray(c), out)
    return out


def edge_bounds(arrays, table, paper, enough=None, solve=False):
    """Run :data:`EDGE_BOUNDS` on torch tensors ``arrays`` = (pm, a, pw, rows, h, sm, b,
    cols, g, code, d, thr) and ``table`` = (best, arg, second) (flat), with ``enough``
    (E,) (default -inf: every open problem gets its greedy plan, every LP is solved
    to the end) and ``solve`` (solve the LPs here); returns (lo, hi, pending, n_open,
    n_lp) as numpy arrays and two ints, or None without numba."""
    if EDGE_BOUNDS is None:
        return None
    args = [np.ascontiguousarray(x.numpy()) for x in (*arrays, *table)]
    n = args[0].shape[0]
    enough = np.full(n, -np.inf) if enough is None else np.ascontiguousarray(enough.numpy())
    lo, hi, pend = np.empty(n), np.empty(n), np.empty(n, dtype=np.bool_)
    counts = np.zeros(2, dtype=np.int64)
    EDGE_BOUNDS(*args, bool(paper), enough, bool(solve), MAX_PIVOTS, lo, hi, pend, counts)
    return lo, hi, pend, int(counts[0]), int(counts[1])


def side_sums(sup, nodes, parts, d, paper):
    """:math:`\\langle m, L\\rangle` (E,) of one side of each edge by :data:`SIDE_SUMS`:
    ``sup`` a :class:`.measures.Support`, ``nodes`` (E,) the side's end nodes, ``parts``
    = (x_e, c_e, y_node, c_node, (best, arg, second)) from a table's ``side_parts``;
    None without numba."""
    if SIDE_SUMS is None:
        return None
    x_e, c_e, y_node, c_node, table = parts
    arrays = (sup.idx, sup.mass, sup.length, sup.delta, nodes, x_e, c_e, y_node, c_node, *table)
    args = [np.ascontiguousarray(x.numpy()) for x in arrays]
    out = np.empty(nodes.numel())
    SIDE_SUMS(*args, np.ascontiguousarray(d.numpy()), bool(paper), out)
    return torch.from_numpy(out)


def side_values(sup, nodes, parts, d, paper, k):
    """The (E, k) lengths of one side by :data:`SIDE_VALUES` (arguments as
    :func:`side_sums`), 0 where the mass is 0; None without numba."""
    if SIDE_VALUES is None:
        return None
    x_e, c_e, y_node, c_node, table = parts
    arrays = (sup.idx, sup.mass, sup.length, sup.delta, nodes, x_e, c_e, y_node, c_node, *table)
    args = [np.ascontiguousarray(x.numpy()) for x in arrays]
    out = np.empty((nodes.numel(), k))
    SIDE_VALUES(*args, np.ascontiguousarray(d.numpy()), bool(paper), out)
    return torch.from_numpy(out)


def edge_problems(arrays, table, paper, sel):
    """The LPs of edges ``sel`` (arguments as :func:`edge_bounds`) by
    :data:`EDGE_PROBLEMS`: a list of (row masses, column masses, cost block) numpy
    arrays, only the rows and columns with a negative cost; None without numba."""
    if EDGE_PROBLEMS is None:
        return None
    args = [np.ascontiguousarray(x.numpy()) for x in (*arrays, *table)]
    rows, cols = arrays[3][sel].sum(dim=1), arrays[7][sel].sum(dim=1)
    ends = torch.stack([rows.cumsum(0), cols.cumsum(0), (rows * cols).cumsum(0)], dim=1)
    off = torch.cat([torch.zeros((1, 3), dtype=ends.dtype), ends[:-1]]).numpy()
    total = ends[-1].tolist()
    mu, nu, cost = np.empty(total[0]), np.empty(total[1]), np.empty(total[2])
    sizes = np.empty((sel.numel(), 2), dtype=np.int64)
    EDGE_PROBLEMS(*args, bool(paper), np.ascontiguousarray(sel.numpy()), off, mu, nu, cost,
                  sizes)
    return [(mu[o[0]:o[0] + r], nu[o[1]:o[1] + c], cost[o[2]:o[2] + r * c].reshape(r, c))
            for o, (r, c) in zip(off.tolist(), sizes.tolist())]
