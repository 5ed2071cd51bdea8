"""DAG architectures of ReLU networks: validated edge lists and builders.

A network is a directed acyclic graph :math:`G = (V, E)` whose nodes split into
inputs :math:`I`, outputs :math:`O` and hidden neurons :math:`\\tilde V = V
\\setminus (I \\cup O)`. Edge :math:`e = (u, v)` carries one weight
:math:`\\theta_e`; hidden neurons apply a ReLU, outputs are linear. A bias is an
input node whose value is constantly 1 (a "virtual input").
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["DAG", "mlp_dag", "random_dag", "from_sequential", "check_theta"]


def _as_int_tuple(values, what):
    out = []
    for x in values:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
            raise ValueError(f"{what} must be integers, got {x!r}")
        out.append(int(x))
    return tuple(out)


@dataclass(frozen=True)
class DAG:
    """A validated ReLU network architecture.

    Parameters
    ----------
    edges : sequence of (int, int)
        Edge ``e`` goes from ``edges[e][0]`` (tail) to ``edges[e][1]`` (head);
        ``theta[e]`` is its weight. No duplicates, no cycles.
    inputs, outputs : sequence of int
        Input and output nodes (disjoint). Inputs have no in-edges, outputs no
        out-edges; every other node of an edge is hidden and needs at least one
        in-edge and one out-edge.
    bias_inputs : sequence of int, default ()
        Inputs whose value is the constant 1 (virtual bias nodes).

    Examples
    --------
    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> G.hidden, G.num_edges, G.depth
    ((2,), 3, 2)
    """

    edges: tuple
    inputs: tuple
    outputs: tuple
    bias_inputs: tuple = ()
    hidden: tuple = field(init=False)
    nodes: tuple = field(init=False)
    topo_order: tuple = field(init=False)

    def __post_init__(self):
        edges = tuple(_as_int_tuple(e, "edge endpoints") for e in self.edges)
        if any(len(e) != 2 for e in edges):
            raise ValueError("every edge must be a pair (src, dst)")
        inputs = _as_int_tuple(self.inputs, "inputs")
        outputs = _as_int_tuple(self.outputs, "outputs")
        bias = _as_int_tuple(self.bias_inputs, "bias_inputs")
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "outputs", outputs)
        object.__setattr__(self, "bias_inputs", bias)
        _validate_sets(edges, inputs, outputs, bias)
        nodes = sorted(set(inputs) | set(outputs) | {x for e in edges for x in e})
        hidden = tuple(v for v in nodes if v not in set(inputs) | set(outputs))
        _validate_degrees(edges, hidden)
        object.__setattr__(self, "nodes", tuple(nodes))
        object.__setattr__(self, "hidden", hidden)
        object.__setattr__(self, "topo_order", _topological_order(nodes, edges))

    @property
    def num_edges(self) -> int:
        """Number of edges (= length of theta)."""
        return len(self.edges)

    @property
    def edge_array(self) -> np.ndarray:
        """Edges as an int64 array of shape (E, 2)."""
        return np.asarray(self.edges, dtype=np.int64).reshape(-1, 2)

    @property
    def data_inputs(self) -> tuple:
        """Inputs that read data (all inputs but the bias nodes)."""
        return tuple(v for v in self.inputs if v not in set(self.bias_inputs))

    @property
    def levels(self) -> np.ndarray:
        """Longest-path depth of every node of ``self.nodes`` (inputs at 0)."""
        pos = {v: i for i, v in enumerate(self.nodes)}
        level = np.zeros(len(self.nodes), dtype=np.int64)
        preds = {v: [] for v in self.nodes}
        for u, v in self.edges:
            preds[v].append(pos[u])
        for v in self.topo_order:
            if preds[v]:
                level[pos[v]] = level[preds[v]].max() + 1
        return level

    @property
    def depth(self) -> int:
        """Number of edges on the longest input-output path."""
        return int(self.levels.max()) if self.nodes else 0


def _validate_sets(edges, inputs, outputs, bias):
    if len(set(inputs)) != len(inputs) or len(set(outputs)) != len(outputs):
        raise ValueError("inputs and outputs must not repeat nodes")
    if set(inputs) & set(outputs):
        raise ValueError(f"nodes {sorted(set(inputs) & set(outputs))} are both input and output")
    if not set(bias) <= set(inputs):
        raise ValueError("bias_inputs must be input nodes")
    if len(set(edges)) != len(edges):
        raise ValueError("duplicate edges are not allowed")
    for u, v in edges:
        if u == v:
            raise ValueError(f"self-loop ({u}, {v}) makes a cycle")
        if v in inputs:
            raise ValueError(f"edge ({u}, {v}) goes into input node {v}")
        if u in outputs:
            raise ValueError(f"edge ({u}, {v}) leaves output node {u}")


def _validate_degrees(edges, hidden):
    tails = {u for u, _ in edges}
    heads = {v for _, v in edges}
    no_in = [v for v in hidden if v not in heads]
    no_out = [v for v in hidden if v not in tails]
    if no_in:
        raise ValueError(f"hidden nodes {no_in} have no in-edges")
    if no_out:
        raise ValueError(f"hidden nodes {no_out} have no out-edges")


def _topological_order(nodes, edges):
    """Kahn's algorithm; raises ValueError on a cycle."""
    indeg = {v: 0 for v in nodes}
    succ = {v: [] for v in nodes}
    for u, v in edges:
        indeg[v] += 1
        succ[u].append(v)
    ready = [v for v in nodes if indeg[v] == 0]
    order = []
    while ready:
        u = ready.pop()
        order.append(u)
        for v in succ[u]:
            indeg[v] -= 1
            if indeg[v] == 0:
                ready.append(v)
    if len(order) != len(nodes):
        stuck = sorted(v for v in nodes if indeg[v] > 0)
        raise ValueError(f"the graph has a cycle through nodes {stuck[:10]}")
    return tuple(order)


