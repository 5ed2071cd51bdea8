"""The engine's core: a prepared model, its supports, and one transition's edges solved.

Everything :mod:`.api` (``edge_curvature``), :mod:`.params`
(``parameter_curvature``) and :mod:`.problem` (one edge's transport problem)
share lives here, once:

* :func:`prepare_model` -> :class:`PreparedModel`: the layer chain, one
  :class:`.graph.Transition` per weighted layer, the forward values and the
  activities of the examples, and the caches of distance tables;
* :func:`example_supports`: the neighbour distributions of every node layer on
  one example (contract §4);
* :func:`edge_setup` -> :class:`EdgeSet`: the edges' costs :math:`D` (§5) and
  special values (§6) on one example;
* :func:`build_tables` / :func:`layer_tables`: the min-plus tables of a
  transition (§5);
* :func:`layer_kappa` (bounds or exact values of a transition's edges) and
  :func:`layer_bounds` (their cheap lower bounds).

The curvature of an edge is :math:`\\kappa = 1 - R/D` (contract §6), with
:math:`R` the reduced transport of :mod:`.edges`.

>>> import torch, torch.nn as nn
>>> from ncurv_lib.curvature.api import CurvatureConfig, Stats
>>> torch.manual_seed(0) and None
>>> m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
>>> cfg = CurvatureConfig()
>>> mdl = prepare_model(m, torch.randn(5, 3), cfg)
>>> mu, nu = example_supports(cfg, mdl, 0)
>>> k_lo, k_hi, pending = layer_kappa(cfg, mdl, 0, 1, mu, nu, Stats())
>>> k_lo.shape, bool((k_lo == k_hi).all()), bool(pending.any())
(torch.Size([8]), True, False)
"""
import time
from dataclasses import dataclass, field
from typing import Optional, Union

import torch

from .activations import check_finite, forward_values
from .chain import layer_chain
from .conv_distances import ConvThreeHop, ConvTwoHop, three_hop_eligible, two_hop_eligible
from .distances import DenseTable, Transposed, three_hop, two_hop
from .edges import Tables, edge_kappa, edge_lower_bounds
from .graph import transition
from .measures import activity, neighbour_support

FULL_TABLE_ENTRIES = 1 << 24
FULL_TABLE_WORK = 1 << 32


@dataclass(frozen=True)
class PreparedModel:
    """A model made ready for the engine, for some examples.

    Attributes
    ----------
    chain : Chain
        The validated layer chain (:func:`.chain.layer_chain`).
    fw : Forward
        Node values and :math:`\\beta` of every node layer, (N, n_l) each
        (:func:`.activations.forward_values`).
    trs : list of Transition
        One per weighted layer (:func:`.graph.transition`).
    xs : list of (N, n_l) tensors
        Activities :math:`x` of every node layer (:func:`.measures.activity`).
    tables : dict
        Transition -> :class:`.edges.Tables` shared by all examples (filled by
        :func:`layer_tables`; independent of the examples).
    conv : dict
        Offset tables between convolutions (:func:`build_tables`).
    """

    chain: object
    fw: object
    trs: list
    xs: list
    tables: dict = field(default_factory=dict)
    conv: dict = field(default_factory=dict)


def prepare_model(model, x, cfg=None, like=None):
    """Layer chain, transitions, forward values of ``x`` and (empty) table caches.

    Parameters
    ----------
    model : torch.nn.Sequential
    x : (N, *input_shape) tensor
        Moved to ``cfg.device``; the forward pass runs in ``cfg.dtype``.
    cfg : CurvatureConfig, optional
        Its ``device`` and ``dtype`` (default: cpu, float64).
    like : PreparedModel, optional
        The same model prepared for other examples: lends its chain, transitions
        and tables (they do not depend on the examples).

    Returns
    -------
    PreparedModel

    Raises
    ------
    UnsupportedModelError, ValueError
        An unsupported model, non-finite values, or examples whose shape does not
        match ``like``'s.
    """
    device = "cpu" if cfg is None else cfg.device
    dtype = torch.float64 if cfg is None else cfg.dtype
    chain = layer_chain(model) if like is None else like.chain
    x = x.to(device=device) if torch.is_tensor(x) else x
    check_finite(chain, x)
    fw = forward_values(chain, x, dtype=dtype)
    if like is not None:
        if fw.shapes != like.fw.shapes:
            raise ValueError(f"examples of shape {tuple(x.shape[1:])} do not match the "
                             f"prepared model's {like.fw.shapes[0]}")
        return PreparedModel(chain=chain, fw=fw, trs=like.trs,
                             xs=[activity(v) for v in fw.values], tables=like.tables,
                             conv=like.conv)
    trs = [transition(s.module, fw.shapes[k] if not s.flatten_before else (fw.values[k].shape[1],))
           for k, s in enumerate(chain.stages)]
    return PreparedModel(chain=chain, fw=fw, trs=trs, xs=[activity(v) for v in fw.values])


