r"""Public pruning API: ``prune_scores``, ``prune_masks`` and the removal plan.

A scorer and an order define one global removal order of the ``N`` prunable weights:

* ``magnitude``, ``snip``, ``synflow``: lowest score removed first, ties by parameter
  order (flat index over the weights in ``named_parameters()`` order);
* ``curvature`` with ``order="positive"`` (default): highest score removed first;
  ``order="negative"``: lowest first; ties by smaller :math:`|W|`, then parameter order.

Keeping a fraction :math:`\rho` keeps exactly :math:`\mathrm{round}(\rho N)` weights.
SynFlow masks are the exception to "one order": ``prune_masks(..., "synflow")`` runs the
iterative schedule of Tanaka et al. (``iterations=100``).

>>> import torch, ncurv_lib as nc
>>> net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
>>> masks = nc.prune_masks(net, "magnitude", 0.5)
>>> sorted(masks), sum(int(m.sum()) for m in masks.values())
(['0.weight', '2.weight'], 4)
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .masks import count_kept, flatten_scores, masks_from_order, removal_order, weight_shapes
from .scorers import (curvature_scores, curvature_tiebreak, magnitude_scores, snip_scores,
                      synflow_masks, synflow_scores)

__all__ = ["SCORERS", "CURVATURE_ORDERS", "prune_scores", "prune_masks", "removal_plan",
           "check_scorer"]

SCORERS = ("magnitude", "snip", "synflow", "curvature")
CURVATURE_ORDERS = ("positive", "negative")


def check_scorer(scorer: str, order: str | None = None) -> str | None:
    """Validate a scorer name (and curvature order); return the effective order.

    Returns ``"positive"``/``"negative"`` for curvature (default positive), None otherwise.
    """
    if scorer not in SCORERS:
        raise ValueError(f"unknown scorer {scorer!r}; expected one of {SCORERS}")
    if scorer != "curvature":
        if order is not None:
            raise ValueError(f"order= applies to the curvature scorer only, not {scorer!r}")
        return None
    order = "positive" if order is None else order
    if order not in CURVATURE_ORDERS:
        raise ValueError(f"unknown curvature order {order!r}; expected one of "
                         f"{CURVATURE_ORDERS}")
    return order


def prune_scores(model: nn.Module, scorer: str, data=None, **options
                 ) -> dict[str, torch.Tensor]:
    """Scores of every prunable weight (dict: weight name -> float64 tensor, its shape).

    Parameters
    ----------
    model : torch.nn.Module
        Never modified.
    scorer : {"magnitude", "snip", "synflow", "curvature"}
    data : tuple (x, y), optional
        Pruning batch (required for SNIP; gives the input shape for SynFlow).
    **options
        snip: ``batch_size``; synflow: ``input_shape`` (``iterations`` is ignored: this is
        one single-shot scoring); curvature: ``scores`` or ``calib``, ``config``,
        ``convention`` (``order`` is ignored); without ``scores``/``calib`` the inputs
        of ``data`` serve as calibration inputs.
    """
    check_scorer(scorer, options.pop("order", None))
    weight_shapes(model)  # raises ValueError for a model without prunable weights
    if scorer == "magnitude":
        if options:
            raise ValueError(f"scorer 'magnitude' takes no options, got {sorted(options)}")
        return magnitude_scores(model)
    if scorer == "snip":
        return snip_scores(model, data, **options)
    if scorer == "synflow":
        options.pop("iterations", None)
        options.pop("progress", None)
        return synflow_scores(model, data=data, **options)
    if data is not None and "calib" not in options and "scores" not in options:
        options["calib"] = data[0] if isinstance(data, (tuple, list)) else data
    return curvature_scores(model, **options)


def removal_plan(model: nn.Module, scorer: str, data=None, **options
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The global removal order and the flat scores it sorts.

    Returns
    -------
    order : np.ndarray of int64, shape (N,)
        Flat indices, first removed first.
    flat_scores : np.ndarray of float64, shape (N,)
        Scores in flat parameter order (``flat_scores[order]`` is the removal sequence).
    """
    order = check_scorer(scorer, options.pop("order", None))
    scores = prune_scores(model, scorer, data, **options)
    flat = flatten_scores(scores, weight_shapes(model))
    if scorer != "curvature":
        return removal_order(flat), flat
    return removal_order(flat, descending=order == "positive",
                         tiebreak=curvature_tiebreak(model)), flat


def prune_masks(model: nn.Module, scorer: str, keep_fraction: float, data=None,
                **options) -> dict[str, torch.Tensor]:
    """Boolean masks (True = kept) keeping exactly ``round(keep_fraction * N)`` weights.

    Parameters are those of :func:`prune_scores`, plus ``keep_fraction`` in [0, 1] (global
    over all prunable weights); curvature takes ``order="positive"|"negative"``; SynFlow
    runs the iterative schedule (``iterations=100``, ``progress``).
    """
    check_scorer(scorer, options.get("order"))
    shapes = weight_shapes(model)
    n = sum(int(np.prod(s)) for s in shapes.values())
    n_keep = count_kept(keep_fraction, n)
    if scorer == "synflow":
        return synflow_masks(model, keep_fraction, data=data, **options)
    order, _ = removal_plan(model, scorer, data, **options)
    return masks_from_order(order, n - n_keep, shapes)
