"""Curvature of the edges of one transition on one example (contract §5-§6).

Assembles, for a batch of edges :math:`(u,v)`, the masses
:math:`\\mu_u, \\nu_v`, the two-hop lengths :math:`A_p = C(p,v)`,
:math:`B_s = C(u,s)` and the three-hop lengths :math:`C(p,s)` from the
layer's shared min-plus tables, then :math:`\\kappa = 1 - R/D` with
:math:`R` from :func:`.transport.reduced_ot`. In the paper convention the
edge itself has length :math:`D` inside the paths:

.. math::
    A_p = \\min(\\min_{q \\ne u} w(p,q) + w(q,v),\\; w(p,u) + D), \\quad
    B_s = \\min(\\min_{q \\ne v} w(u,q) + w(q,s),\\; D + w(v,s)),

    C(p,s) = \\min(\\min_{q_1 \\ne u} w(p,q_1) + M_2(q_1,s),\\; w(p,u) + B_s).

In the authors' convention all paths use :math:`w` (plain tables).
The excluded middle node is always adjacent to the pair's end (u -> v, v -> s,
u -> v -> s), so the tables skip their range checks (``adjacent=True``); on
padding slots the value is arbitrary and masked by zero mass.
A point mass :math:`\\mu_u = \\delta_u` is the support :math:`\\{u\\}` with
:math:`A_u = D` and :math:`C(u,s) = B_s` (likewise for :math:`\\nu_v`).
"""
from dataclasses import dataclass
from typing import Optional

import torch

from . import kernels
from .measures import Support, compact
from .parallel import map_threads
from .transport import lp_block, reduced_ot

CHUNK = 1 << 21


@dataclass(frozen=True)
class Tables:
    """Shared min-plus tables of one transition (None at the borders), each with
    ``best(nodes, nodes)`` and ``excluding(nodes, nodes, middle node)``
    (:class:`.distances.DenseTable`, :class:`.conv_distances.ConvTwoHop`, ...):
    ``m2a(p, v)``, ``m2b(s, u)`` (two hops), ``m3(p, s)`` (three hops).
    ``hops`` (optional, with ``m3``): the shortest first hop out of every node p
    (n_p,), the shortest middle hop (a 0-d tensor) and the shortest last hop into
    every node s (n_s,), so :math:`C(p,s) \\ge` their sum (see :func:`_screen`).
    """

    m2a: Optional[object]
    m2b: Optional[object]
    m3: Optional[object]
    hops: Optional[tuple] = None


def _side(sup: Optional[Support], nodes, k):
    """Masses, lengths, ids and delta flags of the supports at rows ``nodes`` (first k
    slots)."""
    if sup is None:
        e = nodes.numel()
        return (torch.ones((e, 1), dtype=torch.float64), torch.full((e, 1), float("inf"),
                dtype=torch.float64), torch.full((e, 1), -1), torch.ones(e, dtype=torch.bool))
    return (sup.mass[nodes, :k], sup.length[nodes, :k], sup.idx[nodes, :k], sup.delta[nodes])


def _a_values(tab, pid, pw, u, v, d, paper):
    if tab.m2a is None:
        return torch.zeros(pid.shape, dtype=torch.float64)
    p = pid.clamp_min(0)
    if paper:
        return torch.minimum(tab.m2a.excluding(p, v[:, None], u[:, None], True), pw + d[:, None])
    return tab.m2a.best(p, v[:, None])


def _b_values(tab, sid, sw, u, v, d, paper):
    if tab.m2b is None:
        return torch.zeros(sid.shape, dtype=torch.float64)
    s = sid.clamp_min(0)
    if paper:
        return torch.minimum(tab.m2b.excluding(s, u[:, None], v[:, None], True), d[:, None] + sw)
    return tab.m2b.best(s, u[:, None])


def c3_values(tab, pid, sid, pw, b, u, paper):
    """Three-hop ground costs :math:`C(p,s)` between the two sides' neighbours.

    Parameters
    ----------
    tab : Tables
    pid, sid : (E, P), (E, S) int64
        Neighbour ids of u and of v (-1 padding; the value there is arbitrary).
    pw : (E, P) float64
        Lengths :math:`w(p, u)`.
    b : (E, S) float64
        Two-hop lengths :math:`B_s = C(u, s)` (:func:`sides`).
    u : (E,) int64
        The edges' sources (the excluded first middle node).
    paper : bool
        Paper convention: the edge itself, of cost D, is a path too (module docstring).

    Returns
    -------
    (E, P, S) float64
        +inf where no three-hop path exists (no table: a border transition).
    """
    shape = (pid.shape[0], pid.shape[1], sid.shape[1])
    if tab.m3 is None:
        return torch.full(shape, float("inf"), dtype=torch.float64)
    p, s = pid.clamp_min(0)[:, :, None], sid.clamp_min(0)[:, None, :]
    if paper:
        return torch.minimum(tab.m3.excluding(p, s, u[:, None, None], True), pw[:, :, None] + b[:, None, :])
    return tab.m3.best(p, s)