def example_supports(cfg, mdl, n):
    """Neighbour distributions of every node layer on example ``n`` (contract §4).

    Parameters
    ----------
    cfg : CurvatureConfig
    mdl : PreparedModel
    n : int

    Returns
    -------
    mu : list of (Support or None), one per node layer
        ``mu[l]``: the distributions of layer l's nodes as sources (over their
        in-neighbours in layer l - 1); None for the input layer.
    nu : list of (Support or None), one per node layer
        ``nu[l]``: as targets (over their out-neighbours in layer l + 1); None for
        the input and the output layer.
    """
    nd, conv, tol = cfg.neural_distribution, cfg.convention, cfg.mass_tol
    trs, xs = mdl.trs, mdl.xs
    mu = [None] + [neighbour_support(tr.in_idx, tr.in_len, xs[k][n], conv, nd, tol)
                   for k, tr in enumerate(trs[:-1])]
    nu = [None] + [neighbour_support(tr.out_idx, tr.out_len, xs[k + 2][n], conv, nd, tol)
                   for k, tr in enumerate(trs[1:])] + [None]
    return mu, nu


def edge_costs(cfg, act, length, bu, bv, hidden_u, hidden_v):
    """Edge costs :math:`D` per contract §5.

    Parameters
    ----------
    cfg : CurvatureConfig
    act : {"relu", "tanh"}
        The model's hidden activation.
    length : (E,) float64
        Edge lengths :math:`w = 1/|W|`.
    bu, bv : (E,) float64
        :math:`\\beta` of the sources and of the targets.
    hidden_u, hidden_v : bool
        Whether the sources / targets are hidden neurons.

    Returns
    -------
    (E,) tensor of ``cfg.dtype``
        ``inf`` where the denominator is 0.

    >>> from ncurv_lib.curvature.api import CurvatureConfig
    >>> one = torch.ones(2, dtype=torch.float64)
    >>> edge_costs(CurvatureConfig(), "relu", 2 * one, one, torch.tensor([1., 0.]),
    ...            True, True).tolist()
    [2.0, inf]
    """
    w = length.to(cfg.dtype)
    if not cfg.neural_cost:
        return w.clone()
    inf = torch.full_like(w, float("inf"))
    if cfg.convention == "paper":
        den = torch.minimum(bu, bv) if act == "relu" else bv
    elif act == "relu":
        return w.clone()
    else:
        den = torch.minimum(bu, bv) if (hidden_u and hidden_v) else bv
    return torch.where(den > 0, w / torch.where(den > 0, den, torch.ones_like(den)), inf)


def special_values(cfg, act, t, n_t, src, dst, d, xs, n):
    """Edges with a Def. 8 special value (contract §6).

    Parameters
    ----------
    cfg : CurvatureConfig
    act : {"relu", "tanh"}
    t, n_t : int
        The transition and the number of transitions.
    src, dst : (E,) int64
        The edges' sources and targets.
    d : (E,) float64
        Edge costs (:func:`edge_costs`).
    xs : list of (N, n_l) tensors
        Activities (:attr:`PreparedModel.xs`).
    n : int or (E,) int64
        The example (of each edge).

    Returns
    -------
    special : (E,) bool
    value : (E,) float64
        The special value (1 on input/output edges, 2 on hidden ones), where ``special``.
    """
    first, last = t == 0, t + 1 == n_t
    val = torch.full_like(d, 1.0 if (first or last) else 2.0)
    if cfg.convention == "paper":
        return ~torch.isfinite(d), val
    if act != "relu" or not cfg.neural_cost:
        return torch.zeros_like(d, dtype=torch.bool), val
    dead = torch.zeros_like(d, dtype=torch.bool)
    if not last:
        dead |= xs[t + 1][n, dst] == 0
    if not first:
        dead |= xs[t][n, src] == 0
    return dead, val


