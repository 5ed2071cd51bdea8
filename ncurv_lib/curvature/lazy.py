"""Finite-alpha neural curvature by the complete alpha-lazy transport (contract §6).

For an edge :math:`(u,v)` with cost :math:`D` (contract §5) and laziness
:math:`\\alpha \\in [0, 1)`,

.. math::
    m_u^\\alpha = \\alpha\\,\\delta_u + (1-\\alpha)\\,\\mu_u, \\qquad
    m_v^\\alpha = \\alpha\\,\\delta_v + (1-\\alpha)\\,\\nu_v, \\qquad
    \\kappa_\\alpha = 1 - W_1(m_u^\\alpha, m_v^\\alpha) / D,

with :math:`W_1` solved as one full LP (``ot.emd2``) on the supports
:math:`\\{u\\} \\cup \\mathrm{supp}\\,\\mu_u` and :math:`\\{v\\} \\cup
\\mathrm{supp}\\,\\nu_v` under the ground cost of §5: :math:`C(u,v) = D`,
:math:`C(p,v)`, :math:`C(u,s)` two-hop and :math:`C(p,s)` three-hop shortest
paths. Measures, edge costs, shortest paths and the special values (D = inf,
the authors' dead-neuron rule) are the engine's own building blocks, put
together as one :class:`.problem.EdgeProblem` per edge; only the transport differs from :func:`.api.edge_curvature`, which uses the exact
reduction valid for :math:`\\alpha \\ge 1/2`. So on :math:`[1/2, 1)` the value
:math:`\\kappa_\\alpha/(1-\\alpha)` returned here equals the engine's alpha-free
curvature; below 1/2 it may differ. Meant for small models (one LP per edge,
example and alpha).

>>> import torch
>>> from ncurv_lib.models import mlp
>>> from ncurv_lib.curvature import CurvatureConfig, edge_curvature
>>> torch.manual_seed(0) and None
>>> m, x = mlp([3, 4, 4, 2]).double().eval(), torch.randn(1, 3, dtype=torch.float64)
>>> k = lazy_edge_curvature(m, x, [("2.weight", (1, 2))], [0.5, 0.9])
>>> k.shape
(1, 1, 2)
>>> ref = edge_curvature(m, x)["2.weight"][0, 1, 2].item()
>>> bool(abs(k[0, 0, 0] - ref) < 1e-9 and abs(k[0, 0, 1] - ref) < 1e-9)
True
"""
import numpy as np
import ot
import torch

from .api import CurvatureConfig
from .core import authors_fix, example_supports, prepare_model
from .problem import edge_problem

NUM_ITER_MAX = 10_000_000


def lazy_transport(cost, mu, nu, alpha):
    """:math:`W_1(\\alpha\\delta_u + (1-\\alpha)\\mu,\\; \\alpha\\delta_v + (1-\\alpha)\\nu)`.

    Parameters
    ----------
    cost : (1 + P, 1 + S) float64 array
        Ground costs; row 0 is u, column 0 is v, the others the supports of
        ``mu`` and ``nu``.
    mu : (P,) float64 array
        Masses of u's neighbours (empty: :math:`\\mu_u = \\delta_u`).
    nu : (S,) float64 array
        Masses of v's neighbours (empty: :math:`\\nu_v = \\delta_v`).
    alpha : float

    Returns
    -------
    float

    Raises
    ------
    RuntimeError
        If POT reports that it did not solve the LP exactly.
    """
    a = np.concatenate([[alpha], (1.0 - alpha) * mu]) if len(mu) else np.ones(1)
    b = np.concatenate([[alpha], (1.0 - alpha) * nu]) if len(nu) else np.ones(1)
    a, b = a / a.sum(), b / b.sum()
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    if cost.shape != (a.size, b.size) or not np.isfinite(cost).all():
        raise ValueError(f"cost must be finite with shape {(a.size, b.size)}, got {cost.shape}")
    low = float(cost.min())  # POT mis-handles negative costs: shift them to >= 0
    val, log = ot.emd2(a, b, cost - low, numItermax=NUM_ITER_MAX, log=True)
    if log.get("warning"):
        raise RuntimeError(f"POT emd2 did not solve the lazy transport exactly: {log['warning']}")
    return float(val) + low


