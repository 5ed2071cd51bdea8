r"""Scoring functions: magnitude, SNIP, SynFlow and neural curvature.

Each scorer maps a trained model to one score per prunable weight entry (dict: weight
name -> float64 tensor of the weight's shape), following the Synaptic-Flow protocol [1]_:

.. math::

    S_\text{mag}(\theta) = |\theta|, \qquad
    S_\text{SNIP}(\theta) = \Big|\theta \odot \frac{\partial L}{\partial \theta}\Big|, \qquad
    S_\text{SynFlow}(\theta) = \Big|\theta \odot \frac{\partial R}{\partial \theta}\Big|,
    \quad R = \mathbb{1}^\top f(\mathbb{1}; |\theta|),

where :math:`L` is the cross-entropy summed over a pruning batch and :math:`R` the sum
of the outputs of the network whose parameters and buffers are all replaced by their
absolute values, evaluated (eval mode) on one all-ones input. The curvature score is
the per-parameter neural curvature of :func:`ncurv_lib.parameter_curvature` [2]_.

Scores are computed on deep copies in float64: the model passed in is never modified.

References
----------
.. [1] H. Tanaka, D. Kunin, D. Yamins, S. Ganguli, "Pruning neural networks without any
   data by iteratively conserving synaptic flow", NeurIPS 2020.
.. [2] Tan, Sia, Bogdan, Ivanov, "Analyzing Neural Network Information Flow Using
   Differential Geometry", arXiv 2601.16366.

>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Linear(2, 1, bias=False))
>>> with torch.no_grad():
...     _ = net[0].weight.copy_(torch.tensor([[2.0, -3.0]]))
>>> synflow_scores(net, input_shape=(2,))["0.weight"].tolist()   # |w| * 1
[[2.0, 3.0]]
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from .masks import (count_kept, flat_weights, flatten_scores, keep_vector,
                    prunable_weights, split_flat, weight_shapes)

__all__ = ["magnitude_scores", "snip_scores", "synflow_scores", "synflow_masks",
           "curvature_scores", "infer_input_shape"]


def magnitude_scores(model: nn.Module) -> dict[str, torch.Tensor]:
    r"""Magnitude scores :math:`|\theta|` of every prunable weight (float64, CPU)."""
    return {n: p.detach().to("cpu", torch.float64).abs()
            for n, p in prunable_weights(model)}


def _float64_copy(model: nn.Module) -> nn.Module:
    """Deep copy in float64, eval mode, same device, with no gradients required."""
    net = copy.deepcopy(model).to(torch.float64).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def _device(net: nn.Module) -> torch.device:
    return next(net.parameters()).device


def _signed_products(net: nn.Module, objective) -> dict[str, torch.Tensor]:
    r""":math:`\theta \odot \partial J/\partial\theta` (signed), J = objective(net)."""
    params = prunable_weights(net)
    for _, p in params:
        p.requires_grad_(True)
    grads = torch.autograd.grad(objective(net), [p for _, p in params], allow_unused=True)
    return {name: (torch.zeros_like(p) if g is None else g * p).detach().cpu()
            for (name, p), g in zip(params, grads)}


def _weight_grads(net: nn.Module, objective) -> dict[str, torch.Tensor]:
    r"""Scores :math:`|\theta \odot \partial J/\partial\theta|`, J = objective(net)."""
    return {k: v.abs() for k, v in _signed_products(net, objective).items()}


def snip_scores(model: nn.Module, data, *, batch_size: int | None = None
                ) -> dict[str, torch.Tensor]:
    r"""SNIP scores :math:`|\theta \odot \partial L/\partial\theta|`, one shot, float64.

    L is the cross-entropy summed (not averaged) over the pruning batch, evaluated in
    eval mode.

    Parameters
    ----------
    model : torch.nn.Module
        Must output logits.
    data : tuple (x, y)
        ``x`` of shape ``(B, *input_shape)``, ``y`` int64 labels of shape ``(B,)``.
    batch_size : int, optional
        Chunk size for the forward passes (the gradient of a sum is additive); all at once
        by default.
    """
    if data is None:
        raise ValueError("scorer 'snip' needs data=(x, y), a labelled pruning batch")
    x, y = data
    device = next(model.parameters()).device
    x = torch.as_tensor(x).to(device, torch.float64)
    y = torch.as_tensor(y).to(device, torch.int64)
    if x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"snip data: x has {x.shape[0]} rows and y has {y.shape[0]}")
    step = x.shape[0] if batch_size is None else int(batch_size)
    net = _float64_copy(model)
    total = None
    for start in range(0, x.shape[0], step):
        xb, yb = x[start:start + step], y[start:start + step]
        # |theta * sum_b g_b| needs the summed signed gradient: accumulate theta * g first
        part = _signed_products(net, lambda m: F.cross_entropy(m(xb), yb, reduction="sum"))
        total = part if total is None else {k: total[k] + part[k] for k in total}
    return {k: v.abs() for k, v in total.items()}


def infer_input_shape(model: nn.Module, data=None, input_shape=None) -> tuple[int, ...]:
    """Input shape (without batch) from ``input_shape``, ``data`` or a leading Linear.

    Raises
    ------
    ValueError
        If none of these determines it (a convolutional model needs one of the first two).
    """
    if input_shape is not None:
        return tuple(int(s) for s in input_shape)
    if data is not None:
        x = data[0] if isinstance(data, (tuple, list)) else data
        return tuple(x.shape[1:])
    first = next((m for m in model.modules()
                  if isinstance(m, (nn.Linear, nn.Conv2d))), None)
    if isinstance(first, nn.Linear):
        return (first.in_features,)
    raise ValueError("SynFlow needs the input shape: pass input_shape=(C, H, W) or "
                     "data=(x, y) for a model that does not start with a Linear layer")


def _synflow_net(model: nn.Module) -> nn.Module:
    """Float64 eval-mode copy with every parameter and floating buffer made absolute."""
    net = _float64_copy(model)
    with torch.no_grad():
        for t in list(net.parameters()) + list(net.buffers()):
            if t.is_floating_point():
                t.abs_()
    return net


def _synflow_objective(shape, device):
    ones = torch.ones((1, *shape), dtype=torch.float64, device=device)
    return lambda m: m(ones).sum()


def synflow_scores(model: nn.Module, *, data=None, input_shape=None
                   ) -> dict[str, torch.Tensor]:
    r"""One single-shot SynFlow scoring of the unmasked model (float64).

    Parameters
    ----------
    model : torch.nn.Module
    data : tuple (x, y), optional
        Used only for the input shape.
    input_shape : tuple of int, optional
        Input shape without the batch dimension, e.g. ``(1, 28, 28)``.
    """
    net = _synflow_net(model)
    shape = infer_input_shape(model, data, input_shape)
    return _weight_grads(net, _synflow_objective(shape, _device(net)))


def synflow_masks(model: nn.Module, keep_fraction: float, *, iterations: int = 100,
                  data=None, input_shape=None, progress: bool | None = False,
                  return_scores: bool = False):
    r"""Iterative SynFlow masks: ``iterations`` rounds of rescoring the masked model.

    At round :math:`k = 0, \dots, n-1` the masked network is rescored and the
    :math:`\mathrm{round}(\rho^{(k+1)/n} N)` highest-scoring weights are kept (global),
    :math:`\rho` = ``keep_fraction``. Weights removed earlier stay removed (they score 0
    and are ordered first), so the last round keeps exactly ``round(rho * N)``.
    Ties are broken by parameter order.

    Parameters
    ----------
    model : torch.nn.Module
    keep_fraction : float in [0, 1]
    iterations : int, default 100
    data, input_shape
        For the input shape, as in :func:`synflow_scores`.
    progress : bool or None, default False
        tqdm bar over the rounds (None: only on a terminal).
    return_scores : bool, default False
        Also return the last round's scores.

    Returns
    -------
    dict of str -> bool tensor (True = kept), and the final scores if asked.
    """
    if int(iterations) < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations!r}")
    shape = infer_input_shape(model, data, input_shape)
    net = _synflow_net(model)
    shapes = weight_shapes(net)
    n = sum(int(np.prod(s)) for s in shapes.values())
    n_keep_final = count_kept(keep_fraction, n)
    keep = np.ones(n, dtype=bool)
    if n_keep_final == n:
        return (split_flat(keep, shapes), synflow_scores(model, input_shape=shape)) \
            if return_scores else split_flat(keep, shapes)
    originals = [p.detach().clone() for _, p in prunable_weights(net)]
    objective = _synflow_objective(shape, _device(net))
    bar = tqdm(range(int(iterations)), desc="synflow", leave=False,
               disable=None if progress is None else not progress)
    for k in bar:
        with torch.no_grad():
            for (_, p), orig, m in zip(prunable_weights(net), originals,
                                       split_flat(keep, shapes).values()):
                p.copy_(orig * m.to(orig.device, orig.dtype))
        scores = _weight_grads(net, objective)
        flat = flatten_scores(scores, shapes)
        n_keep = n_keep_final if k == iterations - 1 else \
            count_kept(float(keep_fraction) ** ((k + 1) / iterations), n)
        # previously removed weights first, then lowest score, then parameter order
        order = np.lexsort((np.arange(n), flat, keep.astype(np.int8)))
        keep = keep_vector(order, n - n_keep)
    masks = split_flat(keep, shapes)
    return (masks, scores) if return_scores else masks


def curvature_scores(model: nn.Module, *, scores=None, calib=None, config=None,
                     convention: str | None = None) -> dict[str, torch.Tensor]:
    """Per-parameter curvature scores, precomputed or from calibration inputs.

    Parameters
    ----------
    model : torch.nn.Module
    scores : dict of str -> tensor, optional
        Output of :func:`ncurv_lib.parameter_curvature` for this model.
    calib : torch.Tensor, shape (K, *input_shape), optional
        Calibration inputs; then ``parameter_curvature(model, calib, config)`` is called.
    config : ncurv_lib.CurvatureConfig, optional
        Defaults to ``CurvatureConfig(convention=convention or "paper")``.

    Returns
    -------
    dict of str -> float64 tensor, keyed like the prunable weights.
    """
    shapes = weight_shapes(model)
    if scores is None:
        if calib is None:
            raise ValueError("scorer 'curvature' needs scores= (from parameter_curvature) "
                             "or calib= (calibration inputs)")
        from ncurv_lib.curvature import CurvatureConfig, parameter_curvature
        if config is None:
            config = CurvatureConfig(convention=convention or "paper")
        scores = parameter_curvature(model, calib, config)
    flat = flatten_scores(scores, shapes)
    if np.isnan(flat).any():
        raise ValueError("curvature scores contain NaN")
    return {k: v.clone() for k, v in split_flat(torch.from_numpy(flat), shapes).items()}


def curvature_tiebreak(model: nn.Module) -> np.ndarray:
    """The curvature tie-break key: ``|W|`` flattened ``(N,)`` (smaller removed first)."""
    return flat_weights(model).abs().numpy()
