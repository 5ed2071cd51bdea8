"""One edge's transport problem, as a value: :class:`EdgeProblem`.

For edge :math:`(u,v)` of transition :math:`t` on example :math:`n`, with cost
:math:`D` (contract §5), the transport problem of Def. 8 is posed between
:math:`\\{u\\} \\cup \\mathrm{supp}\\,\\mu_u` and :math:`\\{v\\} \\cup
\\mathrm{supp}\\,\\nu_v` under the ground costs

.. math::
    C = \\begin{pmatrix} D & B_s \\\\ A_p & C(p,s) \\end{pmatrix}, \\qquad
    A_p = C(p,v),\\; B_s = C(u,s),

and its exact :math:`\\alpha \\to 1` reduction (contract §6) is the transport
between :math:`\\mu_u` and :math:`\\nu_v` of the reduced cost
:math:`c(p,s) = C(p,s) + D - A_p - B_s` (its negative part; see :mod:`.edges`).

Users: the finite-alpha reference (:mod:`.lazy`) and the benchmark's full-LP
baseline (:func:`ncurv_lib.bench.bench_full`). The engine's own hot path
(:func:`.core.layer_kappa`) solves the same problems without forming them one
by one: it works on chunks of edges, by compiled kernels that never build
:math:`C(p,s)`. What every site shares is the set-up, in one place each: the
costs and special values (:func:`.core.edge_setup`), the min-plus tables
(:func:`.core.build_tables`), the masses and two-hop lengths of both sides
(:func:`.edges.sides`) and the three-hop lengths (:func:`.edges.c3_values`).

>>> import torch
>>> from ncurv_lib.models import mlp
>>> from ncurv_lib.curvature.api import CurvatureConfig
>>> from ncurv_lib.curvature.core import example_supports, prepare_model
>>> torch.manual_seed(0) and None
>>> cfg = CurvatureConfig()
>>> mdl = prepare_model(mlp([3, 4, 4, 2]).double().eval(), torch.randn(1, 3), cfg)
>>> mu, nu = example_supports(cfg, mdl, 0)
>>> prob = edge_problem(cfg, mdl, 0, 1, 5, mu, nu)
>>> prob.cost.shape == (1 + prob.mu.numel(), 1 + prob.nu.numel())
True
>>> bool(prob.cost[0, 0] == prob.d)
True
"""
from dataclasses import dataclass

import torch

from .core import build_tables, edge_setup
from .edges import c3_values, sides


@dataclass(frozen=True)
class EdgeProblem:
    """The transport problem of one edge (u, v) of transition ``t`` on example ``n``.

    Attributes
    ----------
    t, n, edge : int
        Transition, example and the edge's position in the transition.
    u, v : int
        Source and target node ids (in node layers t and t + 1).
    d : float
        The edge cost :math:`D` (may be inf).
    special : bool
        The edge has a Def. 8 special value (contract §6), ``special_value``;
        then the transport problem does not enter its curvature.
    special_value : float
    mu : (P,) tensor of ``cfg.dtype``
        Masses of :math:`\\mu_u` on its neighbours of positive mass (empty:
        :math:`\\mu_u = \\delta_u`).
    nu : (S,) tensor of ``cfg.dtype``
        Masses of :math:`\\nu_v` (empty: :math:`\\nu_v = \\delta_v`).
    p_ids, s_ids : (P,), (S,) int64
        Their node ids (layers t - 1 and t + 2).
    cost : (1 + P, 1 + S) tensor of ``cfg.dtype``
        Ground costs: row 0 is u, column 0 is v, then ``p_ids`` and ``s_ids``.
        +inf where no path exists.
    """

    t: int
    n: int
    edge: int
    u: int
    v: int
    d: float
    special: bool
    special_value: float
    mu: torch.Tensor
    nu: torch.Tensor
    p_ids: torch.Tensor
    s_ids: torch.Tensor
    cost: torch.Tensor

    @property
    def reduced_cost(self):
        """(P, S) :math:`c(p,s) = C(p,s) + D - A_p - B_s`: the transport between
        ``mu`` and ``nu`` of its negative part is :math:`R - (\\langle\\mu, A\\rangle
        + \\langle\\nu, B\\rangle - D)` (contract §6, :mod:`.edges`)."""
        c = self.cost
        return (c[1:, 1:] + c[0, 0]) - c[1:, :1] - c[:1, 1:]

    def lazy_masses(self, alpha):
        """The masses of :math:`m_u^\\alpha = \\alpha\\delta_u + (1-\\alpha)\\mu_u` and
        :math:`m_v^\\alpha` over ``cost``'s rows and columns.

        Parameters
        ----------
        alpha : float
            In [0, 1).

        Returns
        -------
        (1 + P,), (1 + S) tensors
            Each sums to 1 (a point-mass side: the single entry 1).
        """
        def side(m):
            if not m.numel():
                return torch.ones(1, dtype=m.dtype)
            z = torch.cat([torch.full((1,), alpha, dtype=m.dtype), (1.0 - alpha) * m])
            return z / z.sum()
        return side(self.mu), side(self.nu)


