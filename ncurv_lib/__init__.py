"""ncurv_lib: exact neural curvature of trained networks, and what it is used for.

The public API is what this module lists in ``__all__``. Submodules are imported
lazily, so ``import ncurv_lib`` stays cheap and a command-line call only pays for
what it uses.

>>> import ncurv_lib as nc
>>> sorted(nc.__all__)[:3]
['CurvatureConfig', 'UnsupportedModelError', 'edge_curvature']
"""
from importlib import import_module

__version__ = "0.1.0"

# public name -> submodule that defines it
_EXPORTS = {
    "CurvatureConfig": "ncurv_lib.curvature",
    "edge_curvature": "ncurv_lib.curvature",
    "parameter_curvature": "ncurv_lib.curvature",
    "UnsupportedModelError": "ncurv_lib.curvature",
    "prune_scores": "ncurv_lib.pruning",
    "prune_masks": "ncurv_lib.pruning",
}

__all__ = sorted(_EXPORTS)

_SUBMODULES = ("cache", "curvature", "dag", "data", "models", "orc", "paths", "plotting",
               "pruning", "scores", "train")


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    if name in _SUBMODULES:  # nc.pruning, nc.dag ... without an explicit import
        return import_module(f"ncurv_lib.{name}")
    raise AttributeError(f"module 'ncurv_lib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))
