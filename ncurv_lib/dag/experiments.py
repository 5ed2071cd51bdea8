"""Building blocks of the Part II experiments: toy DAGs, data sets, sign-flip thresholds, null models.

Everything a Part II notebook needs beyond training lives here, so the notebooks
only call and plot.
"""
from __future__ import annotations

import numpy as np
import torch

from .connectivity import in_bottlenecks, out_bottlenecks, worst_stable_set
from .graph import DAG, check_theta
from .incidence import balances, in_out_matrices

__all__ = [
    "toy_bottleneck_dag", "positive_init", "sign_flip_threshold", "disconnected_neurons",
    "null_model_disconnected", "breast_cancer_split", "mnist_binary", "uniform_square",
    "set_output_weights",
]


def toy_bottleneck_dag() -> DAG:
    """Toy DAG with an out-bottleneck in front of the output (the setting of the paper's Fig. 2d).

    Inputs 0, 1 feed hidden 2 and 3, which feed hidden 4, whose single out-edge
    (the last edge, index 6) reaches the output 5. The pure ancestors of 4 are
    {2, 3, 4}.

    >>> G = toy_bottleneck_dag()
    >>> G.edges[-1], G.hidden
    ((4, 5), (2, 3, 4))
    """
    return DAG(edges=[(0, 2), (1, 2), (0, 3), (1, 3), (2, 4), (3, 4), (4, 5)], inputs=[0, 1], outputs=[5])


