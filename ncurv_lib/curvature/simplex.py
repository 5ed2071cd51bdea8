"""Exact transport on small dense problems: the transportation simplex, compiled.

The curvature's transport problems are small (tens of rows and columns) and
there are tens of thousands of them; :func:`transport_value` solves one
without leaving compiled code, so :mod:`.kernels` can solve an edge's problem
straight from the costs it has just formed. POT's network simplex
(:func:`.transport.lp_block`) stays the reference and the fallback.

Method (the u-v or MODI method, e.g. Dantzig 1963, ch. 14): a basis is a
spanning tree of the bipartite row/column graph, ``n + m - 1`` cells, some of
them possibly at flow 0. The initial one comes from the least-cost method
taken row by row. Then, until no cell has a negative reduced cost
:math:`c_{ij} - u_i - v_j` (potentials with :math:`u_i + v_j = c_{ij}` on the
tree), a cell with one enters (block search, as in LEMON's network simplex,
over blocks of about a quarter as many cells as the tree has nodes),
flow moves around the cycle it closes in the tree and a cell of that cycle
whose flow reaches 0 leaves. The tree is kept as linked adjacency lists with
each node's parent, depth and potential; a pivot re-hangs only the subtree
cut off by the leaving cell (its potentials shift by the entering reduced
cost). Before returning, the potentials are recomputed from scratch and every
cell priced again. The value returned is :math:`\\sum c_{ij} x_{ij}` over the
final tree, optimal up to reduced costs of ``-tol``.

A pivot cap guards against cycling on degenerate problems: a problem that
hits it reports failure and its caller falls back to POT.

>>> import numpy as np
>>> a = np.array([0.5, 0.5]); c = np.array([[-1., 0.], [0., -3.]])
>>> transport_value(a, a, c)
(-2.0, True)
"""
import numpy as np

try:
    from numba import njit
except ImportError:                                   # pragma: no cover - optional speed-up
    njit = None

_jit = njit(cache=True, nogil=True) if njit is not None else (lambda f: f)


@_jit
def _initial_tree(a, b, c, bi, bj, bx):
    """A basis by the least-cost method taken row by row: rows in the order of their
    cheapest entry, each sending what it has to its cheapest open columns; every
    step closes exactly one line (its row, or its column; the last open row never
    closes while columns are open, nor the last column), so the ``n + m - 1`` cells
    form a spanning tree."""
    n, m = c.shape
    r, q = a.copy(), b.copy()
    closed = np.zeros(m)                  # +inf on the closed columns
    row_min = np.empty(n)
    for i in range(n):
        row_min[i] = c[i].min()
    n_rows, n_cols, k = n, m, 0
    for i in np.argsort(row_min):
        while True:
            j, low = -1, np.inf
            for s in range(m):
                x = c[i, s] + closed[s]
                better = x < low
                j = s if better else j
                low = x if better else low
            x = min(r[i], q[j])
            bi[k], bj[k], bx[k] = i, j, x
            k += 1
            row_done = r[i] <= q[j]
            r[i] -= x
            q[j] -= x
            if (row_done and n_rows > 1) or n_cols == 1:
                r[i] = 0.0
                n_rows -= 1
                break
            q[j] = 0.0
            closed[j] = np.inf
            n_cols -= 1
    return k


@_jit
def _link(v, slot, head, nxt, prv):
    """Puts ``slot`` at the front of node v's adjacency list."""
    nxt[slot], prv[slot] = head[v], -1
    if head[v] >= 0:
        prv[head[v]] = slot
    head[v] = slot


@_jit
def _unlink(v, slot, head, nxt, prv):
    """Takes ``slot`` out of node v's adjacency list."""
    if prv[slot] >= 0:
        nxt[prv[slot]] = nxt[slot]
    else:
        head[v] = nxt[slot]
    if nxt[slot] >= 0:
        prv[nxt[slot]] = prv[slot]


