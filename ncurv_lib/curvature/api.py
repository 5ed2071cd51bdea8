"""Public API: :class:`CurvatureConfig`, :func:`edge_curvature` (and :func:`.params.parameter_curvature`).

The neural curvature of edge :math:`(u,v)` on example :math:`x` (Def. 8) is

.. math:: \\kappa(u,v,x) = \\lim_{\\alpha\\to 1}
          \\frac{1 - W(m_u^\\alpha, m_v^\\alpha)/D}{1-\\alpha} = 1 - R/D,

exact for every :math:`\\alpha \\in [1/2, 1)` (contract §6). A parameter's
score is the minimum over the examples and the edges it induces (Alg. 1).

>>> import torch, torch.nn as nn
>>> torch.manual_seed(0) and None
>>> m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
>>> ec = edge_curvature(m, torch.randn(5, 3), CurvatureConfig())
>>> ec["0.weight"].shape, ec["2.weight"].shape
(torch.Size([5, 4, 3]), torch.Size([5, 2, 4]))

References
----------
1. Y. Ollivier, Ricci curvature of Markov chains on metric spaces, 2009.
2. Y. Lin, L. Lu, S.-T. Yau, Ricci curvature of graphs, 2011.
3. Tan, Sia, Bogdan, Ivanov, Analyzing neural network information flow using
   differential geometry, arXiv 2601.16366.
"""
import time
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from .activations import check_finite, forward_values
from .chain import layer_chain
from .conv_distances import ConvThreeHop, ConvTwoHop, three_hop_eligible, two_hop_eligible
from .distances import DenseTable, Transposed, three_hop, two_hop
from .edges import Tables, edge_kappa, edge_lower_bounds
from .graph import transition
from .measures import activity, neighbour_support

CONVENTIONS = ("paper", "authors")