def sides(tab, mu_sup, nu_sup, u, v, d, paper, kp, ks, ru=None, rv=None):
    """Masses and two-hop lengths of both sides of edges (u, v), point masses filled in.

    The one place where an edge's side of its transport problem is formed: the
    engine's chunks (:func:`transport_term`, :func:`closed_term`) and the one-edge
    problems of :mod:`.problem` (the finite-alpha reference, the benchmark's
    baseline) all call it.

    Parameters
    ----------
    tab : Tables
    mu_sup, nu_sup : Support or None
        Neighbour supports of the sources' and the targets' layers (None: point masses).
    u, v : (E,) int64
        The edges' sources and targets.
    d : (E,) float64
        Edge costs D.
    paper : bool
    kp, ks : int
        Support slots kept on each side.
    ru, rv : (E,) int64, optional
        The support rows of u and v (default u and v; see :func:`edge_kappa`).

    Returns
    -------
    pm, a, pid, pw, pdelta : (E, kp) x 4, (E,) bool
        Masses of :math:`\\mu_u`, two-hop lengths :math:`A_p = C(p, v)`, neighbour
        ids, lengths :math:`w(p, u)` and the point-mass flags (a point mass is slot 0
        with mass 1 and :math:`A = D`).
    sm, b, sid, sw, sdelta : (E, ks) x 4, (E,) bool
        The same for :math:`\\nu_v`, with :math:`B_s = C(u, s)`.

    ``a`` / ``b`` may be 0 where the mass is 0 (the compiled path).
    """
    ru, rv = (u if ru is None else ru), (v if rv is None else rv)
    pm, pw, pid, pdelta = _side(mu_sup, ru, kp)
    sm, sw, sid, sdelta = _side(nu_sup, rv, ks)
    a = _side_lengths(tab.m2a, mu_sup, u, ru, v, d, paper, kp)
    b = _side_lengths(tab.m2b, nu_sup, v, rv, u, d, paper, ks)
    a = _a_values(tab, pid, pw, u, v, d, paper).clone() if a is None else a
    b = _b_values(tab, sid, sw, u, v, d, paper).clone() if b is None else b
    pm, sm = pm.clone(), sm.clone()
    pm[pdelta] = 0.0
    pm[pdelta, 0] = 1.0
    a[pdelta, 0] = d[pdelta]
    sm[sdelta] = 0.0
    sm[sdelta, 0] = 1.0
    b[sdelta, 0] = d[sdelta]
    return pm, a, pid, pw, pdelta, sm, b, sid, sw, sdelta


def _side_lengths(table, sup, nodes, rows, fixed, d, paper, k):
    """The (E, k) two-hop lengths of one side by :func:`.kernels.side_values` (0 where
    the mass is 0; ``rows``: the support rows of ``nodes``), or None (a point-mass
    side, no numba, no separable table)."""
    if sup is None or not hasattr(table, "side_parts"):
        return None
    parts = table.side_parts(fixed, nodes)
    return None if parts is None else kernels.side_values(sup, rows, parts, d, paper, k)


def closed_term(tab, mu_sup, nu_sup, u, v, d, paper, kp, ks):
    """Upper bound :math:`\\langle\\mu, A\\rangle + \\langle\\nu, B\\rangle - D \\ge R`
    (no three-hop lengths needed) and whether it is exact (a point mass on a side)."""
    pm, a, _, _, pdelta, sm, b, _, _, sdelta = sides(tab, mu_sup, nu_sup, u, v, d, paper, kp, ks)
    a = torch.where(pm > 0, a, torch.zeros_like(a))
    b = torch.where(sm > 0, b, torch.zeros_like(b))
    return (pm * a).sum(dim=1) + (sm * b).sum(dim=1) - d, pdelta | sdelta


def _side_sum(table, sup, nodes, fixed, d, paper):
    """:math:`\\langle m, L\\rangle` of one side by :func:`.kernels.side_sums`: masses of
    ``sup`` at ``nodes`` (the edges' ends on that side), lengths from ``table`` between
    each neighbour and ``fixed`` (the other end, also the excluded middle node);
    ``d`` where ``sup`` is None (a point mass). None when not compiled."""
    if sup is None:
        return d.clone()
    parts = table.side_parts(fixed, nodes) if hasattr(table, "side_parts") else None
    return None if parts is None else kernels.side_sums(sup, nodes, parts, d, paper)