def edge_problems(cfg, mdl, n, t, edges, mu, nu, tables=None):
    """The transport problems of a batch of edges of transition ``t`` on example ``n``.

    The set-up (costs, tables, both sides) is formed once for the batch, by this
    call; each problem's cost matrix only when the iterator reaches it, its
    three-hop block on its own kept rows and columns (so a large batch never holds
    every cost matrix at once).

    Parameters
    ----------
    cfg : CurvatureConfig
        Convention and switches; ``dtype`` of the values.
    mdl : PreparedModel
        :func:`.core.prepare_model`.
    n, t : int
        Example and transition.
    edges : (E,) int64 or sequence of int
        Positions in the transition.
    mu, nu : lists of Support
        The example's supports (:func:`.core.example_supports`).
    tables : Tables, optional
        The transition's tables (default: built for the batch's supports only,
        :func:`.core.build_tables`).

    Returns
    -------
    iterator of EdgeProblem
        One per edge, in the order of ``edges``.
    """
    edges = torch.as_tensor(edges, dtype=torch.int64).reshape(-1)
    es = edge_setup(cfg, mdl, n, t, edges)
    u, v, d = es.src, es.dst, es.d
    if tables is None:
        tables = build_tables(cfg, mdl.trs, t, mu[t], nu[t + 1], u, v, conv=mdl.conv)
    paper = cfg.convention == "paper"
    kp = 1 if mu[t] is None else mu[t].idx.shape[1]
    ks = 1 if nu[t + 1] is None else nu[t + 1].idx.shape[1]
    pm, a, pid, pw, pdelta, sm, b, sid, _, sdelta = sides(tables, mu[t], nu[t + 1], u, v, d,
                                                          paper, kp, ks)

    def one(i):
        pk, sk = (pm[i] > 0) & ~pdelta[i], (sm[i] > 0) & ~sdelta[i]
        cost = torch.empty((1 + int(pk.sum()), 1 + int(sk.sum())), dtype=cfg.dtype)
        cost[0, 0] = d[i]
        cost[1:, 0] = a[i][pk]
        cost[0, 1:] = b[i][sk]
        if pk.any() and sk.any():
            cost[1:, 1:] = c3_values(tables, pid[i:i + 1, pk], sid[i:i + 1, sk],
                                     pw[i:i + 1, pk], b[i:i + 1, sk], u[i:i + 1], paper)[0]
        return EdgeProblem(t=t, n=n, edge=int(edges[i]), u=int(u[i]), v=int(v[i]),
                           d=float(d[i]), special=bool(es.special[i]),
                           special_value=float(es.value[i]), mu=pm[i][pk].to(cfg.dtype),
                           nu=sm[i][sk].to(cfg.dtype), p_ids=pid[i][pk], s_ids=sid[i][sk],
                           cost=cost)
    return (one(i) for i in range(edges.numel()))


def edge_problem(cfg, mdl, n, t, e, mu, nu, tables=None):
    """The transport problem of edge ``e`` of transition ``t`` on example ``n``.

    See :func:`edge_problems` (a batch of one).

    Returns
    -------
    EdgeProblem
    """
    return next(edge_problems(cfg, mdl, n, t, [int(e)], mu, nu, tables))
