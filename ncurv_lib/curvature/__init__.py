"""Exact neural curvature of feed-forward networks (the contract's §1-§6).

The data flow is one module per step: :mod:`.chain` (model -> validated layer
chain) -> :mod:`.graph` (per-transition connectivity) -> :mod:`.activations`
(node values, beta) -> :mod:`.measures` (neighbour distributions) ->
:mod:`.distances` (min-plus products) -> :mod:`.transport` (reduced optimal
transport) -> :mod:`.api` (``edge_curvature``) -> :mod:`.params`
(``parameter_curvature``, exact minima by branch and bound).
"""
from .chain import UnsupportedModelError, layer_chain
from .api import CONVENTIONS, CurvatureConfig, Stats, edge_curvature
from .params import parameter_curvature, parameter_curvature_chunks

__all__ = ["CONVENTIONS", "CurvatureConfig", "Stats", "UnsupportedModelError", "edge_curvature",
           "layer_chain", "parameter_curvature", "parameter_curvature_chunks"]
