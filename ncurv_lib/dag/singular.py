"""Singularities of the invariant set: the Jacobian of the balances, its rank, pruning scores.

The balance map :math:`\\theta \\mapsto \\tilde B \\theta^2` has Jacobian

.. math:: J(\\theta) = 2\\, \\tilde B \\operatorname{diag}(\\theta)
          \\in \\mathbb{R}^{|\\tilde V| \\times |E|},

whose columns are those of :math:`\\tilde B` scaled by :math:`2\\theta_e`, so its rank
is the rank of the incidence matrix of the support graph :math:`G_\\theta` (edges
with :math:`\\theta_e \\ne 0`). Gluing all inputs and outputs into one node
:math:`\\star` makes :math:`\\tilde B` the full incidence matrix of a graph on
:math:`|\\tilde V| + 1` nodes with :math:`\\star`'s row deleted, which does not change
its rank. Hence (Theorem 2)

.. math:: \\operatorname{rank} J(\\theta) = |\\tilde V| + 1 - k(\\theta),

with :math:`k(\\theta)` the number of connected components of the undirected
support graph with :math:`\\star` glued (isolated hidden nodes count). A point is
singular (rank :math:`< |\\tilde V|`) iff some hidden neurons are cut off from both
inputs and outputs; :math:`|\\tilde V| - \\operatorname{rank} J` of the singular
values vanish.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components

from .graph import DAG, check_theta
from .incidence import in_out_matrices, incidence_matrix

__all__ = [
    "jacobian", "jacobian_rank", "glued_components", "numerical_rank", "singular_values",
    "nuclear_norm", "pruning_scores", "neuron_edge_mask",
]


def jacobian(G: DAG, theta) -> np.ndarray:
    """Dense :math:`J = 2 \\tilde B \\operatorname{diag}(\\theta)`, shape (|hidden|, E) or (R, |hidden|, E).

    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> jacobian(G, [1.0, 0.0, -2.0])
    array([[2., 0., 4.]])
    """
    th = check_theta(G, theta)
    return 2.0 * incidence_matrix(G).toarray() * th[..., None, :]


def glued_components(G: DAG, theta, atol: float = 0.0):
    """Components of the support graph with inputs and outputs glued into one node.

    Edges with ``|theta_e| <= atol`` are removed. Returns ``(k, labels)``: the
    number of components and, for every hidden node (order ``G.hidden``), its
    component label; label ``0`` is the component of the glued node.

    >>> G = DAG(edges=[(0, 2), (2, 3), (3, 4)], inputs=[0], outputs=[4])
    >>> glued_components(G, [1.0, 0.0, 1.0])
    (1, array([0, 0]))
    >>> glued_components(G, [0.0, 1.0, 0.0])
    (2, array([1, 1]))
    """
    th = check_theta(G, theta)
    if th.ndim != 1:
        raise ValueError("glued_components takes one theta of shape (E,)")
    h = len(G.hidden)
    idx = {v: i + 1 for i, v in enumerate(G.hidden)}  # glued node = 0
    ea = G.edge_array
    keep = np.abs(th) > atol
    a = np.array([idx.get(int(u), 0) for u in ea[keep, 0]], dtype=np.int64)
    b = np.array([idx.get(int(v), 0) for v in ea[keep, 1]], dtype=np.int64)
    adj = sp.csr_matrix((np.ones(a.size), (a, b)), shape=(h + 1, h + 1))
    k, labels = connected_components(adj, directed=False)
    order = {lab: i for i, lab in enumerate(dict.fromkeys(labels.tolist()))}  # glued node first
    return int(k), np.array([order[lab] for lab in labels[1:]], dtype=np.int64)


def jacobian_rank(G: DAG, theta, atol: float = 0.0) -> int:
    """Theorem 2: :math:`\\operatorname{rank} J(\\theta) = |\\tilde V| + 1 - k(\\theta)`.

    Weights with ``|theta_e| <= atol`` count as zero (exact zeros by default).

    >>> G = DAG(edges=[(0, 2), (2, 3), (3, 4)], inputs=[0], outputs=[4])
    >>> jacobian_rank(G, [1.0, 1.0, 1.0]), jacobian_rank(G, [1.0, 0.0, 1.0]), jacobian_rank(G, [0.0, 1.0, 0.0])
    (2, 2, 1)
    """
    k, _ = glued_components(G, theta, atol=atol)
    return len(G.hidden) + 1 - k


def numerical_rank(J, rtol: float | None = None) -> int:
    """Rank of a dense matrix from its SVD (numpy's default tolerance unless ``rtol``).

    >>> numerical_rank(np.array([[1.0, 2.0], [2.0, 4.0]]))
    1
    """
    J = np.asarray(J, dtype=np.float64)
    if J.size == 0:
        return 0
    tol = None if rtol is None else rtol * np.linalg.norm(J, 2)
    return int(np.linalg.matrix_rank(J, tol=tol))


def _dense_incidence(G: DAG, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(incidence_matrix(G).toarray(), dtype=like.dtype, device=like.device)


def singular_values(G: DAG, theta: torch.Tensor, incidence: torch.Tensor | None = None) -> torch.Tensor:
    """Singular values of :math:`J(\\theta)`, shape (..., min(|hidden|, E)), differentiable.

    ``incidence`` optionally passes a precomputed dense :math:`\\tilde B` tensor
    (saves rebuilding it inside training loops).

    >>> G = DAG(edges=[(0, 2), (2, 3)], inputs=[0], outputs=[3])
    >>> singular_values(G, torch.tensor([3.0, 4.0], dtype=torch.float64))
    tensor([10.], dtype=torch.float64)
    """
    theta = torch.as_tensor(theta)
    if theta.shape[-1] != G.num_edges:
        raise ValueError(f"theta must have last dimension {G.num_edges}, got {tuple(theta.shape)}")
    B = _dense_incidence(G, theta) if incidence is None else incidence.to(theta.dtype)
    return torch.linalg.svdvals(2.0 * B * theta[..., None, :])


class _NuclearNorm(torch.autograd.Function):
    """:math:`\\|2 \\tilde B \\operatorname{diag}\\theta\\|_*` through the small Gram matrix.

    Forward: :math:`M = J J^T = 4 \\tilde B \\operatorname{diag}(\\theta^2) \\tilde B^T
    = U \\Lambda U^T` (|hidden| x |hidden|), :math:`\\|J\\|_* = \\sum_i \\sqrt{\\lambda_i}`.
    Backward: :math:`\\partial_{\\theta_e} = 4 \\theta_e \\sum_{i: \\sigma_i > \\epsilon}
    (u_i^T b_e)^2 / \\sigma_i`, i.e. the subgradient :math:`U_+ V_+^T` that ignores
    vanishing singular values.
    """

    @staticmethod
    def forward(ctx, theta, B):
        M = 4.0 * (B * theta[..., None, :] ** 2) @ B.T
        lam, U = torch.linalg.eigh(M)
        sigma = lam.clamp_min(0.0).sqrt()
        ctx.save_for_backward(theta, B, U, sigma)
        return sigma.sum(-1)

    @staticmethod
    def backward(ctx, grad_out):
        theta, B, U, sigma = ctx.saved_tensors
        eps = sigma.amax(-1, keepdim=True) * 1e-10 + 1e-300
        inv = torch.where(sigma > eps, 1.0 / sigma.clamp_min(1e-300), torch.zeros_like(sigma))
        proj = U.transpose(-1, -2) @ B  # (..., H, E): u_i^T b_e
        g = 4.0 * theta * ((proj ** 2) * inv[..., :, None]).sum(-2)
        return grad_out[..., None] * g, None


def nuclear_norm(G: DAG, theta: torch.Tensor, incidence: torch.Tensor | None = None) -> torch.Tensor:
    """Nuclear norm :math:`\\|J(\\theta)\\|_* = \\sum_i \\sigma_i(J)`, shape (...), differentiable.

    Computed from the eigenvalues of :math:`J J^T` (|hidden| x |hidden|), much cheaper
    than an SVD of :math:`J` when there are many more edges than neurons. Its
    gradient is :math:`\\partial_{\\theta_e} \\|J\\|_* = 2 \\sum_v \\tilde B_{ve} (U V^T)_{ve}`
    with :math:`J = U \\Sigma V^T`; directions with vanishing singular values get
    the zero subgradient.

    >>> G = DAG(edges=[(0, 2), (2, 3)], inputs=[0], outputs=[3])
    >>> round(float(nuclear_norm(G, torch.tensor([3.0, 4.0], dtype=torch.float64))), 12)
    10.0
    """
    theta = torch.as_tensor(theta)
    if theta.shape[-1] != G.num_edges:
        raise ValueError(f"theta must have last dimension {G.num_edges}, got {tuple(theta.shape)}")
    if not G.hidden:
        return theta.new_zeros(theta.shape[:-1])
    B = _dense_incidence(G, theta) if incidence is None else incidence.to(theta.dtype)
    return _NuclearNorm.apply(theta, B)


def pruning_scores(G: DAG, theta):
    """Neuron scores :math:`s_k = a_k b_k` and :math:`s'_k = \\max(a_k, b_k)`.

    Here :math:`a_k = \\sum_{e \\to k} \\theta_e^2` and :math:`b_k = \\sum_{k \\to e}
    \\theta_e^2`; a neuron with a zero score is disconnected (all its in- or all its
    out-weights vanish) and can be pruned without changing the function.

    Returns ``(s, s_prime)``, float64 arrays of shape (..., len(G.hidden)).

    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> pruning_scores(G, [1.0, 2.0, 0.5])
    (array([1.25]), array([5.]))
    """
    th = check_theta(G, theta)
    a_in, a_out = in_out_matrices(G)
    sq = (th.reshape(-1, G.num_edges) ** 2).T
    a = np.asarray(a_in @ sq).T.reshape(th.shape[:-1] + (len(G.hidden),))
    b = np.asarray(a_out @ sq).T.reshape(th.shape[:-1] + (len(G.hidden),))
    return a * b, np.maximum(a, b)


def neuron_edge_mask(G: DAG, pruned) -> np.ndarray:
    """Edge mask (float64, shape (..., E)) that is 0 on every edge touching a pruned neuron.

    ``pruned`` is a boolean array of shape (..., len(G.hidden)).

    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3), (0, 3)], inputs=[0, 1], outputs=[3])
    >>> neuron_edge_mask(G, [True])
    array([0., 0., 0., 1.])
    """
    pruned = np.asarray(pruned, dtype=bool)
    if pruned.shape[-1] != len(G.hidden):
        raise ValueError(f"pruned must have last dimension {len(G.hidden)}, got {pruned.shape}")
    a_in, a_out = in_out_matrices(G)
    touch = (a_in + a_out).T.tocsr()  # (E, H)
    hit = np.asarray(touch @ pruned.reshape(-1, len(G.hidden)).T.astype(np.float64)).T
    return (hit == 0).astype(np.float64).reshape(pruned.shape[:-1] + (G.num_edges,))