def positive_init(G: DAG, runs: int = 1, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    """He-scaled weights with absolute values (every ReLU alive on positive inputs), shape (runs, E).

    >>> bool((positive_init(toy_bottleneck_dag(), runs=3) > 0).all())
    True
    """
    from .nets import init_theta

    return init_theta(G, runs=runs, seed=seed, dtype=dtype).abs()


def sign_flip_threshold(G: DAG, theta, edge: int) -> float:
    """Largest :math:`|\\theta_e|` at which edge ``e`` can still change sign (Theorem 1).

    If the tail :math:`u` of ``e`` is an out-bottleneck, every forward-stable set
    :math:`S` of its pure ancestors contains :math:`u`, so
    :math:`c(S) = c^{(0)}(S) - \\theta_e^2` with :math:`c^{(0)}` the balances at
    :math:`\\theta_e = 0`; the sign can flip iff :math:`\\theta_e^2 \\le \\min_S
    c^{(0)}(S)`. Symmetrically for an in-bottleneck head. Returns ``inf`` when
    neither endpoint is such a bottleneck, 0 when the sign is frozen at any size.
    The other weights stay as in ``theta``.

    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> sign_flip_threshold(G, [3.0, 4.0, 7.0], 2)
    5.0
    """
    th = check_theta(G, theta).copy()
    if th.ndim != 1:
        raise ValueError("sign_flip_threshold takes one theta of shape (E,)")
    if not 0 <= edge < G.num_edges:
        raise ValueError(f"edge index {edge} out of range [0, {G.num_edges})")
    th[edge] = 0.0
    c0 = balances(G, th)
    u, v = G.edges[edge]
    bound = np.inf
    if u in out_bottlenecks(G):
        bound = min(bound, worst_stable_set(G, c0, u, "out", nonempty=True)[1])
    if v in in_bottlenecks(G):
        bound = min(bound, -worst_stable_set(G, c0, v, "in", nonempty=True)[1])
    return float(np.sqrt(max(bound, 0.0)))


def disconnected_neurons(G: DAG, theta, tol: float = 1e-3) -> np.ndarray:
    """Neurons all of whose in-weights or all of whose out-weights are below ``tol`` in magnitude.

    Returns a boolean array of shape (..., len(G.hidden)).

    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3), (0, 4), (4, 3)], inputs=[0, 1], outputs=[3])
    >>> disconnected_neurons(G, [1e-4, 0.0, 1.0, 1.0, 1.0]).tolist()
    [True, False]
    """
    th = check_theta(G, theta)
    a_in, a_out = in_out_matrices(G)
    alive = (np.abs(th) >= tol).reshape(-1, G.num_edges).T.astype(np.float64)
    live_in = np.asarray(a_in @ alive).T > 0
    live_out = np.asarray(a_out @ alive).T > 0
    return (~(live_in & live_out)).reshape(th.shape[:-1] + (len(G.hidden),))


def null_model_disconnected(G: DAG, p) -> np.ndarray:
    """Expected number of disconnected neurons if every edge vanished independently with probability ``p``.

    .. math:: \\mathbb{E}[N] = \\sum_k p^{d^-_k} + p^{d^+_k} - p^{d^-_k + d^+_k}

    ``p`` may be an array (broadcast); returns an array of its shape.

    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> float(null_model_disconnected(G, 0.5))
    0.625
    """
    p = np.asarray(p, dtype=np.float64)
    a_in, a_out = in_out_matrices(G)
    din = np.asarray(a_in.sum(axis=1)).ravel()
    dout = np.asarray(a_out.sum(axis=1)).ravel()
    pe = p[..., None]
    return (pe ** din + pe ** dout - pe ** (din + dout)).sum(-1)


def uniform_square(n: int, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    """``n`` points uniform on :math:`[0, 1]^2`, shape (n, 2)."""
    gen = torch.Generator().manual_seed(int(seed))
    return torch.rand(n, 2, generator=gen, dtype=dtype)


def breast_cancer_split(seed: int = 0, test_fraction: float = 0.2, dtype=torch.float64):
    """Wisconsin Breast Cancer (569 x 30, ships with scikit-learn), standardised on the train part.

    Returns ``(x_train, y_train, x_test, y_test)`` as tensors; labels are 0/1
    (1 = benign), the split is stratified and seeded.
    """
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    x, y = load_breast_cancer(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    mu, sd = xtr.mean(0), xtr.std(0)
    conv = [torch.as_tensor(a, dtype=dtype) for a in ((xtr - mu) / sd, ytr, (xte - mu) / sd, yte)]
    return tuple(conv)


def mnist_binary(split: str, limit: int | None = None, pool: int = 2, dtype=torch.float64):
    """MNIST as the binary task "digit >= 5": flattened (average-pooled) images, targets +-1.

    Returns ``(x, y)`` with x of shape (N, (28 // pool) ** 2) and y in {-1, +1}.
    """
    from ..data import load_split

    x, labels = load_split("mnist", split, limit=limit)
    if pool > 1:
        x = torch.nn.functional.avg_pool2d(x, pool)
    return x.flatten(1).to(dtype), (2.0 * (labels >= 5) - 1.0).to(dtype)


def set_output_weights(G: DAG, theta, ratio: float, sign: str = "keep") -> torch.Tensor:
    """Reset the weights into the outputs so that each tail neuron has a chosen balance.

    Every edge :math:`k \\to o` into an output gets
    :math:`\\theta_{ko} = s_k\\, \\rho \\sqrt{a_k}` with :math:`a_k = \\sum_{e \\to k}
    \\theta_e^2`, so a neuron whose only out-edge is this one has
    :math:`c_k = (1 - \\rho^2)\\, a_k`: negative (sign frozen by Theorem 1) iff
    :math:`\\rho > 1`. ``sign`` is ``"negative"``, ``"positive"`` or ``"keep"``
    (the sign already in ``theta``). Edges from inputs are left alone.

    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> set_output_weights(G, torch.tensor([[3.0, 4.0, 1.0]]), 2.0, "negative")
    tensor([[  3.,   4., -10.]])
    """
    if sign not in ("negative", "positive", "keep"):
        raise ValueError(f"sign must be 'negative', 'positive' or 'keep', got {sign!r}")
    theta = torch.as_tensor(theta).clone().reshape(-1, G.num_edges)
    a_in, _ = in_out_matrices(G)
    row = {v: i for i, v in enumerate(G.hidden)}
    outs = set(G.outputs)
    eids = [e for e, (u, v) in enumerate(G.edges) if v in outs and u in row]
    rows = [row[G.edges[e][0]] for e in eids]
    a = torch.as_tensor(np.asarray(a_in @ (theta.detach().numpy() ** 2).T).T, dtype=theta.dtype)
    mag = ratio * a[:, rows].sqrt()
    s = {"negative": -torch.ones_like(mag), "positive": torch.ones_like(mag)}.get(sign)
    if s is None:
        s = torch.where(theta[:, eids] < 0, -1.0, 1.0).to(theta.dtype)
    theta[:, eids] = s * mag
    return theta
