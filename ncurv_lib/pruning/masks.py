r"""Prunable weights, removal orders and exact-count masks.

Every pruning method in :mod:`ncurv_lib.pruning` reduces to one global ordering of the
prunable weights (the ``N`` entries of every ``Linear`` and ``Conv2d`` weight, flattened
in ``model.named_parameters()`` order and concatenated). Removing ``k`` weights removes
the first ``k`` entries of that order, so

.. math::

    |\{i : m_i = 0\}| = k \quad\text{exactly, whatever the ties.}

The order is a lexicographic sort on (primary score, optional tie-break, flat index):
no two weights ever compare equal, which makes every mask deterministic.

>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
>>> with torch.no_grad():
...     _ = net[0].weight.copy_(torch.tensor([[1.0, -3.0], [0.5, 2.0]]))
>>> names = [n for n, _ in prunable_weights(net)]
>>> names
['0.weight']
>>> order = removal_order(flat_weights(net).abs().numpy())
>>> order.tolist()
[2, 0, 3, 1]
>>> masks_from_order(order, 2, weight_shapes(net))["0.weight"].tolist()
[[False, True], [False, True]]
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

__all__ = [
    "prunable_weights",
    "weight_shapes",
    "flat_weights",
    "flatten_scores",
    "count_kept",
    "removal_order",
    "masks_from_order",
    "keep_vector",
    "split_flat",
    "apply_masks",
    "WeightMasker",
]

PRUNABLE_TYPES = (nn.Linear, nn.Conv2d)


def prunable_weights(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The ``Linear``/``Conv2d`` weights of ``model``, in ``named_parameters()`` order.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    list of (str, torch.nn.Parameter)
        Names are those of ``model.named_parameters()``; biases, BatchNorm and any
        other parameters are never included.

    Raises
    ------
    ValueError
        If the model has no ``Linear`` or ``Conv2d`` weight.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"expected a torch.nn.Module, got {type(model).__name__}")
    ids = {id(m.weight) for m in model.modules() if isinstance(m, PRUNABLE_TYPES)}
    found = [(n, p) for n, p in model.named_parameters() if id(p) in ids]
    if not found:
        raise ValueError(
            f"model {type(model).__name__} has no prunable weights "
            "(only torch.nn.Linear and torch.nn.Conv2d weights can be pruned)")
    return found


def weight_shapes(model: nn.Module) -> dict[str, torch.Size]:
    """Shapes of the prunable weights, keyed by parameter name, in order."""
    return {n: p.shape for n, p in prunable_weights(model)}


def flat_weights(model: nn.Module) -> torch.Tensor:
    """All prunable weights as one float64 vector of shape ``(N,)`` (detached, CPU)."""
    return torch.cat([p.detach().to("cpu", torch.float64).reshape(-1)
                      for _, p in prunable_weights(model)])


def flatten_scores(scores: dict[str, torch.Tensor],
                   shapes: dict[str, torch.Size]) -> np.ndarray:
    """Concatenate per-weight scores into one float64 vector ``(N,)`` in ``shapes`` order.

    Raises
    ------
    ValueError
        If a key is missing or extra, or a score's shape differs from its weight's.
    """
    missing = [n for n in shapes if n not in scores]
    extra = [n for n in scores if n not in shapes]
    if missing or extra:
        raise ValueError(f"score keys must be the prunable weights {list(shapes)}; "
                         f"missing {missing}, unexpected {extra}")
    parts = []
    for name, shape in shapes.items():
        s = torch.as_tensor(scores[name])
        if s.shape != shape:
            raise ValueError(f"score {name!r} has shape {tuple(s.shape)}, "
                             f"expected the weight's shape {tuple(shape)}")
        parts.append(s.detach().to("cpu", torch.float64).reshape(-1).numpy())
    return np.concatenate(parts)


def count_kept(keep_fraction: float, n: int) -> int:
    """Number of weights kept: ``round(keep_fraction * n)`` (Python rounding).

    >>> count_kept(0.25, 10), count_kept(1.0, 7), count_kept(0.0, 7)
    (2, 7, 0)
    """
    try:
        f = float(keep_fraction)
    except (TypeError, ValueError):
        raise ValueError(f"keep_fraction must be a number in [0, 1], got {keep_fraction!r}")
    if not 0.0 <= f <= 1.0:  # also rejects NaN
        raise ValueError(f"keep_fraction must lie in [0, 1], got {keep_fraction!r}")
    return int(round(f * n))


def removal_order(primary: np.ndarray, *, descending: bool = False,
                  tiebreak: np.ndarray | None = None) -> np.ndarray:
    """Indices of ``primary`` in removal order (first removed first).

    Sorts lexicographically by ``primary`` (ascending, or descending if ``descending``),
    then by ``tiebreak`` ascending (if given), then by flat index ascending.

    Parameters
    ----------
    primary : np.ndarray, shape (N,)
        Scores; ``+inf``/``-inf`` allowed, NaN rejected.
    descending : bool, default False
        Remove the highest scores first.
    tiebreak : np.ndarray, shape (N,), optional
        Secondary key, smallest first (e.g. ``|W|``).

    Returns
    -------
    np.ndarray of int64, shape (N,)

    >>> removal_order(np.array([1.0, 0.0, 1.0, 0.0]), descending=True).tolist()
    [0, 2, 1, 3]
    >>> removal_order(np.array([1.0, 1.0, 1.0]), tiebreak=np.array([3.0, 1.0, 2.0])).tolist()
    [1, 2, 0]
    """
    primary = np.asarray(primary, dtype=np.float64).reshape(-1)
    if np.isnan(primary).any():
        raise ValueError("scores contain NaN; cannot order weights for removal")
    keys = [np.arange(primary.size)]
    if tiebreak is not None:
        tiebreak = np.asarray(tiebreak, dtype=np.float64).reshape(-1)
        if tiebreak.shape != primary.shape:
            raise ValueError(f"tiebreak has shape {tiebreak.shape}, expected {primary.shape}")
        keys.append(tiebreak)
    keys.append(-primary if descending else primary)
    return np.lexsort(keys).astype(np.int64)


def keep_vector(order: np.ndarray, n_remove: int) -> np.ndarray:
    """Flat boolean keep-mask ``(N,)``: False exactly at ``order[:n_remove]``."""
    n = order.size
    if not 0 <= n_remove <= n:
        raise ValueError(f"cannot remove {n_remove} of {n} weights")
    keep = np.ones(n, dtype=bool)
    keep[order[:n_remove]] = False
    return keep


def split_flat(flat: np.ndarray | torch.Tensor,
               shapes: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
    """Cut a flat vector ``(N,)`` back into per-weight tensors of the given shapes."""
    flat = torch.as_tensor(flat)
    sizes = [int(np.prod(s)) for s in shapes.values()]
    if flat.numel() != sum(sizes):
        raise ValueError(f"flat vector has {flat.numel()} entries, expected {sum(sizes)}")
    return {name: part.reshape(shape) for (name, shape), part
            in zip(shapes.items(), torch.split(flat, sizes))}


def masks_from_order(order: np.ndarray, n_remove: int,
                     shapes: dict[str, torch.Size]) -> dict[str, torch.Tensor]:
    """Boolean masks (True = kept) removing exactly the first ``n_remove`` of ``order``."""
    return split_flat(keep_vector(order, n_remove), shapes)


def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> nn.Module:
    """A pruned deep copy of ``model``: each masked weight multiplied by its mask.

    The model passed in is left unchanged; the copy has the same class and layout.
    """
    pruned = copy.deepcopy(model)
    params = dict(prunable_weights(pruned))
    unknown = [n for n in masks if n not in params]
    if unknown:
        raise ValueError(f"masks name unknown prunable weights {unknown}")
    with torch.no_grad():
        for name, mask in masks.items():
            params[name].mul_(mask.to(params[name].device, params[name].dtype))
    return pruned


class WeightMasker:
    """One working copy of a model whose prunable weights are re-masked in place.

    Keeps the original weights once and sets ``weight = original * mask`` for each new
    flat keep-mask, so a sweep never re-copies the model per point.

    Parameters
    ----------
    model : torch.nn.Module
        Copied once (deep copy, eval mode); the caller's model is never touched.
    """

    def __init__(self, model: nn.Module):
        self.model = copy.deepcopy(model).eval()
        self.params = prunable_weights(self.model)
        self.shapes = {n: p.shape for n, p in self.params}
        self.originals = [p.detach().clone() for _, p in self.params]

    def set_keep(self, keep: np.ndarray | torch.Tensor) -> nn.Module:
        """Apply a flat keep-mask ``(N,)`` (True = kept) and return the working model."""
        parts = split_flat(torch.as_tensor(np.asarray(keep, dtype=bool)), self.shapes)
        with torch.no_grad():
            for (_, p), orig, mask in zip(self.params, self.originals, parts.values()):
                p.copy_(orig * mask.to(orig.device, orig.dtype))
        return self.model
