"""Pruning without retraining: scorers, exact-count masks and accuracy sweeps.

Public names: :func:`prune_scores`, :func:`prune_masks` (re-exported by ``ncurv_lib``),
the sweeps :func:`global_sweep`, :func:`layer_sweep`, :func:`sweep_all`, the grids,
the summary :func:`summarize`, and the cached runs :class:`SweepConfig` /
:func:`load_or_sweep` that the CLI (``python -m ncurv_lib prune``) and notebooks call.

Modules, in data-flow order: :mod:`.masks` (prunable weights, orders, exact-count
masks) -> :mod:`.scorers` (magnitude, SNIP, SynFlow, curvature) -> :mod:`.api`
(``prune_scores``, ``prune_masks``) -> :mod:`.sweeps` -> :mod:`.metrics` -> :mod:`.runs`
(cache) -> :mod:`.cli`.
"""
from .api import CURVATURE_ORDERS, SCORERS, prune_masks, prune_scores, removal_plan
from .masks import apply_masks, prunable_weights
from .metrics import area_under_curve, max_removable_fraction, summarize
from .runs import SweepConfig, load_or_sweep
from .sweeps import (GRIDS, METHODS, common_grid, global_sweep, layer_sweep,
                     sign_aware_counts, sweep_all)

__all__ = [
    "SCORERS", "CURVATURE_ORDERS", "prune_scores", "prune_masks", "removal_plan",
    "apply_masks", "prunable_weights",
    "GRIDS", "METHODS", "common_grid", "sign_aware_counts", "global_sweep", "layer_sweep",
    "sweep_all", "SweepConfig", "load_or_sweep",
    "area_under_curve", "max_removable_fraction", "summarize",
]