def compiled_closed_term(tab, mu_sup, nu_sup, u, v, d, paper):
    """:func:`closed_term` for every edge at once by :func:`.kernels.side_sums` (no
    (E, K) tensors, no chunks), or None without numba or separable tables."""
    sa = _side_sum(tab.m2a, mu_sup, u, v, d, paper)
    sb = None if sa is None else _side_sum(tab.m2b, nu_sup, v, u, d, paper)
    if sb is None:
        return None
    delta = lambda sup, nodes: (torch.ones(nodes.numel(), dtype=torch.bool) if sup is None
                                else sup.delta[nodes])
    return sa + sb - d, delta(mu_sup, u) | delta(nu_sup, v)


def _screen(tab, pm, a, pid, pdelta, sm, b, sid, sdelta, d, thr):
    """Rows (E, P) and columns (E, S) that can hold a negative reduced cost.

    With :math:`C(p,s) \\ge f_p + \\min(m, D) + g_s` (shortest first, middle and
    last hops, ``tab.hops``), the cost :math:`C(p,s) + D - A_p - B_s` can only be
    below ``-thr`` where :math:`(f_p - A_p) + (g_s - B_s) + \\min(m, D) + D < -thr`;
    a side with a point mass has none (its costs are exactly 0).
    """
    rows, cols = pm > 0, sm > 0
    if tab.hops is not None:
        f, mid, g = tab.hops
        inf = float("inf")
        x = torch.where(rows, f[pid.clamp_min(0)] - a, inf)
        y = torch.where(cols, g[sid.clamp_min(0)] - b, inf)
        base = torch.minimum(mid, d) + d + thr
        rows = x + (y.amin(dim=1) + base)[:, None] < 0
        cols = y + (x.amin(dim=1) + base)[:, None] < 0
    flat = (pdelta | sdelta)[:, None]
    return rows & ~flat, cols & ~flat


def _reduced_costs(tab, pm, a, pid, pw, rows, sm, b, sid, cols, u, d, scale, paper):
    """Masses (E, P'), (E, S') and reduced costs (E, P', S') of the kept rows and
    columns, as tensors (the batched torch path)."""
    ro, rk = compact(rows)
    co, ck = compact(cols)
    pick = lambda z, o: torch.gather(z, 1, o)
    a_c, b_c = pick(a, ro), pick(b, co)
    c3 = c3_values(tab, pick(pid, ro), pick(sid, co), pick(pw, ro), b_c, u, paper)
    c = (c3 + d[:, None, None]) - a_c[:, :, None] - b_c[:, None, :]
    live = rk[:, :, None] & ck[:, None, :]
    c = torch.where(live & (c < -1e-13 * scale[:, None, None]), c, torch.zeros_like(c))
    mu_c = torch.where(rk, pick(pm, ro), torch.zeros_like(a_c))
    nu_c = torch.where(ck, pick(sm, co), torch.zeros_like(b_c))
    return mu_c, nu_c, c


def _compiled_term(tab, parts, u, d, scale, paper, solve, enough):
    """The reduced transport term by :func:`.kernels.edge_bounds` (None without numba or
    without flat three-hop tables); with ``solve``, the kernel solves each LP itself
    (:mod:`.simplex`) and POT any it leaves open (its pivot cap); either way an open
    edge shown by a plan (a cheap one, or one the simplex reached) to cost at most
    ``enough`` (None: -inf) keeps that plan's cost as its upper bound."""
    pm, a, pid, pw, rows, sm, b, sid, cols = parts
    if not _compiled(tab):
        return None
    h, g, code, flat = tab.m3.flat_parts(pid.clamp_min(0), sid.clamp_min(0), u)
    args = (pm, a, pw, rows, h, sm, b, cols, g, code, d, 1e-13 * scale)
    lo, hi, pend, n_open, n_lp = kernels.edge_bounds(args, flat, paper,
                                                     enough, solve)
    lo, hi, pend = torch.from_numpy(lo), torch.from_numpy(hi), torch.from_numpy(pend)
    if solve and pend.any():            # the compiled simplex hit its pivot cap: POT
        k = torch.nonzero(pend).squeeze(1)
        probs = kernels.edge_problems(args, flat, paper, k)
        val = torch.tensor([lp_block(*prob) for prob in probs], dtype=torch.float64)
        lo[k], hi[k], pend[k], n_lp = val, val, False, n_lp + len(probs)
    return lo, hi, pend, n_lp, n_open