@_jit
def _hang(q, r, n, c, bi, bj, head, nxt, parent, pcell, depth, pot, stamp, tick, queue):
    """Parent, parent cell, depth and potential of every node of the subtree reached from
    q without passing r (q's parent), by breadth-first search over the adjacency
    lists; slot 2k of cell k sits at its row, 2k + 1 at its column."""
    stamp[r], stamp[q] = tick, tick
    queue[0] = q
    head_q, tail = 0, 1
    while head_q < tail:
        v = queue[head_q]
        head_q += 1
        slot = head[v]
        while slot >= 0:
            k = slot >> 1
            w = n + bj[k] if v < n else bi[k]
            if stamp[w] != tick:
                stamp[w] = tick
                parent[w], pcell[w], depth[w] = v, k, depth[v] + 1
                pot[w] = c[bi[k], bj[k]] - pot[v]
                queue[tail] = w
                tail += 1
            slot = nxt[slot]


@_jit
def _price(n, m, c, pot, tol, ptr, block):
    """Block search by rows (as LEMON's network simplex does by arcs): from row ``ptr``
    on, cyclically, whole rows until at least ``block`` cells are seen; the most
    negative reduced cost below ``-tol`` among them enters, else the search goes
    on. Returns (row, column, next row), row -1 when no cell has one (optimal)."""
    best, i_in, j_in, seen = -tol, -1, -1, 0
    i = ptr
    for _ in range(n):
        u = pot[i]
        for j in range(m):
            red = c[i, j] - u - pot[n + j]
            if red < best:
                best, i_in, j_in = red, i, j
        seen += m
        i = i + 1 if i + 1 < n else 0
        if i_in >= 0 and seen >= block:
            break
    return i_in, j_in, i


@_jit
def _pivot(n, i, j, bi, bj, bx, parent, pcell, depth, cyc, side):
    """Moves flow around the cycle that cell (i, j) closes in the tree: the cells that
    lose flow alternate with those that gain it, starting next to each end; the
    first losing cell whose flow reaches 0 leaves. Returns (leaving cell, whether it
    lies on the row's side of the cycle, between row i and the top of the cycle,
    the amount moved)."""
    x, y = i, n + j
    k = n_x = n_y = 0                     # cells passed from the row's and the column's end
    while x != y:
        if depth[x] >= depth[y]:
            cyc[k], side[k] = pcell[x], n_x % 2 == 0
            n_x += 1
            x = parent[x]
        else:
            cyc[k], side[k] = -1 - pcell[y], n_y % 2 == 0   # negative: the column's side
            n_y += 1
            y = parent[y]
        k += 1
    leave, theta, on_row = -1, np.inf, False
    for t in range(k):
        cell = cyc[t] if cyc[t] >= 0 else -1 - cyc[t]
        if side[t] and bx[cell] < theta:
            leave, theta, on_row = cell, bx[cell], cyc[t] >= 0
    for t in range(k):
        cell = cyc[t] if cyc[t] >= 0 else -1 - cyc[t]
        if side[t]:
            bx[cell] = max(bx[cell] - theta, 0.0)
        else:
            bx[cell] += theta
    return leave, on_row, theta


@_jit
def transport_value(a, b, c, max_pivots=-1):
    """Exact optimal transport value of masses ``a`` (n,), ``b`` (m,) (equal sums) under
    costs ``c`` (n, m), by the transportation simplex.

    Returns
    -------
    (value, ok) : (float, bool)
        ``ok`` False when the pivot cap (default ``50 (n + m) + 1000``) was reached;
        the value is then that of a feasible, maybe not optimal, plan.
    """
    value, status = transport_plan(a, b, c, max_pivots, -np.inf)
    return value, status == OPTIMAL


#: :func:`transport_plan`'s status: optimal, pivot cap reached, stopped at a plan
#: costing at most ``enough``
OPTIMAL, CAPPED, ENOUGH = 0, 1, 2


@_jit
def _finite_max_abs(c):
    """Largest finite ``|c|`` (0 if none)."""
    big = 0.0
    for i in range(c.shape[0]):
        for j in range(c.shape[1]):
            x = abs(c[i, j])
            if x < np.inf:
                big = max(big, x)
    return big


@_jit
def _plan_cost(bi, bj, bx, c):
    value = 0.0
    for k in range(bi.size):
        value += bx[k] * c[bi[k], bj[k]]
    return value


