"""Figures of pruning sweeps: accuracy against the fraction of weights removed.

Every pruning chapter of the book draws with these, so curves share colours, labels
and axes. Inputs are sweep tables (:func:`ncurv_lib.pruning.runs.load_or_sweep`, or
:func:`ncurv_lib.pipeline.plan_sweeps` for all sweeps of a scale).
"""
from __future__ import annotations

import numpy as np

from ..plotting import METHOD_COLORS

LABELS = {"magnitude": "magnitude", "snip": "SNIP", "synflow": "SynFlow",
          "curvature-positive": "curvature (positive-first)",
          "curvature-negative": "curvature (negative-first)"}


def method_color(method: str) -> str:
    """The book's colour of a sweep method."""
    return METHOD_COLORS[LABELS.get(method, method) if method.startswith("curv") else method]


def curve(table, method, grid=None, layer="all"):
    """One curve, sorted by removed fraction: the rows of ``method`` (and ``grid``)."""
    rows = table[(table["method"] == method) & (table["layer"] == layer)]
    if grid is not None:
        rows = rows[rows["grid"] == grid]
    return rows.sort_values(["removed_fraction", "accuracy"], ascending=[True, False])


def plot_curves(ax, table, methods, grid="common", layer="all", title=None, markers=True):
    """Accuracy vs removed fraction, one line per method present in ``table``."""
    drawn = []
    for method in methods:
        c = curve(table, method, grid, layer)
        if c.empty:
            continue
        ax.plot(c["removed_fraction"], c["accuracy"], marker="o" if markers else None,
                ms=3, lw=1.5, color=method_color(method), label=LABELS.get(method, method))
        drawn.append(method)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(0, 1)
    ax.set_xlabel("fraction of weights removed")
    ax.set_ylabel("test accuracy")
    if title:
        ax.set_title(title, fontsize=10)
    return drawn


def annotate_last_scores(ax, table, method, grid="common", every=2, layer="all"):
    """Write the curvature of the last removed weight next to points of a curve."""
    c = curve(table, method, grid, layer).dropna(subset=["last_score"])
    for i, (_, row) in enumerate(c.iterrows()):
        if i % every == 0 and np.isfinite(row["last_score"]):
            ax.annotate(f"{row['last_score']:+.2f}", (row["removed_fraction"], row["accuracy"]),
                        textcoords="offset points", xytext=(2, 4), fontsize=6,
                        color=method_color(method))


def panel_grid(n, ncols=3, size=(3.2, 2.6)):
    """A figure with ``n`` panels in rows of ``ncols`` (spare axes hidden)."""
    import matplotlib.pyplot as plt
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows),
                             squeeze=False, sharey=True)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


def layer_labels(model) -> dict:
    """``{"<module>.weight": "conv1 (1,728 weights)", ...}``: conv / fc layers numbered in
    order, with their weight counts."""
    from .masks import prunable_weights
    counts, out = {"conv": 0, "fc": 0}, {}
    for name, w in prunable_weights(model):
        kind = "conv" if w.dim() == 4 else "fc"
        counts[kind] += 1
        out[name] = f"{kind}{counts[kind]} ({w.numel():,} weights)"
    return out


def calibration_sets(table):
    """``table`` (curvature sweeps with ``dataset``, ``calib_k``, ``calib_classes``) with
    ``examples`` (the calibration set's size) and ``set`` (its label: ``"1 (label 0)"``,
    ``"5 (labels 0-4)"``, ``"100"``) added.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"dataset": "mnist", "calib_k": [1, 1, 0],
    ...                   "calib_classes": ["0", "0,1,2,3,4", ""]})
    >>> calibration_sets(t)["set"].tolist()
    ['1 (label 0)', '5 (labels 0-4)', '100']
    """
    from .. import data
    classes = [[int(c) for c in cls.split(",")] if cls else None for cls in table.calib_classes]
    n = [data.calibration_size(ds, k, c)
         for ds, k, c in zip(table.dataset, table.calib_k, classes)]
    label = [f"{m}" + ("" if not c else f" (label {c[0]})" if len(c) == 1
                       else f" (labels {c[0]}-{c[-1]})") for m, c in zip(n, classes)]
    return table.assign(examples=n, set=label)