def _compiled(tab):
    """Whether :func:`transport_term` runs the compiled kernel on ``tab`` (numba, and flat
    three-hop tables): then no (E, P, S) tensor is formed."""
    return kernels.EDGE_BOUNDS is not None and hasattr(tab.m3, "flat_parts")


def transport_term(tab, mu_sup, nu_sup, u, v, d, paper, kp, ks, solve=True, need=None,
                   ru=None, rv=None):
    """Bounds on :math:`R` for edges ``(u, v)`` with costs ``d`` (all (E,)).

    Three-hop lengths are looked up only on the rows and columns :func:`_screen`
    keeps (the others have reduced cost 0); the reduced transport sees those
    masses, the rest is its dummy row/column. Compiled per edge
    (:mod:`.kernels`) when numba is available, else as batched tensors.
    ``need`` (E,), optional: curvature values that settle the caller's question; an
    edge whose kappa is shown to be at least its ``need`` by an upper bound on R (a
    feasible plan: a cheap one, or, with ``solve``, one the compiled simplex reached
    before the optimum) gets no tighter one. Returns (r_lo, r_hi, pending,
    n_lp, n_not_closed); r_lo == r_hi where exact (with ``solve``, wherever ``need``
    did not settle the edge first). ``ru``, ``rv``: as in :func:`edge_kappa`.
    """
    pm, a, pid, pw, pdelta, sm, b, sid, sw, sdelta = sides(tab, mu_sup, nu_sup, u, v, d,
                                                             paper, kp, ks, ru, rv)
    a = torch.where(pm > 0, a, torch.zeros_like(a))
    b = torch.where(sm > 0, b, torch.zeros_like(b))
    closed = (pm * a).sum(dim=1) + (sm * b).sum(dim=1) - d
    scale = d + a.amax(dim=1) + b.amax(dim=1)
    rows, cols = _screen(tab, pm, a, pid, pdelta, sm, b, sid, sdelta, d, 0.5e-13 * scale)
    lo, hi = torch.zeros_like(closed), torch.zeros_like(closed)
    pending = torch.zeros(closed.shape, dtype=torch.bool)
    e = torch.nonzero(rows.any(dim=1) & cols.any(dim=1)).squeeze(1)
    if not e.numel():
        return closed, closed.clone(), pending, 0, 0
    parts = [z[e] for z in (pm, a, pid, pw, rows, sm, b, sid, cols)]
    enough = None if need is None else ((1.0 - need) * d - closed)[e]
    fast = _compiled_term(tab, parts, u[e], d[e], scale[e], paper, solve, enough)
    if fast is not None:
        lo[e], hi[e], pending[e], n_lp, n_open = fast
        return closed + lo, closed + hi, pending, n_lp, n_open
    mu_c, nu_c, c = _reduced_costs(tab, *parts, u[e], d[e], scale[e], paper)
    lo[e], hi[e], pending[e], n_lp = reduced_ot(mu_c, nu_c, c, solve)
    n_open = int((c < 0).flatten(1).any(dim=1).sum())
    return closed + lo, closed + hi, pending, n_lp, n_open


def _support_sizes(sup, nodes):
    if sup is None:
        return torch.ones(nodes.numel(), dtype=torch.int64)
    return sup.size[nodes]


