"""Bottlenecks, stable sets and the connectedness of the invariant set (Theorem 1).

With :math:`t = \\theta^2 \\ge 0` the set :math:`P(c) = \\{t \\ge 0 : \\tilde B t = c\\}`
is a convex polyhedron and :math:`H_G(c)` is the union of its square roots over all
sign patterns. Two sign patterns meet where the flipped weights vanish, so

.. math:: H_G(c) \\text{ connected} \\iff \\forall e \\in E\\ \\exists t \\in P(c): t_e = 0,

i.e. :math:`c` lies in the cone spanned by the columns of :math:`\\tilde B` without
column :math:`e` (``cone_test``, an LP). Reading :math:`\\tilde B t = c` as a flow
problem (inputs and outputs glued into one free node) and applying Gale's
feasibility theorem with uncapacitated edges gives the combinatorial form used by
``invariant_set_connected`` (our derivation; the companion paper's exact statement
was not available offline):

* for every **in-bottleneck** :math:`v` (one in-edge) and every set :math:`S` of its
  *pure descendants* (hidden nodes all of whose input paths pass through
  :math:`v`) that is *stable by backward edges* (every in-edge of :math:`S` other
  than :math:`v`'s comes from :math:`S`): :math:`\\sum_{w \\in S} c_w \\le 0`;
* for every **out-bottleneck** :math:`u` (one out-edge) and every set :math:`S` of
  its *pure ancestors* that is *stable by forward edges*:
  :math:`\\sum_{w \\in S} c_w \\ge 0`.

The worst set of each bottleneck is a maximum-weight closure, found by one min cut.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import breadth_first_order

from .graph import DAG
from .incidence import check_balances, incidence_matrix

__all__ = [
    "in_bottlenecks", "out_bottlenecks", "pure_descendants", "pure_ancestors",
    "is_stable", "worst_stable_set", "Violation", "balance_violations",
    "invariant_set_connected", "cone_test", "invariant_set_connected_lp",
]

Violation = namedtuple("Violation", "node kind edge nodes value")
Violation.__doc__ = """A broken balance condition of Theorem 1.

