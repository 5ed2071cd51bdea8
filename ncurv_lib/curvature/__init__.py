"""Exact neural curvature of feed-forward networks (the contract's §1-§6).

The data flow is one module per step: :mod:`.chain` (model -> validated layer
chain) -> :mod:`.graph` (per-transition connectivity) -> :mod:`.activations`
(node values, beta) -> :mod:`.measures` (neighbour distributions) ->
:mod:`.distances` (min-plus products) -> :mod:`.transport` (reduced optimal
transport) -> :mod:`.api` (``edge_curvature``) -> :mod:`.params`
(``parameter_curvature``, exact minima by branch and bound).
"""
from .chain import UnsupportedModelError
from .api import CurvatureConfig, edge_curvature
from .params import parameter_curvature

__all__ = ["CurvatureConfig", "UnsupportedModelError", "edge_curvature",
           "parameter_curvature"]