def authors_fix(cfg, act, t, n_t, k_lo, k_hi, pending):
    """Authors, ReLU: raw values within 1e-6 of 1 on hidden edges become 2 (contract §6).

    For unsolved edges (``pending``) only the upper bound moves (to at least 2
    when the interval meets the band), so both bounds stay valid.

    Parameters
    ----------
    cfg : CurvatureConfig
    act : {"relu", "tanh"}
    t, n_t : int
        The transition and the number of transitions.
    k_lo, k_hi : (E,) float64
        Bounds on the raw values.
    pending : (E,) bool

    Returns
    -------
    k_lo, k_hi : (E,) float64
        Unchanged outside the authors' ReLU hidden transitions.
    """
    if not (cfg.convention == "authors" and act == "relu" and cfg.neural_cost and 0 < t < n_t - 1):
        return k_lo, k_hi
    two = torch.full_like(k_lo, 2.0)
    band_lo, band_hi = (k_lo - 1.0).abs() <= 1e-6, (k_hi - 1.0).abs() <= 1e-6
    meets = (k_lo <= 1.0 + 1e-6) & (k_hi >= 1.0 - 1e-6)
    new_lo = torch.where(band_lo & ~pending, two, k_lo)
    new_hi = torch.where(pending, torch.where(meets, torch.maximum(k_hi, two), k_hi),
                         torch.where(band_hi, two, k_hi))
    return new_lo, new_hi


@dataclass(frozen=True)
class EdgeSet:
    """Edges of one transition on one example (or one example per edge), with their
    costs and special values: what every use of an edge starts from.

    Attributes
    ----------
    t : int
        The transition.
    n : int or (E,) int64
        The example (of each edge).
    edges : (E,) int64 or None
        Positions in the transition (None: all of them, in order).
    src, dst : (E,) int64
        Sources u and targets v.
    d : (E,) float64
        Edge costs :math:`D` (:func:`edge_costs`).
    special : (E,) bool
        Edges with a Def. 8 special value (:func:`special_values`).
    value : (E,) float64
        That value, where ``special``.
    """

    t: int
    n: Union[int, torch.Tensor]
    edges: Optional[torch.Tensor]
    src: torch.Tensor
    dst: torch.Tensor
    d: torch.Tensor
    special: torch.Tensor
    value: torch.Tensor


def edge_setup(cfg, mdl, n, t, edges=None):
    """Costs and special values of edges of transition ``t`` on example ``n``.

    Parameters
    ----------
    cfg : CurvatureConfig
    mdl : PreparedModel
    n : int or (E,) int64
        The example, or one per edge of ``edges``.
    t : int
    edges : (E,) int64, optional
        Positions in the transition (default: all of its edges).

    Returns
    -------
    EdgeSet
    """
    tr, act, n_t = mdl.trs[t], mdl.chain.activation, len(mdl.trs)
    if edges is None:
        src, dst, length = tr.src, tr.dst, tr.length
    else:
        src, dst, length = tr.src[edges], tr.dst[edges], tr.length[edges]
    bu, bv = mdl.fw.beta[t][n, src], mdl.fw.beta[t + 1][n, dst]
    d = edge_costs(cfg, act, length, bu, bv, t > 0, t + 1 < n_t)
    special, value = special_values(cfg, act, t, n_t, src, dst, d, mdl.xs, n)
    return EdgeSet(t=t, n=n, edges=edges, src=src, dst=dst, d=d, special=special, value=value)


def _rows_of(sup, nodes, n, full):
    """Table rows (node ids) and node -> row map: every node (``full``), else the
    supports of ``nodes`` (all nodes of ``sup`` if None)."""
    if full:
        return torch.arange(n), None
    idx = sup.idx if nodes is None else sup.idx[torch.unique(nodes)]
    ids = torch.unique(idx[idx >= 0])
    ids = ids if ids.numel() else torch.zeros(1, dtype=torch.int64)
    loc = torch.full((n,), 0, dtype=torch.int64)
    loc[ids] = torch.arange(ids.numel())
    return ids, loc


def _conv_two_hop(conv, trs, t):
    """Model-wide :class:`ConvTwoHop` of transitions t, t+1 (built once, kept in ``conv``)."""
    if ("2", t) not in conv:
        conv[("2", t)] = ConvTwoHop(trs[t], trs[t + 1])
    return conv[("2", t)]


