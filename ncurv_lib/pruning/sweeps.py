r"""Accuracy sweeps: remove a growing number of weights, measure test accuracy.

For a removal order :math:`\pi` of the :math:`N` prunable weights, the point with
:math:`k` removed weights evaluates the network with mask
:math:`m_{\pi_1} = \dots = m_{\pi_k} = 0` (no retraining). The order is computed once;
each grid point is a prefix of it, applied in place to one working copy of the model.
At a removed fraction :math:`f` of the common grid, :math:`k = N - \mathrm{round}((1-f)N)`,
the same count ``prune_masks(model, scorer, 1 - f)`` removes.

Iterative SynFlow is the exception: its masks are not nested across keep fractions, so
each point runs the iterative schedule (``synflow_iterative=False`` sweeps the
single-shot SynFlow order instead).

Each row of a sweep table is one point: ``method, scorer, order, grid, layer,
removed_count, removed_fraction, n_weights, accuracy, last_score`` (``last_score`` is
the score of the last weight removed, NaN at zero removed; ``layer`` is "all" for
global sweeps).

>>> common_grid("smoke").tolist()
[0.0, 0.5, 0.9, 0.99, 1.0]
>>> sign_aware_counts(np.array([-1.0, -2.0, 0.0, 3.0, 4.0, 5.0]), "negative").tolist()
[0, 1, 2, 3, 4, 5, 6]
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from .api import check_scorer, removal_plan
from .masks import WeightMasker, count_kept, flatten_scores, keep_vector, weight_shapes
from .scorers import curvature_scores, synflow_masks

__all__ = ["GRIDS", "METHODS", "common_grid", "sign_aware_counts", "accuracy",
           "global_sweep", "layer_sweep", "sweep_all", "parse_method"]

GRIDS = ("smoke", "default", "fine")
METHODS = ("magnitude", "snip", "synflow", "curvature-positive", "curvature-negative")
_TAIL = (0.925, 0.95, 0.975, 0.99, 0.995, 0.999, 1.0)


def common_grid(name: str = "default") -> np.ndarray:
    """Removed fractions of a named common grid, ascending.

    * ``smoke``: 0, 0.5, 0.9, 0.99, 1;
    * ``default``: 0 to 0.9 in steps of 0.05, then 0.925, 0.95, 0.975, 0.99, 0.995,
      0.999, 1 (26 points);
    * ``fine``: 0 to 0.9 in steps of 0.025, then the same tail (44 points).
    """
    if name == "smoke":
        pts = [0.0, 0.5, 0.9, 0.99, 1.0]
    elif name == "default":
        pts = list(np.linspace(0.0, 0.9, 19)) + list(_TAIL)
    elif name == "fine":
        pts = list(np.linspace(0.0, 0.9, 37)) + list(_TAIL)
    else:
        raise ValueError(f"unknown grid {name!r}; expected one of {GRIDS}")
    return np.unique(np.round(np.asarray(pts, dtype=np.float64), 12))


def sign_aware_counts(flat_scores: np.ndarray, order: str) -> np.ndarray:
    r"""The authors' sign-aware grid of removed counts for a curvature order.

    With :math:`n_-`, :math:`n_+` the numbers of negative and positive scores:
    negative-first at ``linspace(0, n_-, 12)[:-1]`` and ``linspace(n_-, N, 6)``;
    positive-first at ``linspace(0, n_+, 25)[:-1]`` and ``linspace(n_+, N, 10)``;
    rounded to the nearest integer, duplicates dropped, ascending.
    """
    s = np.asarray(flat_scores, dtype=np.float64).reshape(-1)
    n = s.size
    if order == "negative":
        n_sign, a, b = int((s < 0).sum()), 12, 6
    elif order == "positive":
        n_sign, a, b = int((s > 0).sum()), 25, 10
    else:
        raise ValueError(f"unknown curvature order {order!r}; expected 'positive' or "
                         "'negative'")
    pts = np.concatenate([np.linspace(0, n_sign, a)[:-1], np.linspace(n_sign, n, b)])
    return np.unique(np.rint(pts).astype(np.int64))


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             batch_size: int = 1000) -> float:
    """Top-1 accuracy in [0, 1] of ``model`` on ``(x, y)``, batched, in inference mode.

    >>> net = torch.nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.eye(2))
    >>> accuracy(net, torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0]]), torch.tensor([0, 1, 1]))
    0.6666666666666666
    """
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"accuracy: x has {len(x)} rows and y has {len(y)}")
    p = next(model.parameters())
    correct = 0
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            xb = torch.as_tensor(x[start:start + batch_size]).to(p.device, p.dtype)
            pred = model(xb).argmax(dim=1).cpu()
            correct += int((pred == torch.as_tensor(y[start:start + batch_size])).sum())
    return correct / len(x)


def parse_method(method: str) -> tuple[str, str | None]:
    """``"curvature-positive"`` -> ``("curvature", "positive")``; others -> (name, None)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    scorer, _, order = method.partition("-")
    return scorer, order or None