@dataclass(frozen=True)
class CurvatureConfig:
    """What to compute (contract §1).

    Parameters
    ----------
    convention : {"paper", "authors"}, default "paper"
    alpha : float, default 0.9
        Laziness for finite-alpha quantities, in [0, 1); the curvature itself
        is the alpha -> 1 limit and does not depend on it.
    neural_distribution : bool, default True
        Activity-based neighbour masses (False: proportional to |W|).
    neural_cost : bool, default True
        Activity-based edge cost (False: D = w).
    device : str, default "cpu"
        Only "cpu" is implemented.
    dtype : torch.dtype, default torch.float64
        Only float64 (exactness is claimed).
    mass_tol : float, default 1e-12
        Neighbour masses below this fraction of a node's largest are dropped.
    """

    convention: str = "paper"
    alpha: float = 0.9
    neural_distribution: bool = True
    neural_cost: bool = True
    device: str = "cpu"
    dtype: torch.dtype = torch.float64
    mass_tol: float = 1e-12

    def __post_init__(self):
        if self.convention not in CONVENTIONS:
            raise ValueError(f"convention must be one of {CONVENTIONS}, got {self.convention!r}")
        if not 0.0 <= float(self.alpha) < 1.0:
            raise ValueError(f"alpha must lie in [0, 1), got {self.alpha}")
        for name in ("neural_distribution", "neural_cost"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if torch.device(self.device).type != "cpu":
            raise ValueError(f"device {self.device!r}: only 'cpu' is implemented")
        if self.dtype != torch.float64:
            raise ValueError(f"dtype must be torch.float64, got {self.dtype}")
        if not 0.0 <= float(self.mass_tol) <= 1e-6:
            raise ValueError(f"mass_tol must lie in [0, 1e-6], got {self.mass_tol}")


@dataclass
class Stats:
    """Counters of one run: edges (all, with a special value), edges given the
    transport bounds without an LP (``bounded``, :func:`.params.parameter_curvature`
    only), edges evaluated exactly, LPs solved (compiled simplex or POT), exactly
    evaluated edges not in closed form."""

    edges: int = 0
    bounded: int = 0
    evaluated: int = 0
    special: int = 0
    lps: int = 0
    not_closed: int = 0
    per_layer: dict = field(default_factory=dict)


def _edge_costs(cfg, act, tr, bu, bv, hidden_u, hidden_v):
    """Edge costs D (E,) per contract §5."""
    w = tr.length
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


def _tables(cfg, trs, t, mu_sup, nu_sup, u=None, v=None, full=False, conv=None):
    """Shared min-plus tables for transition ``t`` (see :class:`.edges.Tables`).

    Between unpadded convolutions they are translation-invariant offset tables
    (:mod:`.conv_distances`, cached in ``conv``); otherwise dense, over every
    node (``full``: valid for every example) or restricted to the supports of
    source nodes ``u`` and target nodes ``v`` (all of a layer's if None).
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


def _supports(cfg, trs, xs, n):
    """mu supports (as sources) and nu supports (as targets) of every node layer."""
    nd, conv, tol = cfg.neural_distribution, cfg.convention, cfg.mass_tol
    mu = [None] + [neighbour_support(tr.in_idx, tr.in_len, xs[k][n], conv, nd, tol)
                   for k, tr in enumerate(trs[:-1])]
    nu = [None] + [neighbour_support(tr.out_idx, tr.out_len, xs[k + 2][n], conv, nd, tol)
                   for k, tr in enumerate(trs[1:])] + [None]
    return mu, nu


def _special(cfg, act, t, n_t, tr, d, xs, n):
    """Edges with a Def. 8 special value: (mask (E,), values (E,))."""
    first, last = t == 0, t + 1 == n_t
    val = torch.full_like(d, 1.0 if (first or last) else 2.0)
    if cfg.convention == "paper":
        return ~torch.isfinite(d), val
    if act != "relu" or not cfg.neural_cost:
        return torch.zeros_like(d, dtype=torch.bool), val
    dead = torch.zeros_like(d, dtype=torch.bool)
    if not last:
        dead |= xs[t + 1][n, tr.dst] == 0
    if not first:
        dead |= xs[t][n, tr.src] == 0
    return dead, val


def _authors_fix(cfg, act, t, n_t, k_lo, k_hi, pending):
    """Authors, ReLU: raw values within 1e-6 of 1 on hidden edges become 2.

    For unsolved edges only the upper bound moves (to at least 2 when the
    interval meets the band), so both bounds stay valid.
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


FULL_TABLE_ENTRIES = 1 << 24
FULL_TABLE_WORK = 1 << 32


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


def _layer_tables(cfg, mdl, t, mu, nu, u, v):
    """Tables of transition ``t``: built once for all examples when they fit
    (kept in ``mdl.tables``), else restricted to this example's supports."""
    if t in mdl.tables:
        return mdl.tables[t]
    if _full_tables_fit(mdl.trs, t):
        mdl.tables[t] = _tables(cfg, mdl.trs, t, mu[t], nu[t + 1], full=True, conv=mdl.conv)
        return mdl.tables[t]
    return _tables(cfg, mdl.trs, t, mu[t], nu[t + 1], u, v, conv=mdl.conv)


@dataclass(frozen=True)
class _Model:
    chain: object
    fw: object
    trs: list
    xs: list
    tables: dict = field(default_factory=dict)
    conv: dict = field(default_factory=dict)


def _prepare(model, x, like=None):
    """Layer chain, transitions, forward values of ``x`` and (empty) table caches of
    ``model``; ``like``, a :class:`_Model` of the same model prepared for other
    examples, lends its chain, transitions and tables (they do not depend on x)."""
    chain = layer_chain(model) if like is None else like.chain
    check_finite(chain, x)
    fw = forward_values(chain, x)
    if like is not None:
        if fw.shapes != like.fw.shapes:
            raise ValueError(f"examples of shape {tuple(x.shape[1:])} do not match the "
                             f"prepared model's {like.fw.shapes[0]}")
        return _Model(chain=chain, fw=fw, trs=like.trs, xs=[activity(v) for v in fw.values],
                      tables=like.tables, conv=like.conv)
    trs = [transition(s.module, fw.shapes[k] if not s.flatten_before else (fw.values[k].shape[1],))
           for k, s in enumerate(chain.stages)]
    return _Model(chain=chain, fw=fw, trs=trs, xs=[activity(v) for v in fw.values])


def _layer(cfg, mdl, n, t, mu, nu, stats, edges=None, solve=True, need=None):
    """Bounds (k_lo, k_hi) and ``pending`` for the edges of transition t on example n.

    ``edges`` (optional (E',) int64) restricts to a subset of the transition's edges;
    ``need`` (optional, one per edge) as in :func:`.edges.transport_term`.
    ``n`` may also be a tensor, the example of each of ``edges``: ``mu[t]`` and
    ``nu[t + 1]`` then hold the supports of all examples stacked
    (:func:`.measures.stack_supports`) and the tables must be shared by all
    (``t in mdl.tables``).
    """
    tr, act, n_t = mdl.trs[t], mdl.chain.activation, len(mdl.trs)
    src, dst = (tr.src, tr.dst) if edges is None else (tr.src[edges], tr.dst[edges])
    sub = tr if edges is None else _Subset(src, dst, tr.length[edges])
    bu, bv = mdl.fw.beta[t][n, src], mdl.fw.beta[t + 1][n, dst]
    d = _edge_costs(cfg, act, sub, bu, bv, t > 0, t + 1 < n_t)
    special, sval = _special(cfg, act, t, n_t, sub, d, mdl.xs, n)
    k_lo, k_hi = sval.clone(), sval.clone()
    pending = torch.zeros_like(special)
    reg = torch.nonzero(~special).squeeze(1)
    layer = stats.per_layer.setdefault(t, dict(edges=0, special=0, lps=0, not_closed=0,
                                               kp=0, ks=0, seconds=0.0))
    tic = time.perf_counter()
    if reg.numel():
        sub_u, sub_v = (None, None) if edges is None else (src[reg], dst[reg])
        rows = (None, None)
        if torch.is_tensor(n):
            if t not in mdl.tables:
                raise ValueError(f"transition {t}: examples batched without shared tables")
            rows = (n[reg] * tr.n_in + src[reg], n[reg] * tr.n_out + dst[reg])
        tab = _layer_tables(cfg, mdl, t, mu, nu, sub_u, sub_v)
        lo, hi, pend, n_lp, n_open = edge_kappa(tab, mu[t], nu[t + 1], src[reg], dst[reg],
                                                d[reg], cfg.convention == "paper", solve,
                                                None if need is None else need[reg], *rows)
        k_lo[reg], k_hi[reg], pending[reg] = lo, hi, pend
        for obj in (layer, stats.__dict__):
            obj["lps"] += n_lp
            obj["not_closed"] += n_open
        layer["kp"] = max(layer["kp"], 1 if mu[t] is None else mu[t].idx.shape[1])
        layer["ks"] = max(layer["ks"], 1 if nu[t + 1] is None else nu[t + 1].idx.shape[1])
    layer["seconds"] += time.perf_counter() - tic
    if edges is None:
        for obj in (layer, stats.__dict__):
            obj["edges"] += src.numel()
            obj["special"] += int(special.sum())
        stats.evaluated += int(reg.numel())
    k_lo, k_hi = _authors_fix(cfg, act, t, n_t, k_lo, k_hi, pending | (k_lo != k_hi))
    return k_lo, k_hi, pending


def _layer_bounds(cfg, mdl, n, t, mu, nu, stats):
    """Cheap lower bounds on the curvature of every edge of transition t on example n.

    Returns (k_lo (E,), exact (E,) bool): exact for special values and point
    masses, else :math:`\\kappa \\ge` k_lo (see :func:`.edges.edge_lower_bounds`).
    """
    tr, act, n_t = mdl.trs[t], mdl.chain.activation, len(mdl.trs)
    bu, bv = mdl.fw.beta[t][n][tr.src], mdl.fw.beta[t + 1][n][tr.dst]
    d = _edge_costs(cfg, act, tr, bu, bv, t > 0, t + 1 < n_t)
    special, k_lo = _special(cfg, act, t, n_t, tr, d, mdl.xs, n)
    exact = special.clone()
    reg = torch.nonzero(~special).squeeze(1)
    if reg.numel():
        tab = _layer_tables(cfg, mdl, t, mu, nu, None, None)
        lo, ex = edge_lower_bounds(tab, mu[t], nu[t + 1], tr.src[reg], tr.dst[reg], d[reg],
                                   cfg.convention == "paper")
        k_lo[reg], exact[reg] = lo, ex
    for obj in (stats.per_layer.setdefault(t, dict(edges=0, special=0, lps=0, not_closed=0,
                                                   kp=0, ks=0, seconds=0.0)), stats.__dict__):
        obj["edges"] += tr.src.numel()
        obj["special"] += int(special.sum())
    k_lo, _ = _authors_fix(cfg, act, t, n_t, k_lo, k_lo.clone(), ~exact)
    return k_lo, exact


@dataclass(frozen=True)
class _Subset:
    src: torch.Tensor
    dst: torch.Tensor
    length: torch.Tensor


def curvature_pass(model, x, cfg, sink, progress=False, stats=None, solve=True):
    """Visit every edge, calling ``sink(t, n, k_lo, k_hi, pending, stage, transition)``.

    Tensors are (E_t,) in the edge order of the stage's transition; with
    ``solve`` (default) every value is exact (``k_lo == k_hi``). Returns the
    prepared model (stages, transitions, forward values).
    """
    mdl = _prepare(model, x)
    stats = stats if stats is not None else Stats()
    for n in tqdm(range(x.shape[0]), disable=not progress, desc="curvature", unit="example"):
        mu, nu = _supports(cfg, mdl.trs, mdl.xs, n)
        for t, tr in enumerate(mdl.trs):
            k_lo, k_hi, pending = _layer(cfg, mdl, n, t, mu, nu, stats, solve=solve)
            sink(t, n, k_lo, k_hi, pending, mdl.chain.stages[t], tr)
    return mdl


def edge_curvature(model, x, cfg=None, *, progress=False):
    """Curvature of every edge on every example (contract §1).

    Parameters
    ----------
    model : torch.nn.Sequential
    x : (N, *input_shape) tensor
    cfg : CurvatureConfig, optional
    progress : bool
        Show a progress bar over examples.

    Returns
    -------
    dict[str, torch.Tensor]
        ``"<module>.weight"`` -> (N, out, in) for Linear, (N, Co, Ci, kh, kw,
        Ho, Wo) for Conv2d; NaN where no edge (zero weight, padding).
    """
    cfg = cfg or CurvatureConfig()
    out = {}

    def sink(t, n, kappa, _, __, stage, tr):
        key = f"{stage.name}.weight"
        if key not in out:
            out[key] = torch.full((x.shape[0], *tr.slot_shape), float("nan"), dtype=torch.float64)
        out[key].view(x.shape[0], -1)[n, tr.slot] = kappa
    curvature_pass(model, x, cfg, sink, progress)
    return out