def build_tables(cfg, trs, t, mu_sup, nu_sup, u=None, v=None, full=False, conv=None):
    """Shared min-plus tables of transition ``t`` (contract §5).

    Between unpadded convolutions they are translation-invariant offset tables
    (:mod:`.conv_distances`, cached in ``conv``); otherwise dense, over every
    node (``full``: valid for every example) or restricted to the supports of
    source nodes ``u`` and target nodes ``v`` (all of a layer's if None).

    Parameters
    ----------
    cfg : CurvatureConfig
    trs : list of Transition
    t : int
    mu_sup, nu_sup : Support or None
        Supports of layer t's nodes as sources and of layer t + 1's as targets
        (None: point masses, no table on that side).
    u, v : (E,) int64, optional
        Restrict dense tables to these nodes' supports.
    full : bool
        Dense tables over every node (then ``u``, ``v`` are ignored).
    conv : dict, optional
        Cache of offset tables (:attr:`PreparedModel.conv`).

    Returns
    -------
    Tables
    """
    conv = {} if conv is None else conv
    m2a = m2b = m3 = yz = dense_b = None
    if mu_sup is not None:
        rows_p, p_loc = _rows_of(mu_sup, u, trs[t - 1].n_in, full)
        if two_hop_eligible(trs[t - 1], trs[t]):
            m2a = _conv_two_hop(conv, trs, t - 1)
        else:
            m2a = DenseTable(two_hop(rows_p, trs[t - 1].out_idx, trs[t - 1].out_len,
                                     trs[t].out_idx, trs[t].out_len, trs[t].n_out), p_loc)
    if nu_sup is not None:
        rows_s, s_loc = _rows_of(nu_sup, v, trs[t + 1].n_out, full)
        if two_hop_eligible(trs[t], trs[t + 1]):
            yz = _conv_two_hop(conv, trs, t)
            m2b = Transposed(yz)
        else:
            dense_b = two_hop(rows_s, trs[t + 1].in_idx, trs[t + 1].in_len,
                              trs[t].in_idx, trs[t].in_len, trs[t].n_in)
            m2b = DenseTable(dense_b, s_loc)
    if m2a is not None and m2b is not None:
        if yz is not None and three_hop_eligible(trs[t - 1], trs[t], trs[t + 1]):
            if ("3", t - 1) not in conv:
                conv[("3", t - 1)] = ConvThreeHop(trs[t - 1], yz)
            m3 = conv[("3", t - 1)]
        else:  # two hops from every node of layer t to the rows s, then one hop before
            to_s = (dense_b.best.T.contiguous() if dense_b is not None else
                    yz.lookup(torch.arange(trs[t].n_in)[:, None], rows_s[None, :])[0])
            m3 = DenseTable(three_hop(rows_p, trs[t - 1].out_idx, trs[t - 1].out_len, to_s),
                            p_loc, s_loc)
    hops = None if m3 is None else (
        trs[t - 1].out_len.min(dim=1).values, trs[t].length.min(),
        trs[t + 1].in_len.min(dim=1).values)
    return Tables(m2a=m2a, m2b=m2b, m3=m3, hops=hops)


def _full_tables_fit(trs, t):
    """Whether the dense full (all-rows) tables of transition ``t`` are small enough
    to build once for all examples (conv offset tables always are)."""
    n = [trs[0].n_in] + [tr.n_out for tr in trs]
    k = lambda tr, side: (tr.out_idx if side == "out" else tr.in_idx).shape[1]
    entries = work = 0
    if t > 0 and not two_hop_eligible(trs[t - 1], trs[t]):
        entries += n[t - 1] * n[t + 1]
        work += n[t - 1] * k(trs[t - 1], "out") * k(trs[t], "out")
    if t + 1 < len(trs) and not two_hop_eligible(trs[t], trs[t + 1]):
        entries += n[t + 2] * n[t]
        work += n[t + 2] * k(trs[t + 1], "in") * k(trs[t], "in")
    if 0 < t < len(trs) - 1 and not three_hop_eligible(trs[t - 1], trs[t], trs[t + 1]):
        entries += n[t - 1] * n[t + 2]
        work += n[t - 1] * k(trs[t - 1], "out") * n[t + 2]
    return entries <= FULL_TABLE_ENTRIES and work <= FULL_TABLE_WORK


def layer_tables(cfg, mdl, t, mu, nu, u=None, v=None):
    """Tables of transition ``t`` for edges (u, v): built once for all examples when
    they fit (kept in ``mdl.tables``), else restricted to this example's supports.

    Parameters
    ----------
    cfg : CurvatureConfig
    mdl : PreparedModel
    t : int
    mu, nu : lists of Support
        The example's supports (:func:`example_supports`).
    u, v : (E,) int64, optional
        Sources and targets the restricted tables must cover (default: all nodes).

    Returns
    -------
    Tables
    """
    if t in mdl.tables:
        return mdl.tables[t]
    if _full_tables_fit(mdl.trs, t):
        mdl.tables[t] = build_tables(cfg, mdl.trs, t, mu[t], nu[t + 1], full=True,
                                     conv=mdl.conv)
        return mdl.tables[t]
    return build_tables(cfg, mdl.trs, t, mu[t], nu[t + 1], u, v, conv=mdl.conv)


