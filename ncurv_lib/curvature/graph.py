"""Per-transition connectivity of the neural graph (contract §2).

Transition :math:`l` joins node layer :math:`V_{l-1}` (inputs of stage
:math:`l`) to :math:`V_l` (its outputs). Every non-zero weight gives one
directed edge per position it acts at, with length :math:`w = 1/|W|`.
Edges are kept as flat arrays (never a Python object per edge) plus padded
in- and out-neighbour lists; a Conv2d is unrolled through index arithmetic.

>>> import torch, torch.nn as nn
>>> lin = nn.Linear(2, 2, bias=False)
>>> with torch.no_grad(): _ = lin.weight.copy_(torch.tensor([[1., 0.], [0.5, -2.]]))
>>> t = transition(lin, (2,))
>>> t.src.tolist(), t.dst.tolist(), t.length.tolist()
([0, 0, 1], [0, 1, 1], [1.0, 2.0, 0.5])
"""
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn


@dataclass(frozen=True)
class ConvGeometry:
    """What a Conv2d transition keeps for the translation-invariant path tables
    (:mod:`.conv_distances`): shapes ``(C, H, W)``, stride/padding/dilation pairs,
    and the kernel's edge lengths ``1/|W|`` (``inf`` where the weight is 0)."""

    in_shape: tuple
    out_shape: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    lengths: torch.Tensor


@dataclass(frozen=True)
class Transition:
    """Edges of one weighted module, flat and as padded neighbour lists.

    Attributes
    ----------
    n_in, n_out : int
        Sizes of the source and target node layers.
    out_shape : tuple
        Shape of one example's output (``(F,)`` or ``(C, H, W)``).
    src, dst : (E,) int64
        Source / target node of each edge.
    length : (E,) float64
        :math:`1/|W|` of the edge's weight.
    slot : (E,) int64
        Flat index of the edge in one example's ``edge_curvature`` entry
        (``weight.shape`` for Linear, ``weight.shape + (Ho, Wo)`` for Conv2d).
    param : (E,) int64
        Flat index of the edge's weight entry.
    slot_shape : tuple
        Shape of one example's ``edge_curvature`` entry.
    in_idx, in_len : (n_out, K_in)
        Padded in-neighbour lists of the targets (-1 / inf padding).
    out_idx, out_len : (n_in, K_out)
        Padded out-neighbour lists of the sources.
    geom : ConvGeometry or None
        Kernel geometry of a Conv2d (None for a Linear).
    """

    n_in: int
    n_out: int
    out_shape: tuple
    src: torch.Tensor
    dst: torch.Tensor
    length: torch.Tensor
    slot: torch.Tensor
    param: torch.Tensor
    slot_shape: tuple
    in_idx: torch.Tensor
    in_len: torch.Tensor
    out_idx: torch.Tensor
    out_len: torch.Tensor
    geom: Optional[ConvGeometry] = None


def padded_lists(key, other, length, n):
    """Group edges by ``key`` into padded rows.

    Parameters
    ----------
    key, other : (E,) int64
        Group node and neighbour node of each edge.
    length : (E,) float64
    n : int
        Number of groups (rows).

    Returns
    -------
    idx : (n, K) int64 (-1 padding), lens : (n, K) float64 (inf padding)
    """
    order = torch.argsort(key, stable=True)
    key, other, length = key[order], other[order], length[order]
    counts = torch.bincount(key, minlength=n)
    k = int(counts.max()) if key.numel() else 1
    start = torch.cumsum(counts, 0) - counts
    rank = torch.arange(key.numel()) - start[key]
    idx = torch.full((n, max(k, 1)), -1, dtype=torch.int64)
    lens = torch.full((n, max(k, 1)), float("inf"), dtype=torch.float64)
    idx[key, rank] = other
    lens[key, rank] = length
    return idx, lens


def _linear_edges(weight):
    out_f, in_f = weight.shape
    j, i = torch.nonzero(weight != 0, as_tuple=True)
    flat = j * in_f + i
    return i, j, weight[j, i], flat, flat, (out_f,), tuple(weight.shape)


def _conv_edges(mod, weight, in_shape):
    ci, h, w = in_shape
    co, _, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = mod.stride, mod.padding, mod.dilation
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if ho <= 0 or wo <= 0:
        raise ValueError(f"Conv2d input {tuple(in_shape)} too small for its kernel")
    a, oy = torch.arange(kh)[:, None], torch.arange(ho)[None, :]
    iy = oy * sh - ph + a * dh                      # (kh, ho)
    b, ox = torch.arange(kw)[:, None], torch.arange(wo)[None, :]
    ix = ox * sw - pw + b * dw                      # (kw, wo)
    oc, ic, aa, bb, yy, xx = torch.meshgrid(
        torch.arange(co), torch.arange(ci), torch.arange(kh), torch.arange(kw),
        torch.arange(ho), torch.arange(wo), indexing="ij")
    iy_e, ix_e = iy[aa, yy], ix[bb, xx]
    wv = weight[oc, ic, aa, bb]
    ok = (iy_e >= 0) & (iy_e < h) & (ix_e >= 0) & (ix_e < w) & (wv != 0)
    oc, ic, aa, bb, yy, xx = (t[ok] for t in (oc, ic, aa, bb, yy, xx))
    iy_e, ix_e, wv = iy_e[ok], ix_e[ok], wv[ok]
    src = (ic * h + iy_e) * w + ix_e
    dst = (oc * ho + yy) * wo + xx
    param = ((oc * ci + ic) * kh + aa) * kw + bb
    slot = (param * ho + yy) * wo + xx
    return src, dst, wv, slot, param, (co, ho, wo), (co, ci, kh, kw, ho, wo)


def transition(module, in_shape) -> Transition:
    """Build the :class:`Transition` of ``module`` acting on ``in_shape``.

    Parameters
    ----------
    module : nn.Linear or nn.Conv2d
    in_shape : tuple
        Shape of one example entering the module (``(F,)`` or ``(C, H, W)``).
    """
    weight = module.weight.detach().to(torch.float64)
    n_in = 1
    for s in in_shape:
        n_in *= int(s)
    if isinstance(module, nn.Linear):
        if n_in != module.in_features:
            raise ValueError(f"Linear expects {module.in_features} inputs, gets shape "
                             f"{tuple(in_shape)} ({n_in} values)")
        src, dst, wv, slot, param, out_shape, slot_shape = _linear_edges(weight)
        geom = None
    else:
        if len(in_shape) != 3 or in_shape[0] != module.in_channels:
            raise ValueError(f"Conv2d expects input (C={module.in_channels}, H, W), "
                             f"gets shape {tuple(in_shape)}")
        src, dst, wv, slot, param, out_shape, slot_shape = _conv_edges(module, weight, in_shape)
        geom = ConvGeometry(in_shape=tuple(int(s) for s in in_shape), out_shape=tuple(out_shape),
                            stride=tuple(module.stride), padding=tuple(module.padding),
                            dilation=tuple(module.dilation), lengths=1.0 / weight.abs())
    n_out = 1
    for s in out_shape:
        n_out *= int(s)
    length = 1.0 / wv.abs()
    in_idx, in_len = padded_lists(dst, src, length, n_out)
    out_idx, out_len = padded_lists(src, dst, length, n_in)
    return Transition(n_in=n_in, n_out=n_out, out_shape=tuple(out_shape), src=src, dst=dst,
                      length=length, slot=slot, param=param, slot_shape=tuple(slot_shape),
                      in_idx=in_idx, in_len=in_len, out_idx=out_idx, out_len=out_len, geom=geom)
