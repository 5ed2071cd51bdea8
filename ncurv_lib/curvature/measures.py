"""Neighbour distributions (contract §4, Def. 6).

For a layer's values :math:`n`, the activity is
:math:`x_k = (|n_k| - \\min|n|)/(\\max|n| - \\min|n|)` (0 if the layer is
constant). A node's neighbour :math:`k` gets mass proportional to
:math:`e^{-1/x_k^2}` (0 where :math:`x_k = 0`); a node none of whose
neighbours is active keeps all its mass (a point mass, flagged ``delta``).
With ``neural_distribution=False`` the masses are proportional to
:math:`|W|` of the connecting edges (Lin et al.).

>>> import torch
>>> activity(torch.tensor([[1., -3., 2.]])).tolist()
[[0.0, 1.0, 0.5]]
"""
from dataclasses import dataclass

import torch

from . import kernels


@dataclass(frozen=True)
class Support:
    """Compact neighbour distributions of a node layer, for one example.

    ``idx`` (n, K) neighbour nodes (-1 padding), ``mass`` (n, K) float64
    (rows sum to 1, or to 0 where ``delta``), ``length`` (n, K) edge lengths
    (inf padding), ``delta`` (n,) bool: the node keeps all its mass; ``size`` (n,)
    int64: the kept slots, at least 1.
    """

    idx: torch.Tensor
    mass: torch.Tensor
    length: torch.Tensor
    delta: torch.Tensor
    size: torch.Tensor


def stack_supports(sups):
    """One :class:`Support` holding those of ``sups`` (same layer, several examples) one
    after the other: node k of the i-th is row ``i * n + k``; slots padded to the widest."""
    k = max(s.idx.shape[1] for s in sups)
    pad = lambda z, fill: torch.nn.functional.pad(z, (0, k - z.shape[1]), value=fill)
    return Support(idx=torch.cat([pad(s.idx, -1) for s in sups]),
                   mass=torch.cat([pad(s.mass, 0.0) for s in sups]),
                   length=torch.cat([pad(s.length, float("inf")) for s in sups]),
                   delta=torch.cat([s.delta for s in sups]),
                   size=torch.cat([s.size for s in sups]))


def activity(values):
    """Row-wise :math:`x = (|n| - \\min|n|)/(\\max|n| - \\min|n|)` of (N, n) values."""
    a = values.abs()
    lo = a.min(dim=1, keepdim=True).values
    span = a.max(dim=1, keepdim=True).values - lo
    safe = torch.where(span > 0, span, torch.ones_like(span))
    return torch.where(span > 0, (a - lo) / safe, torch.zeros_like(a))


def _paper_mass(x, valid):
    logit = torch.where(valid & (x > 0), -1.0 / torch.where(x > 0, x, 1.0) ** 2,
                        torch.full_like(x, -float("inf")))
    top = logit.max(dim=1, keepdim=True).values
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    e = torch.exp(logit - top)
    s = e.sum(dim=1, keepdim=True)
    return e / torch.where(s > 0, s, torch.ones_like(s))


def _authors_mass(x, valid):
    act = valid & (x > 0)
    x32 = torch.where(act, x, torch.ones_like(x)).to(torch.float32)
    e = torch.where(act, torch.exp(-(1.0 / x32) ** 2), torch.zeros_like(x32)).to(torch.float64)
    s = e.sum(dim=1, keepdim=True)
    uniform = act.to(torch.float64)
    e = torch.where(s <= 1e-7, uniform, e)
    s = e.sum(dim=1, keepdim=True)
    return e / torch.where(s > 0, s, torch.ones_like(s))


def _weight_mass(lens, valid):
    e = torch.where(valid, 1.0 / lens, torch.zeros_like(lens))
    return e / e.sum(dim=1, keepdim=True).clamp_min(1e-300)


def compact(keep):
    """Per row of ``keep`` (n, K), the positions of its True slots first, cut to the
    largest count (at least 1): (order (n, K'), kept (n, K'))."""
    k = max(int(keep.sum(dim=1).max()), 1) if keep.numel() else 1
    order = torch.argsort(keep.to(torch.int8), dim=1, descending=True, stable=True)[:, :k]
    return order, torch.gather(keep, 1, order)


def neighbour_support(idx, lens, x, convention, neural, tol) -> Support:
    """Neighbour distributions of every node of a layer, for one example.

    Parameters
    ----------
    idx, lens : (n, K) int64 / float64
        Padded neighbour lists (-1 / inf padding).
    x : (m,) float64
        Activity of every node of the neighbours' layer.
    convention : {"paper", "authors"}
    neural : bool
        ``neural_distribution`` switch.
    tol : float
        Masses below ``tol`` times a row's largest are dropped.
    """
    if neural and convention == "paper":
        fast = kernels.paper_support(idx, lens, x, tol)
        if fast is not None:
            out_idx, mass, length, counts = fast
            return Support(idx=out_idx, mass=mass, length=length, delta=counts == 0,
                           size=counts.clamp_min(1))
    valid = idx >= 0
    xs = torch.where(valid, x[idx.clamp_min(0)], torch.zeros(idx.shape, dtype=x.dtype))
    if not neural:
        mass = _weight_mass(lens, valid)
    elif convention == "paper":
        mass = _paper_mass(xs, valid)
    else:
        mass = _authors_mass(xs, valid)
    top = mass.max(dim=1, keepdim=True).values
    keep = (mass > 0) & (mass >= tol * top)
    mass = torch.where(keep, mass, torch.zeros_like(mass))
    mass = mass / mass.sum(dim=1, keepdim=True).clamp_min(1e-300)
    order, keep_c = compact(keep)
    return Support(
        idx=torch.where(keep_c, torch.gather(idx, 1, order), torch.full_like(order, -1)),
        mass=torch.gather(mass, 1, order),
        length=torch.where(keep_c, torch.gather(lens, 1, order),
                           torch.full(order.shape, float("inf"), dtype=torch.float64)),
        delta=~keep.any(dim=1), size=keep_c.sum(dim=1).clamp_min(1))