def layer_kappa(cfg, mdl, n, t, mu, nu, stats, edges=None, solve=True, need=None):
    """Bounds on the curvature of the edges of transition ``t`` on example ``n``.

    Parameters
    ----------
    cfg : CurvatureConfig
    mdl : PreparedModel
    n : int or (E',) int64
        The example, or the example of each of ``edges``: then ``mu[t]`` and
        ``nu[t + 1]`` hold the supports of all examples stacked
        (:func:`.measures.stack_supports`) and the tables must be shared by all
        (``t in mdl.tables``).
    t : int
    mu, nu : lists (or dicts) of Support
        Supports indexed by node layer (:func:`example_supports`).
    stats : Stats
        Counters, updated (:meth:`.api.Stats.add`).
    edges : (E',) int64, optional
        A subset of the transition's edges (default: all, and then the edges and
        special values are counted in ``stats``).
    solve : bool
        Exact values (else transport bounds without LPs).
    need : (E',) float64, optional
        As in :func:`.edges.transport_term`.

    Returns
    -------
    k_lo, k_hi : (E',) float64
        Equal where exact (always with ``solve`` and no ``need``).
    pending : (E',) bool
        Edges whose transport problem was left unsolved.
    """
    tr, act, n_t = mdl.trs[t], mdl.chain.activation, len(mdl.trs)
    es = edge_setup(cfg, mdl, n, t, edges)
    src, dst, d, special = es.src, es.dst, es.d, es.special
    k_lo, k_hi = es.value.clone(), es.value.clone()
    pending = torch.zeros_like(special)
    reg = torch.nonzero(~special).squeeze(1)
    tic = time.perf_counter()
    if reg.numel():
        sub_u, sub_v = (None, None) if edges is None else (src[reg], dst[reg])
        rows = (None, None)
        if torch.is_tensor(n):
            if t not in mdl.tables:
                raise ValueError(f"transition {t}: examples batched without shared tables")
            rows = (n[reg] * tr.n_in + src[reg], n[reg] * tr.n_out + dst[reg])
        tab = layer_tables(cfg, mdl, t, mu, nu, sub_u, sub_v)
        lo, hi, pend, n_lp, n_open = edge_kappa(tab, mu[t], nu[t + 1], src[reg], dst[reg],
                                                d[reg], cfg.convention == "paper", solve,
                                                None if need is None else need[reg], *rows)
        k_lo[reg], k_hi[reg], pending[reg] = lo, hi, pend
        stats.add(t, lps=n_lp, not_closed=n_open,
                  kp=1 if mu[t] is None else mu[t].idx.shape[1],
                  ks=1 if nu[t + 1] is None else nu[t + 1].idx.shape[1])
    stats.add(t, seconds=time.perf_counter() - tic)
    if edges is None:
        stats.add(t, edges=src.numel(), special=int(special.sum()))
        stats.evaluated += int(reg.numel())
    k_lo, k_hi = authors_fix(cfg, act, t, n_t, k_lo, k_hi, pending | (k_lo != k_hi))
    return k_lo, k_hi, pending


def layer_bounds(cfg, mdl, n, t, mu, nu, stats):
    """Cheap lower bounds on the curvature of every edge of transition ``t`` on example ``n``.

    Parameters
    ----------
    cfg : CurvatureConfig
    mdl : PreparedModel
    n, t : int
    mu, nu : lists of Support
        The example's supports (:func:`example_supports`).
    stats : Stats
        The edges and special values are counted here.

    Returns
    -------
    k_lo : (E,) float64
        :math:`\\kappa \\ge` k_lo (see :func:`.edges.edge_lower_bounds`).
    exact : (E,) bool
        Where k_lo is the value: special values and point masses.
    """
    tr, act, n_t = mdl.trs[t], mdl.chain.activation, len(mdl.trs)
    es = edge_setup(cfg, mdl, n, t)
    special, k_lo = es.special, es.value
    exact = special.clone()
    reg = torch.nonzero(~special).squeeze(1)
    if reg.numel():
        tab = layer_tables(cfg, mdl, t, mu, nu, None, None)
        lo, ex = edge_lower_bounds(tab, mu[t], nu[t + 1], tr.src[reg], tr.dst[reg], es.d[reg],
                                   cfg.convention == "paper")
        k_lo[reg], exact[reg] = lo, ex
    stats.add(t, edges=tr.src.numel(), special=int(special.sum()))
    k_lo, _ = authors_fix(cfg, act, t, n_t, k_lo, k_lo.clone(), ~exact)
    return k_lo, exact
