r"""Summary metrics of accuracy-vs-removed-fraction curves.

For a curve :math:`(f_i, a_i)` sorted by removed fraction with baseline accuracy
:math:`a_0` (the point :math:`f = 0`):

.. math::

    f^\ast_\delta = \max\{f_j : a_i \ge a_0 - \delta \ \ \forall i \le j\}, \qquad
    \mathrm{AUC} = \sum_i \tfrac12 (f_{i+1} - f_i)(a_i + a_{i+1}),

the largest fraction reached before the accuracy first drops by more than
:math:`\delta` (default one point, 0.01), and the trapezoidal area under the curve.

>>> f, a = [0.0, 0.5, 0.8, 1.0], [0.9, 0.895, 0.5, 0.1]
>>> max_removable_fraction(f, a), round(area_under_curve(f, a), 6)
(0.5, 0.718)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["area_under_curve", "max_removable_fraction", "summarize"]

_GROUP_COLUMNS = ("model", "layer", "method", "scorer", "order", "grid")


def _sorted_curve(fractions, accuracies):
    f = np.asarray(fractions, dtype=np.float64).reshape(-1)
    a = np.asarray(accuracies, dtype=np.float64).reshape(-1)
    if f.shape != a.shape or f.size == 0:
        raise ValueError(f"need equally long non-empty curves, got {f.size} fractions "
                         f"and {a.size} accuracies")
    idx = np.argsort(f, kind="stable")
    return f[idx], a[idx]


def area_under_curve(fractions, accuracies) -> float:
    """Trapezoidal area under accuracy vs removed fraction (over the points given)."""
    f, a = _sorted_curve(fractions, accuracies)
    return float(np.sum(np.diff(f) * (a[1:] + a[:-1]) / 2.0))


def max_removable_fraction(fractions, accuracies, drop: float = 0.01,
                           baseline: float | None = None) -> float:
    """Largest removed fraction before accuracy first falls more than ``drop`` below baseline.

    Parameters
    ----------
    fractions, accuracies : array-like, shape (P,)
        Accuracies in [0, 1].
    drop : float, default 0.01
        Allowed drop (0.01 = one percentage point).
    baseline : float, optional
        Defaults to the accuracy at removed fraction 0 (which must then be present).
    """
    f, a = _sorted_curve(fractions, accuracies)
    if baseline is None:
        if f[0] != 0.0:
            raise ValueError("no point at removed fraction 0: pass baseline=")
        baseline = a[0]
    ok = a >= baseline - drop - 1e-12
    bad = np.flatnonzero(~ok)
    last = f.size if bad.size == 0 else bad[0]
    return float(f[last - 1]) if last > 0 else float("nan")


def summarize(table: pd.DataFrame, drop: float = 0.01) -> pd.DataFrame:
    """One row per curve of a sweep table: baseline, final accuracy, f*, AUC.

    Curves are grouped by the columns among ``model, layer, method, scorer, order,
    grid`` that the table has. ``base_accuracy`` is the accuracy at zero removed.
    """
    keys = [c for c in _GROUP_COLUMNS if c in table.columns]
    rows = []
    for group, curve in table.groupby(keys, sort=False, dropna=False):
        f = curve["removed_fraction"].to_numpy()
        a = curve["accuracy"].to_numpy()
        base = a[f == 0][0] if (f == 0).any() else np.nan
        rows.append({**dict(zip(keys, group if isinstance(group, tuple) else (group,))),
                     "points": len(curve), "base_accuracy": base,
                     "final_accuracy": a[np.argmax(f)],
                     "max_removable_fraction": max_removable_fraction(f, a, drop, base)
                     if not np.isnan(base) else np.nan,
                     "auc": area_under_curve(f, a)})
    return pd.DataFrame(rows)