``node`` is the bottleneck, ``kind`` "in" or "out", ``edge`` the index of its single
in-/out-edge (whose sign can never flip), ``nodes`` the worst stable set and
``value`` its balance sum (> 0 for "in", < 0 for "out")."""


def _degrees(G: DAG):
    ea = G.edge_array
    indeg = {v: 0 for v in G.nodes}
    outdeg = {v: 0 for v in G.nodes}
    for u, v in ea.tolist():
        indeg[v] += 1
        outdeg[u] += 1
    return indeg, outdeg


def in_bottlenecks(G: DAG) -> tuple:
    """Hidden nodes with exactly one in-edge.

    >>> in_bottlenecks(DAG(edges=[(0, 1), (1, 2), (0, 2)], inputs=[0], outputs=[2]))
    (1,)
    """
    indeg, _ = _degrees(G)
    return tuple(v for v in G.hidden if indeg[v] == 1)


def out_bottlenecks(G: DAG) -> tuple:
    """Hidden nodes with exactly one out-edge.

    >>> out_bottlenecks(DAG(edges=[(0, 1), (1, 2), (1, 3)], inputs=[0], outputs=[2, 3]))
    ()
    """
    _, outdeg = _degrees(G)
    return tuple(v for v in G.hidden if outdeg[v] == 1)


def _unreached(G: DAG, removed: int, reverse: bool) -> tuple:
    """Hidden nodes not reachable from the inputs (outputs if reverse) avoiding ``removed``."""
    nodes = np.asarray(G.nodes, dtype=np.int64)  # sorted
    n = nodes.size
    ea = G.edge_array
    keep = (ea[:, 0] != removed) & (ea[:, 1] != removed)
    src, dst = np.searchsorted(nodes, ea[keep, 0]), np.searchsorted(nodes, ea[keep, 1])
    if reverse:
        src, dst = dst, src
    roots = np.searchsorted(nodes, np.asarray(G.outputs if reverse else G.inputs, dtype=np.int64))
    src = np.concatenate([src, np.full(roots.size, n)])
    dst = np.concatenate([dst, roots])
    adj = sp.csr_matrix((np.ones(src.size), (src, dst)), shape=(n + 1, n + 1))
    reached = np.zeros(n + 1, dtype=bool)
    reached[breadth_first_order(adj, n, directed=True, return_predecessors=False)] = True
    hidden = np.asarray(G.hidden, dtype=np.int64)
    return tuple(int(v) for v in hidden[~reached[np.searchsorted(nodes, hidden)]])


def pure_descendants(G: DAG, v: int) -> tuple:
    """Hidden nodes all of whose paths from the inputs pass through ``v`` (``v`` included).

    >>> G = DAG(edges=[(0, 1), (1, 2), (1, 3), (2, 3), (0, 3), (3, 4)], inputs=[0], outputs=[4])
    >>> pure_descendants(G, 1), pure_descendants(G, 3)
    ((1, 2), (3,))
    """
    if v not in G.hidden:
        raise ValueError(f"node {v} is not a hidden node")
    return _unreached(G, v, reverse=False)


def pure_ancestors(G: DAG, u: int) -> tuple:
    """Hidden nodes all of whose paths to the outputs pass through ``u`` (``u`` included).

    >>> G = DAG(edges=[(0, 1), (1, 2), (1, 3), (2, 3), (0, 3), (3, 4)], inputs=[0], outputs=[4])
    >>> pure_ancestors(G, 3)
    (1, 2, 3)
    """
    if u not in G.hidden:
        raise ValueError(f"node {u} is not a hidden node")
    return _unreached(G, u, reverse=True)


def is_stable(G: DAG, S, direction: str, ignore_edges=()) -> bool:
    """Whether the hidden set ``S`` is stable by backward or forward edges.

    ``direction="backward"``: every in-edge of ``S`` (not in ``ignore_edges``, a
    list of edge indices) starts in ``S``; ``"forward"``: every out-edge ends in ``S``.

    >>> G = DAG(edges=[(0, 1), (1, 2), (2, 3)], inputs=[0], outputs=[3])
    >>> is_stable(G, [1, 2], "backward", ignore_edges=[0]), is_stable(G, [1, 2], "forward")
    (True, False)
    """
    if direction not in ("backward", "forward"):
        raise ValueError(f"direction must be 'backward' or 'forward', got {direction!r}")
    S = set(S)
    ignored = set(ignore_edges)
    for e, (u, v) in enumerate(G.edges):
        if e in ignored:
            continue
        inner, outer = (v, u) if direction == "backward" else (u, v)
        if inner in S and outer not in S:
            return False
    return True


def _max_closure(nodes, weight, arcs):
    """Maximum of ``sum(weight[S])`` over sets closed under ``arcs`` (i in S => j in S).

    Picard's reduction to a minimum s-t cut (networkx); returns (set, value).
    """
    import networkx as nx

    pos_total = sum(w for w in weight.values() if w > 0)
    if pos_total <= 0:
        return (), 0.0
    net = nx.DiGraph()
    net.add_nodes_from(["s", "t", *nodes])
    for i in nodes:
        if weight[i] > 0:
            net.add_edge("s", i, capacity=weight[i])
        elif weight[i] < 0:
            net.add_edge(i, "t", capacity=-weight[i])
    net.add_edges_from(arcs)  # no capacity attribute = infinite
    cut, (side, _) = nx.minimum_cut(net, "s", "t")
    chosen = tuple(sorted(i for i in side if i != "s"))
    return chosen, float(sum(weight[i] for i in chosen))


def worst_stable_set(G: DAG, c, node: int, kind: str, nonempty: bool = False):
    """Worst balance sum over the stable sets of a bottleneck's pure descendants/ancestors.

    .. math:: \\max_{S \\subseteq PD(v),\\ S \\text{ backward-stable}} c(S)
              \\quad (\\text{kind}=\\text{"in"}), \\qquad
              \\min_{S \\subseteq PA(u),\\ S \\text{ forward-stable}} c(S)
              \\quad (\\text{kind}=\\text{"out"})

    Returns ``(S, value)``; the empty set (value 0) when no set does worse,
    unless ``nonempty`` (then the optimum over non-empty sets, which all
    contain ``node``).

    >>> G = DAG(edges=[(0, 1), (1, 2), (2, 3), (2, 4)], inputs=[0], outputs=[3, 4])
    >>> worst_stable_set(G, [1.0, -3.0], 1, "in")
    ((1,), 1.0)
    """
    c = check_balances(G, c)
    if kind not in ("in", "out"):
        raise ValueError(f"kind must be 'in' or 'out', got {kind!r}")
    members = pure_descendants(G, node) if kind == "in" else pure_ancestors(G, node)
    row = {v: i for i, v in enumerate(G.hidden)}
    sign = 1.0 if kind == "in" else -1.0
    weight = {v: sign * c[row[v]] for v in members}
    bonus = 1.0 + float(np.abs(c).sum()) if nonempty else 0.0  # forces node into S
    weight[node] += bonus
    inside = set(members)
    if kind == "in":  # u in S => its predecessors in S (v's own in-edge excluded)
        arcs = [(v, u) for u, v in G.edges if v in inside and v != node and u in inside]
    else:  # u in S => its successors in S
        arcs = [(u, v) for u, v in G.edges if u in inside and u != node and v in inside]
    chosen, value = _max_closure(members, weight, arcs)
    return chosen, sign * (value - bonus if chosen else value)


def _violations(G: DAG, c, atol: float):
    """Generate the ``Violation`` of every bottleneck whose condition fails."""
    c = check_balances(G, c)
    heads = {v: e for e, (_, v) in enumerate(G.edges)}
    tails = {u: e for e, (u, _) in enumerate(G.edges)}
    for v in in_bottlenecks(G):
        S, val = worst_stable_set(G, c, v, "in")
        if val > atol:
            yield Violation(v, "in", heads[v], S, val)
    for u in out_bottlenecks(G):
        S, val = worst_stable_set(G, c, u, "out")
        if val < -atol:
            yield Violation(u, "out", tails[u], S, val)


def balance_violations(G: DAG, c, atol: float = 1e-9) -> list:
    """All bottlenecks whose balance condition of Theorem 1 fails (by more than ``atol``).

    Returns a list of ``Violation`` (empty iff :math:`H_G(c)` is connected).

    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> [(v.node, v.kind, v.edge, v.value) for v in balance_violations(G, [-1.0])]
    [(2, 'out', 2, -1.0)]
    """
    return list(_violations(G, c, atol))


def invariant_set_connected(G: DAG, c, atol: float = 1e-9) -> bool:
    """Theorem 1: whether :math:`H_G(c) = \\{\\theta : \\tilde B \\theta^2 = c\\}` is connected.

    True iff no bottleneck violates its balance condition (see the module
    docstring); sums within ``atol`` of the boundary count as satisfied. Stops at
    the first violation.

    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> invariant_set_connected(G, [0.5]), invariant_set_connected(G, [-0.5])
    (True, False)
    """
    return next(_violations(G, c, atol), None) is None


def cone_test(G: DAG, c, edge: int) -> bool:
    """LP reference: is there :math:`t \\ge 0` with :math:`t_e = 0` and :math:`\\tilde B t = c`?

    Equivalently, :math:`c` lies in the cone spanned by the columns of
    :math:`\\tilde B` other than column ``edge`` (scipy ``linprog``, HiGHS).

    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> cone_test(G, [-1.0], 0), cone_test(G, [-1.0], 2)
    (True, False)
    """
    c = check_balances(G, c)
    if not 0 <= edge < G.num_edges:
        raise ValueError(f"edge index {edge} out of range [0, {G.num_edges})")
    B = incidence_matrix(G).toarray()
    keep = np.arange(G.num_edges) != edge
    if B.shape[0] == 0:
        return True
    res = linprog(np.zeros(keep.sum()), A_eq=B[:, keep], b_eq=c, bounds=(0, None), method="highs")
    return res.status == 0


def invariant_set_connected_lp(G: DAG, c) -> bool:
    """Connectedness of :math:`H_G(c)` by its definition: ``cone_test`` for every edge.

    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> invariant_set_connected_lp(G, [0.0])
    True
    """
    return all(cone_test(G, c, e) for e in range(G.num_edges))
