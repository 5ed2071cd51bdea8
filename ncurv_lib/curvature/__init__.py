"""Exact neural curvature of feed-forward networks (the contract's §1-§6).

The data flow is one module per step: :mod:`.chain` (model -> validated layer
chain) -> :mod:`.graph` (per-transition connectivity) -> :mod:`.activations`
(node values, beta) -> :mod:`.measures` (neighbour distributions) ->
:mod:`.distances` / :mod:`.conv_distances` (min-plus products) ->
:mod:`.transport`, :mod:`.kernels`, :mod:`.simplex` (reduced optimal
transport) -> :mod:`.edges` (one transition's edges, in chunks) -> :mod:`.core`
(a prepared model, supports, one transition solved) -> :mod:`.api`
(``CurvatureConfig``, ``Stats``, ``edge_curvature``) -> :mod:`.params`
(``parameter_curvature``, exact minima by branch and bound). :mod:`.parallel`
holds the thread and process pools, :mod:`.problem` one edge's transport
problem as a value, :mod:`.lazy` the finite-alpha reference.

The package is the bottom layer: it imports nothing else of ``ncurv_lib``, and
no two of its modules import each other. The public names are those below.
"""
from .chain import UnsupportedModelError, layer_chain
from .api import CONVENTIONS, CurvatureConfig, Stats, edge_curvature
from .params import parameter_curvature, parameter_curvature_chunks

__all__ = ["CONVENTIONS", "CurvatureConfig", "Stats", "UnsupportedModelError", "edge_curvature",
           "layer_chain", "parameter_curvature", "parameter_curvature_chunks"]