def _chunks(cu, cv, pairs=True):
    """Edge order and chunks (lo, hi, kp, ks): edges grouped by the powers of two of
    their support sizes, each chunk holding at most CHUNK cost entries
    (kp * ks per edge where the torch path forms (E, P, S) costs, else
    4 (kp + ks): per-slot arrays only, as for the compiled kernel); one chunk when
    all of them padded to the largest sizes fit in CHUNK / 4."""
    kp, ks = int(cu.max()), int(cv.max())
    if cu.numel() * (kp * ks if pairs else 4 * (kp + ks)) <= CHUNK // 4:
        return torch.arange(cu.numel()), [(0, cu.numel(), kp, ks)]
    bu = torch.ceil(torch.log2(cu.to(torch.float64))).to(torch.int64)
    bv = torch.ceil(torch.log2(cv.to(torch.float64))).to(torch.int64)
    key = bu * 64 + bv
    order = torch.argsort(key, stable=True)
    keys, counts = torch.unique_consecutive(key[order], return_counts=True)
    out, lo = [], 0
    for k, c in zip(keys.tolist(), counts.tolist()):
        kp, ks = 1 << (k // 64), 1 << (k % 64)
        step = max(1, CHUNK // (kp * ks if pairs else 4 * (kp + ks)))
        for a in range(lo, lo + c, step):
            b = min(lo + c, a + step)
            e = order[a:b]
            out.append((a, b, int(cu[e].max()), int(cv[e].max())))
        lo += c
    return order, out


def _split(chunks, parts):
    """Chunks for ``parts`` threads (:func:`.parallel.map_threads`): at least ``parts`` where there
    are that many edges, and, with more than one part, none holding more than
    1 / (2 parts) of the work (edges times kp * ks) unless it is a single edge, so
    that the threads finish together; the chunk of several edges with the most
    work is halved until then."""
    chunks = list(chunks)
    work = lambda ch: (ch[1] - ch[0]) * ch[2] * ch[3]
    limit = sum(map(work, chunks)) / (2 * parts) if parts > 1 else float("inf")
    while True:
        several = [i for i, ch in enumerate(chunks) if ch[1] - ch[0] >= 2]
        if not several:
            break
        k = max(several, key=lambda i: work(chunks[i]))
        if len(chunks) >= parts and work(chunks[k]) <= limit:
            break
        lo, hi, kp, ks = chunks[k]
        mid = (lo + hi) // 2
        chunks[k:k + 1] = [(lo, mid, kp, ks), (mid, hi, kp, ks)]
    return sorted(chunks, key=work, reverse=True)         # the most work starts first


def edge_kappa(tab, mu_sup, nu_sup, u, v, d, paper, solve=True, need=None, ru=None, rv=None):
    """:math:`\\kappa = 1 - R/D` for edges (u, v) with costs d, in chunks of similar support sizes
    (``need``: see :func:`transport_term`).

    ``ru``, ``rv`` (optional, (E,)): the rows of ``mu_sup`` / ``nu_sup`` holding the
    distributions of u and v (default u and v). With supports of several examples
    stacked (:func:`.measures.stack_supports`) one call serves edges of all of them,
    the tables being shared.

    Returns
    -------
    k_lo, k_hi : (E,) float64
        Bounds on kappa (equal where exact; always when ``solve`` without ``need``).
    pending : (E,) bool
        Edges whose transport problem was left unsolved.
    n_lp, n_not_closed : int
    """
    k_lo = torch.empty(u.numel(), dtype=torch.float64)
    k_hi, pending = torch.empty_like(k_lo), torch.zeros(u.numel(), dtype=torch.bool)
    n_lp = n_open = 0
    if not u.numel():
        return k_lo, k_hi, pending, 0, 0
    ru, rv = (u if ru is None else ru), (v if rv is None else rv)
    order, chunks = _chunks(_support_sizes(mu_sup, ru), _support_sizes(nu_sup, rv),
                            pairs=not _compiled(tab))
    chunks = _split(chunks, torch.get_num_threads())

    def one(chunk):
        lo, hi, kp, ks = chunk
        e = order[lo:hi]
        return e, transport_term(tab, mu_sup, nu_sup, u[e], v[e], d[e], paper, kp, ks, solve,
                                 None if need is None else need[e], ru[e], rv[e])
    for e, (r_lo, r_hi, pend, k, o) in map_threads(one, chunks):
        k_lo[e], k_hi[e], pending[e] = 1.0 - r_hi / d[e], 1.0 - r_lo / d[e], pend
        n_lp, n_open = n_lp + k, n_open + o
    return k_lo, k_hi, pending, n_lp, n_open


def edge_lower_bounds(tab, mu_sup, nu_sup, u, v, d, paper):
    """Cheap lower bounds :math:`\\kappa \\ge 1 - (\\langle\\mu, A\\rangle + \\langle\\nu, B\\rangle - D)/D`.

    The reduced transport term is never positive, so dropping it bounds
    :math:`R` from above; with a point mass on either side the bound is exact.
    No three-hop lengths and no transport problem are involved.

    Returns
    -------
    k_lo : (E,) float64
    exact : (E,) bool
    """
    k_lo = torch.empty(u.numel(), dtype=torch.float64)
    exact = torch.zeros(u.numel(), dtype=torch.bool)
    if not u.numel():
        return k_lo, exact
    fast = compiled_closed_term(tab, mu_sup, nu_sup, u, v, d, paper)
    if fast is not None:
        return 1.0 - fast[0] / d, fast[1]
    order, chunks = _chunks(_support_sizes(mu_sup, u), _support_sizes(nu_sup, v), pairs=False)
    for lo, hi, kp, ks in chunks:
        e = order[lo:hi]
        r_hi, ex = closed_term(tab, mu_sup, nu_sup, u[e], v[e], d[e], paper, kp, ks)
        k_lo[e], exact[e] = 1.0 - r_hi / d[e], ex
    return k_lo, exact