@_jit
def transport_plan(a, b, c, max_pivots, enough):
    """:func:`transport_value` that may stop early: as soon as the current (feasible)
    plan costs at most ``enough`` (-inf: never), it returns that cost with status
    :data:`ENOUGH` -- an upper bound on the optimum that settles a caller who only
    needs to know that the optimum is at most ``enough``.

    The plan's cost is followed through the pivots (each lowers it by the amount
    moved times the entering reduced cost) and recomputed from the tree before it
    is compared with ``enough``.

    A cost of ``+inf`` marks a cell that is not there. The least-cost start must
    then place every row's mass on finite cells (it does when a column with
    finite costs on every row keeps enough room for all the rows' mass, as the
    dummy column of :func:`.kernels._solve_block` does); such cells never enter.

    Returns
    -------
    (value, status) : (float, int)
        status :data:`OPTIMAL`, :data:`CAPPED` (the value of a feasible plan) or
        :data:`ENOUGH`.
    """
    n, m = c.shape
    nodes = n + m
    bi = np.empty(nodes - 1, np.int64)
    bj = np.empty(nodes - 1, np.int64)
    bx = np.empty(nodes - 1)
    _initial_tree(a, b, c, bi, bj, bx)
    head = np.full(nodes, -1, np.int64)
    nxt, prv = np.empty(2 * nodes, np.int64), np.empty(2 * nodes, np.int64)
    for k in range(nodes - 1):
        _link(bi[k], 2 * k, head, nxt, prv)
        _link(n + bj[k], 2 * k + 1, head, nxt, prv)
    parent, pcell, depth = (np.empty(nodes, np.int64), np.empty(nodes, np.int64),
                            np.empty(nodes, np.int64))
    stamp, queue = np.zeros(nodes, np.int64), np.empty(nodes, np.int64)
    pot = np.empty(nodes)
    cyc, side = np.empty(nodes, np.int64), np.empty(nodes, np.bool_)
    tol = 1e-13 * max(_finite_max_abs(c), 1e-300)
    cap = 50 * nodes + 1000 if max_pivots < 0 else max_pivots
    ptr, block = 0, max(nodes // 4, 16)
    tick, ok, fresh = 1, False, True
    parent[0], pcell[0], depth[0], pot[0] = -1, -1, 0, 0.0
    _hang(0, 0, n, c, bi, bj, head, nxt, parent, pcell, depth, pot, stamp, tick, queue)
    running = _plan_cost(bi, bj, bx, c) if enough > -np.inf else np.inf
    for _ in range(cap + 1):
        if running <= enough:
            running = _plan_cost(bi, bj, bx, c)
            if running <= enough:
                return running, ENOUGH
        i, j, ptr = _price(n, m, c, pot, tol, ptr, block)
        if i < 0:
            if fresh:
                ok = True
                break
            tick += 1                     # recompute the potentials from scratch, price again
            _hang(0, 0, n, c, bi, bj, head, nxt, parent, pcell, depth, pot, stamp, tick, queue)
            fresh = True
            continue
        fresh = False
        red = c[i, j] - pot[i] - pot[n + j]
        leave, on_row, theta = _pivot(n, i, j, bi, bj, bx, parent, pcell, depth, cyc, side)
        running += theta * red
        _unlink(bi[leave], 2 * leave, head, nxt, prv)
        _unlink(n + bj[leave], 2 * leave + 1, head, nxt, prv)
        bi[leave], bj[leave], bx[leave] = i, j, theta
        _link(i, 2 * leave, head, nxt, prv)
        _link(n + j, 2 * leave + 1, head, nxt, prv)
        q, r = (i, n + j) if on_row else (n + j, i)
        parent[q], pcell[q], depth[q] = r, leave, depth[r] + 1
        pot[q] = c[i, j] - pot[r]
        tick += 1
        _hang(q, r, n, c, bi, bj, head, nxt, parent, pcell, depth, pot, stamp, tick, queue)
    return _plan_cost(bi, bj, bx, c), OPTIMAL if ok else CAPPED