def _method_name(scorer: str, order: str | None) -> str:
    return scorer if order is None else f"{scorer}-{order}"


def _rows(masker, x, y, points, *, n, info, batch_size, bar):
    """Evaluate each (count, keep, last_score) point; one dict per point.

    ``n`` is the number of weights the removed fraction refers to.
    """
    rows = []
    for count, keep, last in points:
        model = masker.set_keep(keep)
        rows.append({**info, "removed_count": int(count), "removed_fraction": count / n,
                     "n_weights": n, "accuracy": accuracy(model, x, y, batch_size),
                     "last_score": last})
        bar.update(1)
    return rows


def _prefix_points(order, flat, counts):
    """(count, keep vector, score of the last removed weight) for each prefix length."""
    return ((k, keep_vector(order, k), float(flat[order[k - 1]]) if k else np.nan)
            for k in counts)


def _fraction_counts(fractions, n):
    f = np.asarray(fractions, dtype=np.float64)
    return [n - count_kept(1.0 - fi, n) for fi in f]


def global_sweep(model: nn.Module, x: torch.Tensor, y: torch.Tensor, scorer: str,
                 data=None, *, grid: str = "default", fractions=None,
                 sign_aware: bool = True, synflow_iterative: bool = True,
                 iterations: int = 100, batch_size: int = 1000,
                 progress: bool | None = None, **options) -> pd.DataFrame:
    """Global sweep of one scorer (and curvature order) over a grid of removed fractions.

    Parameters
    ----------
    model : torch.nn.Module
        Trained model; never modified (one working copy is masked in place).
    x, y : torch.Tensor, shapes (M, *input_shape) and (M,)
        Evaluation set (the official test set in the book).
    scorer : {"magnitude", "snip", "synflow", "curvature"}
    data : tuple (x, y), optional
        Pruning batch (SNIP), or input shape source (SynFlow).
    grid : str, default "default"
        Common grid name (see :func:`common_grid`), unless ``fractions`` is given.
    fractions : array-like of float, optional
        Removed fractions in [0, 1] (overrides ``grid``).
    sign_aware : bool, default True
        For curvature, add the points of :func:`sign_aware_counts` (``grid="sign_aware"``).
    synflow_iterative : bool, default True
        SynFlow: rerun the iterative schedule at every point (else single-shot order).
    iterations : int, default 100
        SynFlow rounds per point.
    batch_size : int, default 1000
        Evaluation batch size.
    progress : bool or None
        tqdm bar over the points (None: only on a terminal).
    **options
        Passed to :func:`ncurv_lib.prune_scores` (``order``, ``scores``, ``calib``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per point (columns in the module docstring), ascending within each grid.
    """
    order_name = check_scorer(scorer, options.get("order"))
    fr = common_grid(grid) if fractions is None else np.asarray(fractions, np.float64)
    if fr.size == 0 or (fr < 0).any() or (fr > 1).any():
        raise ValueError("removed fractions must be a non-empty list of values in [0, 1]")
    masker = WeightMasker(model)
    info = {"method": _method_name(scorer, order_name), "scorer": scorer,
            "order": order_name or "lowest", "layer": "all"}
    n = sum(int(np.prod(s)) for s in masker.shapes.values())
    counts = _fraction_counts(np.sort(fr), n)
    if scorer == "synflow" and synflow_iterative:
        bar = tqdm(total=len(counts), desc="synflow sweep", disable=_disable(progress))
        points = _synflow_points(model, counts, n, data, iterations,
                                 options.get("input_shape"))
        rows = _rows(masker, x, y, points, n=n, info={**info, "grid": "common"},
                     batch_size=batch_size, bar=bar)
        bar.close()
        return pd.DataFrame(rows)
    order, flat = removal_plan(model, scorer, data, **options)
    sign = sign_aware_counts(flat, order_name).tolist() \
        if scorer == "curvature" and sign_aware else []
    bar = tqdm(total=len(counts) + len(sign), desc=f"{info['method']} sweep",
               disable=_disable(progress))
    rows = _rows(masker, x, y, _prefix_points(order, flat, counts), n=n,
                 info={**info, "grid": "common"}, batch_size=batch_size, bar=bar)
    rows += _rows(masker, x, y, _prefix_points(order, flat, sign), n=n,
                  info={**info, "grid": "sign_aware"}, batch_size=batch_size, bar=bar)
    bar.close()
    return pd.DataFrame(rows)


def _disable(progress):
    return None if progress is None else not progress