def _locate(mdl, key, index):
    """(transition t, edge position e) of edge ``index`` of weight ``key``."""
    names = [f"{s.name}.weight" for s in mdl.chain.stages]
    if key not in names:
        raise ValueError(f"no weighted layer {key!r}; have {names}")
    t = names.index(key)
    tr = mdl.trs[t]
    index = tuple(int(i) for i in index)
    if len(index) != len(tr.slot_shape) or not all(0 <= i < n for i, n in
                                                    zip(index, tr.slot_shape)):
        raise ValueError(f"edge index {index} does not fit {key!r} (shape {tr.slot_shape})")
    hit = torch.nonzero(tr.slot == int(np.ravel_multi_index(index, tr.slot_shape))).flatten()
    if not hit.numel():
        raise ValueError(f"{key}{list(index)} is no edge (zero weight or padding)")
    return t, int(hit[0])


def edge_cost_matrix(cfg, mdl, n, t, e, mu, nu):
    """Ground costs and neighbour masses of edge ``e`` of transition ``t`` on example ``n``.

    The arrays of :func:`.problem.edge_problem` (kept for callers of this older form).

    Parameters
    ----------
    cfg : CurvatureConfig
    mdl : PreparedModel
        :func:`.core.prepare_model`.
    n, t, e : int
        Example, transition and edge position in the transition.
    mu, nu : lists of Support
        The example's neighbour supports (:func:`.core.example_supports`).

    Returns
    -------
    d : float
        Edge cost D (may be inf; then the other three are None).
    cost : (1 + P, 1 + S) float64 array
        Rows u, supp(mu_u); columns v, supp(nu_v) (see module docstring).
    pm, sm : (P,), (S,) float64 arrays
        Neighbour masses (empty for a point mass).
    """
    prob = edge_problem(cfg, mdl, n, t, e, mu, nu)
    if not np.isfinite(prob.d):
        return prob.d, None, None, None
    return prob.d, prob.cost.numpy(), prob.mu.numpy(), prob.nu.numpy()


def _edge_values(prob, alphas):
    """kappa_alpha / (1 - alpha) of one :class:`.problem.EdgeProblem` for every alpha,
    before the authors' fix."""
    if prob.special:
        return np.full(len(alphas), prob.special_value)
    cost, pm, sm = prob.cost.numpy(), prob.mu.numpy(), prob.nu.numpy()
    w = np.array([lazy_transport(cost, pm, sm, a) for a in alphas])
    return (1.0 - w / prob.d) / (1.0 - np.asarray(alphas))


def lazy_edge_curvature(model, x, edges, alphas, cfg=None):
    """:math:`\\kappa_\\alpha/(1-\\alpha)` of chosen edges by the full alpha-lazy LP.

    Parameters
    ----------
    model : torch.nn.Sequential
        Any model :func:`.api.edge_curvature` takes (small: one LP per value).
    x : (N, *input_shape) tensor
    edges : sequence of (str, tuple)
        ``(weight key, index)`` as in :func:`.api.edge_curvature`'s output,
        without the example axis: ``("0.weight", (j, i))`` for a Linear,
        ``(oc, ic, a, b, oy, ox)`` for a Conv2d.
    alphas : sequence of float
        Laziness values in [0, 1).
    cfg : CurvatureConfig, optional
        Convention and ablation switches (``alpha`` is ignored); neighbour
        masses below ``cfg.mass_tol`` of a node's largest are dropped, as in
        the engine (``mass_tol=0`` keeps every neighbour).

    Returns
    -------
    (N, len(edges), len(alphas)) float64 ndarray
        Special values (D = inf, the authors' dead neurons, contract §6) do
        not depend on alpha.

    Raises
    ------
    ValueError
        For an alpha outside [0, 1), an unknown weight or an index that is no edge.
    """
    cfg = cfg or CurvatureConfig()
    alphas = np.asarray(alphas, dtype=np.float64).reshape(-1)
    if alphas.size == 0 or not ((alphas >= 0) & (alphas < 1)).all():
        raise ValueError(f"alphas must be non-empty and lie in [0, 1), got {alphas.tolist()}")
    mdl = prepare_model(model, x, cfg)
    where = [_locate(mdl, key, index) for key, index in edges]
    out = np.empty((x.shape[0], len(where), alphas.size))
    n_t = len(mdl.trs)
    for n in range(x.shape[0]):
        mu, nu = example_supports(cfg, mdl, n)
        for k, (t, e) in enumerate(where):
            raw = torch.from_numpy(_edge_values(edge_problem(cfg, mdl, n, t, e, mu, nu), alphas))
            fixed, _ = authors_fix(cfg, mdl.chain.activation, t, n_t, raw, raw.clone(),
                                   torch.zeros(raw.shape, dtype=torch.bool))
            out[n, k] = fixed.numpy()
    return out
