"""Public entry points: :class:`CurvatureConfig`, :class:`Stats`, :func:`edge_curvature`,
:func:`curvature_pass` (and :func:`.params.parameter_curvature`); the engine's
core (preparing a model, supports, one transition solved) is :mod:`.core`.

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
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from .core import example_supports, layer_kappa, prepare_model

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


_SUMMED = ("edges", "bounded", "evaluated", "special", "lps", "not_closed")
_LAYER_KEYS = ("edges", "special", "lps", "not_closed", "kp", "ks", "seconds")
_LARGEST = ("kp", "ks")


@dataclass
class Stats:
    """Counters of one run.

    Attributes
    ----------
    edges : int
        Edges visited (all, with a special value).
    bounded : int
        Edges given the transport bounds without an LP
        (:func:`.params.parameter_curvature` only).
    evaluated : int
        Edges evaluated exactly.
    special : int
        Edges with a special value (contract §6).
    lps : int
        LPs solved (compiled simplex or POT).
    not_closed : int
        Exactly evaluated edges not in closed form.
    per_layer : dict
        Transition -> dict of ``edges``, ``special``, ``lps``, ``not_closed``,
        ``seconds`` (sums) and ``kp``, ``ks`` (largest support widths).

    >>> a = Stats(edges=2, per_layer={0: dict(edges=2, kp=3)})
    >>> a.merge(Stats(edges=1, lps=4, per_layer={0: dict(edges=1, kp=5)})).edges
    3
    >>> a.lps, a.per_layer[0]
    (4, {'edges': 3, 'kp': 5})
    """

    edges: int = 0
    bounded: int = 0
    evaluated: int = 0
    special: int = 0
    lps: int = 0
    not_closed: int = 0
    per_layer: dict = field(default_factory=dict)

    def add(self, t, **counts):
        """Add ``counts`` to transition ``t``'s counters and to the totals of the same
        names (``kp``, ``ks``: the largest is kept; they have no total).

        Parameters
        ----------
        t : int
            The transition (its counters start at 0).
        **counts : int or float
            Names among ``edges``, ``special``, ``lps``, ``not_closed``, ``kp``,
            ``ks``, ``seconds``.

        Returns
        -------
        Stats
            ``self``.
        """
        layer = self.per_layer.setdefault(t, dict(dict.fromkeys(_LAYER_KEYS, 0), seconds=0.0))
        for name, value in counts.items():
            if name not in _LAYER_KEYS:
                raise ValueError(f"unknown per-layer counter {name!r}; have {_LAYER_KEYS}")
            layer[name] = max(layer[name], value) if name in _LARGEST else layer[name] + value
            if name in _SUMMED:
                setattr(self, name, getattr(self, name) + value)
        return self

    def merge(self, other):
        """Add the counters of ``other`` (another run's, e.g. a worker process's) to these.

        Parameters
        ----------
        other : Stats or dict
            A :class:`Stats`, or its fields as a dict (``dataclasses.asdict``).

        Returns
        -------
        Stats
            ``self``; totals and per-layer counters summed, except ``kp`` and ``ks``,
            where the larger is kept.
        """
        fields = other if isinstance(other, dict) else vars(other)
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + fields.get(name, 0))
        for t, layer in fields.get("per_layer", {}).items():
            into = self.per_layer.setdefault(t, dict.fromkeys(layer, 0))
            for k, v in layer.items():
                into[k] = max(into.get(k, 0), v) if k in _LARGEST else into.get(k, 0) + v
        return self


def curvature_pass(model, x, cfg, sink, progress=False, stats=None, solve=True):
    """Visit every edge, calling ``sink(t, n, k_lo, k_hi, pending, stage, transition)``.

    Parameters
    ----------
    model : torch.nn.Sequential
    x : (N, *input_shape) tensor
    cfg : CurvatureConfig
    sink : callable
        Called once per example and transition with (E_t,) tensors in the edge
        order of the stage's transition.
    progress : bool
        Show a progress bar over examples.
    stats : Stats, optional
        Filled with counters.
    solve : bool
        Exact values (``k_lo == k_hi`` everywhere); else transport bounds only.

    Returns
    -------
    PreparedModel
        Stages, transitions and forward values (:func:`.core.prepare_model`).
    """
    mdl = prepare_model(model, x, cfg)
    stats = stats if stats is not None else Stats()
    for n in tqdm(range(x.shape[0]), disable=not progress, desc="curvature", unit="example"):
        mu, nu = example_supports(cfg, mdl, n)
        for t, tr in enumerate(mdl.trs):
            k_lo, k_hi, pending = layer_kappa(cfg, mdl, n, t, mu, nu, stats, solve=solve)
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
        Ho, Wo) for Conv2d, of ``cfg.dtype``; NaN where no edge (zero weight, padding).
    """
    cfg = cfg or CurvatureConfig()
    out = {}

    def sink(t, n, kappa, _, __, stage, tr):
        key = f"{stage.name}.weight"
        if key not in out:
            out[key] = torch.full((x.shape[0], *tr.slot_shape), float("nan"), dtype=cfg.dtype,
                                  device=cfg.device)
        out[key].view(x.shape[0], -1)[n, tr.slot] = kappa
    curvature_pass(model, x, cfg, sink, progress)
    return out