def _synflow_points(model, counts, n, data, iterations, input_shape):
    """Iterative SynFlow masks for each removed count, lazily (one schedule per point)."""
    shapes = weight_shapes(model)
    for k in counts:
        if k == 0:
            yield k, np.ones(n, dtype=bool), np.nan
            continue
        masks, scores = synflow_masks(model, (n - k) / n, iterations=iterations, data=data,
                                      input_shape=input_shape, return_scores=True)
        keep = np.concatenate([m.reshape(-1).numpy() for m in masks.values()])
        flat = flatten_scores(scores, shapes)
        yield k, keep, float(flat[~keep].max())


def layer_sweep(model: nn.Module, x: torch.Tensor, y: torch.Tensor, scorer: str,
                data=None, *, grid: str = "default", fractions=None, layers=None,
                batch_size: int = 1000, progress: bool | None = None,
                **options) -> pd.DataFrame:
    """Per-layer sweeps: prune a growing fraction of ONE layer's weights at a time.

    The order inside a layer is the global removal order restricted to that layer
    (SynFlow: its single-shot order). At removed fraction ``f`` of a layer with
    :math:`n_l` weights, :math:`n_l - \\mathrm{round}((1-f) n_l)` of its weights are
    removed; every other layer is left intact. Parameters as :func:`global_sweep`, plus
    ``layers`` (weight names; all prunable weights by default). Column ``layer`` names
    the pruned weight and ``removed_fraction`` is relative to that layer.
    """
    order_name = check_scorer(scorer, options.get("order"))
    fr = np.sort(common_grid(grid) if fractions is None
                 else np.asarray(fractions, np.float64))
    if fr.size == 0 or (fr < 0).any() or (fr > 1).any():
        raise ValueError("removed fractions must be a non-empty list of values in [0, 1]")
    shapes = weight_shapes(model)
    layers = list(shapes) if layers is None else list(layers)
    unknown = [name for name in layers if name not in shapes]
    if unknown:
        raise ValueError(f"unknown layers {unknown}; prunable weights are {list(shapes)}")
    order, flat = removal_plan(model, scorer, data, **options)
    owner = np.repeat(np.arange(len(shapes)), [int(np.prod(s)) for s in shapes.values()])
    masker = WeightMasker(model)
    method = _method_name(scorer, order_name)
    bar = tqdm(total=len(layers) * fr.size, desc=f"{method} per-layer",
               disable=_disable(progress))
    rows = []
    for name in layers:
        sub = order[owner[order] == list(shapes).index(name)]
        points = []
        for k in _fraction_counts(fr, sub.size):
            keep = np.ones(flat.size, dtype=bool)
            keep[sub[:k]] = False
            points.append((k, keep, float(flat[sub[k - 1]]) if k else np.nan))
        info = {"method": method, "scorer": scorer, "order": order_name or "lowest",
                "layer": name, "grid": "common"}
        rows += _rows(masker, x, y, points, n=int(sub.size), info=info,
                      batch_size=batch_size, bar=bar)
    bar.close()
    return pd.DataFrame(rows)


def sweep_all(model: nn.Module, x: torch.Tensor, y: torch.Tensor, methods=METHODS, *,
              data=None, curvature=None, per_layer: bool = False, **kwargs) -> pd.DataFrame:
    """Global (and optionally per-layer) sweeps of several methods in one table.

    Parameters
    ----------
    methods : sequence of str
        From :data:`METHODS`, e.g. ``("magnitude", "curvature-positive")``.
    data : tuple (x, y), optional
        Pruning batch for SNIP (and SynFlow's input shape).
    curvature : dict of str -> tensor, optional
        Precomputed ``parameter_curvature`` scores (needed by curvature methods).
    per_layer : bool, default False
        Also run :func:`layer_sweep` for every method except SynFlow.
    **kwargs
        Passed to :func:`global_sweep` / :func:`layer_sweep` (``grid``, ``batch_size``, ...).
    """
    parsed = [parse_method(m) for m in methods]
    if any(s == "curvature" for s, _ in parsed):
        if curvature is None:
            raise ValueError("curvature methods need curvature= (parameter_curvature scores)")
        curvature = curvature_scores(model, scores=curvature)
    layer_kwargs = {k: v for k, v in kwargs.items()
                    if k in ("grid", "fractions", "layers", "batch_size", "progress")}
    glob_kwargs = {k: v for k, v in kwargs.items() if k != "layers"}
    tables = []
    for scorer, order in parsed:
        opts = {} if order is None else {"order": order, "scores": curvature}
        tables.append(global_sweep(model, x, y, scorer, data, **glob_kwargs, **opts))
        if per_layer and scorer != "synflow":
            tables.append(layer_sweep(model, x, y, scorer, data, **layer_kwargs, **opts))
    return pd.concat(tables, ignore_index=True)