def check_theta(G: DAG, theta, name="theta"):
    """Return ``theta`` as a float64 numpy array of shape (..., E), validated.

    Raises ValueError on a wrong last dimension or non-finite entries.
    """
    arr = theta.detach().cpu().numpy() if hasattr(theta, "detach") else np.asarray(theta)
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] != G.num_edges:
        raise ValueError(f"{name} must have last dimension {G.num_edges} (one per edge), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def mlp_dag(sizes, bias=False, skips=()):
    """Layered MLP as a DAG, optionally with a bias node and skip connections.

    Nodes are numbered layer by layer: inputs ``0..sizes[0]-1``, then (with
    ``bias``) the bias node, then hidden layers, then the outputs. Layer ``l``
    is fully connected to layer ``l+1``; each pair ``(a, b)`` in ``skips``
    (``b > a + 1``) also fully connects layer ``a`` to layer ``b``. The bias
    node feeds every hidden and output node. Edges are ordered by target
    layer, then target, then source (like ``nn.Linear`` weights row-major).

    Examples
    --------
    >>> G = mlp_dag([2, 3, 1], bias=True)
    >>> G.inputs, G.bias_inputs, G.hidden, G.outputs, G.num_edges
    ((0, 1, 2), (2,), (3, 4, 5), (6,), 13)
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list at least two positive layer widths, got {sizes}")
    for a, b in skips:
        if not 0 <= a < b - 1 < len(sizes) - 1:
            raise ValueError(f"skip ({a}, {b}) must join layers a < b - 1 within {len(sizes)} layers")
    first = sizes[0] + int(bias)
    starts = np.cumsum([0, first] + sizes[1:])
    layer = [list(range(starts[0], starts[0] + sizes[0]))]
    layer += [list(range(starts[i], starts[i + 1])) for i in range(1, len(sizes))]
    bias_node = [sizes[0]] if bias else []
    edges = []
    for lb in range(1, len(sizes)):
        sources = [la for la in range(lb) if la == lb - 1 or (la, lb) in set(map(tuple, skips))]
        for v in layer[lb]:
            for la in sources:
                edges += [(u, v) for u in layer[la]]
            edges += [(b, v) for b in bias_node]
    return DAG(edges=edges, inputs=layer[0] + bias_node, outputs=layer[-1], bias_inputs=bias_node)


def random_dag(n_in, n_hidden, n_out, p=0.3, seed=0):
    """Random DAG: hidden nodes in a random topological order, edges with prob. ``p``.

    Nodes ``0..n_in-1`` are inputs, the next ``n_hidden`` hidden (edges only
    go from lower to higher index), the last ``n_out`` outputs. Any hidden node
    left without an in-edge (out-edge) gets one from a random earlier (to a
    random later) node, so the result is always valid.

    Examples
    --------
    >>> G = random_dag(2, 4, 1, p=0.5, seed=3)
    >>> G == random_dag(2, 4, 1, p=0.5, seed=3), len(G.hidden)
    (True, 4)
    """
    rng = np.random.default_rng(seed)
    n = n_in + n_hidden + n_out
    src, dst = np.triu_indices(n, k=1)
    keep = (src >= n_in) | (dst >= n_in)  # no input-input edges
    keep &= src < n_in + n_hidden  # outputs have no out-edges
    src, dst = src[keep], dst[keep]
    adj = np.zeros((n, n), dtype=bool)
    adj[src, dst] = rng.random(src.size) < p
    for v in range(n_in, n_in + n_hidden):
        if not adj[:, v].any():
            adj[rng.integers(0, v), v] = True
        if not adj[v, :].any():
            adj[v, rng.integers(v + 1, n)] = True
    edges = [tuple(map(int, e)) for e in zip(*np.nonzero(adj))]
    return DAG(edges=edges, inputs=range(n_in), outputs=range(n_in + n_hidden, n))


def from_sequential(model):
    """Convert a layered ``nn.Sequential`` of Linear and ReLU layers into ``(G, theta)``.

    Linear layers must alternate with ReLU (no activation after the last
    Linear); ``nn.Flatten`` / ``nn.Identity`` are skipped. Biases become one
    shared bias node (an input with constant value 1).

    Returns
    -------
    G : DAG
        ``mlp_dag(sizes, bias=any_bias)`` with the network's layer widths.
    theta : ndarray of shape (E,)
        Float64 weights ordered like ``G.edges``; a missing bias is 0.

    Examples
    --------
    >>> import torch
    >>> m = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    >>> G, theta = from_sequential(m)
    >>> G.num_edges, theta.shape
    (13, (13,))
    """
    import torch.nn as nn

    linears, expect_linear = [], True
    for layer in model:
        if isinstance(layer, (nn.Flatten, nn.Identity)):
            continue
        if isinstance(layer, nn.Linear) and expect_linear:
            linears.append(layer)
        elif isinstance(layer, nn.ReLU) and not expect_linear:
            pass
        else:
            raise ValueError(f"only alternating Linear/ReLU layers convert to a DAG, got {layer!r}")
        expect_linear = not expect_linear
    if not linears or expect_linear:
        raise ValueError("the model must start and end with nn.Linear")
    sizes = [linears[0].in_features] + [lin.out_features for lin in linears]
    bias = any(lin.bias is not None for lin in linears)
    blocks = []
    for lin in linears:
        w = lin.weight.detach().double().cpu().numpy()
        b = lin.bias.detach().double().cpu().numpy() if lin.bias is not None else np.zeros(w.shape[0])
        blocks.append(np.concatenate([w, b[:, None]], axis=1) if bias else w)
    G = mlp_dag(sizes, bias=bias)
    return G, np.concatenate([blk.ravel() for blk in blocks])
