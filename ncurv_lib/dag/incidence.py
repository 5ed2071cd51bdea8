"""Incidence matrix of the hidden neurons and the balances it conserves.

For a DAG network the reduced incidence matrix :math:`\\tilde B \\in
\\{-1, 0, 1\\}^{|\\tilde V| \\times |E|}` has, in column :math:`e = (u, v)`, a
:math:`+1` in row :math:`v` and a :math:`-1` in row :math:`u` (rows of inputs and
outputs deleted). The balances

.. math:: c(\\theta) = \\tilde B\\, \\theta^{\\odot 2}, \\qquad
          c_v = \\sum_{e \\to v} \\theta_e^2 - \\sum_{v \\to e} \\theta_e^2

are conserved by gradient flow on any loss of the network function, so
training stays on :math:`H_G(c) = \\{\\theta : \\tilde B \\theta^2 = c\\}`.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .graph import DAG, check_theta

__all__ = ["incidence_matrix", "in_out_matrices", "balances", "balance_drift", "check_balances"]


def in_out_matrices(G: DAG):
    """Sparse 0/1 matrices ``(A_in, A_out)`` of shape (len(G.hidden), E).

    ``A_in[v, e] = 1`` iff edge ``e`` enters hidden node ``v``; ``A_out`` likewise
    for leaving. The incidence matrix is ``A_in - A_out``.
    """
    row = {v: i for i, v in enumerate(G.hidden)}
    ea = G.edge_array
    heads = np.array([row.get(int(v), -1) for v in ea[:, 1]], dtype=np.int64)
    tails = np.array([row.get(int(u), -1) for u in ea[:, 0]], dtype=np.int64)
    shape = (len(G.hidden), G.num_edges)
    cols = np.arange(G.num_edges)

    def _mat(rows):
        ok = rows >= 0
        return sp.csr_matrix((np.ones(ok.sum()), (rows[ok], cols[ok])), shape=shape)

    return _mat(heads), _mat(tails)


def incidence_matrix(G: DAG) -> sp.csr_matrix:
    """Reduced incidence matrix :math:`\\tilde B` (float64 CSR, shape (|hidden|, E)).

    Column ``e`` is ``G.edges[e]``: +1 at the head, -1 at the tail, only for
    hidden endpoints (rows ordered like ``G.hidden``).

    Examples
    --------
    >>> from ncurv_lib.dag import DAG
    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> incidence_matrix(G).toarray()
    array([[ 1.,  1., -1.]])
    """
    a_in, a_out = in_out_matrices(G)
    return (a_in - a_out).tocsr()


def balances(G: DAG, theta):
    """Balances :math:`c = \\tilde B \\theta^2` of every hidden neuron.

    Parameters
    ----------
    theta : array or tensor of shape (E,) or (R, E)
        Weights ordered like ``G.edges`` (R independent runs allowed).

    Returns
    -------
    ndarray of shape (len(G.hidden),) or (R, len(G.hidden)), float64.

    Examples
    --------
    >>> from ncurv_lib.dag import DAG
    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> balances(G, [1.0, 2.0, 3.0])
    array([-4.])
    """
    th = check_theta(G, theta)
    B = incidence_matrix(G)
    return np.asarray((B @ (th.reshape(-1, G.num_edges) ** 2).T).T).reshape(th.shape[:-1] + (len(G.hidden),))


def check_balances(G: DAG, c) -> np.ndarray:
    """Validate a balance vector: float64 of shape (len(G.hidden),), finite."""
    arr = np.asarray(c.detach().cpu().numpy() if hasattr(c, "detach") else c, dtype=np.float64)
    if arr.shape != (len(G.hidden),):
        raise ValueError(f"c must have shape ({len(G.hidden)},) (one per hidden node), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("c contains NaN or infinite values")
    return arr


def balance_drift(G: DAG, thetas):
    """Drift :math:`\\max_v |c_v(\\theta_k) - c_v(\\theta_0)|` along a trajectory.

    Parameters
    ----------
    thetas : array of shape (K, E) or (K, R, E)
        Weights at K recorded steps (optionally R runs).

    Returns
    -------
    ndarray of shape (K,) or (K, R).

    Examples
    --------
    >>> from ncurv_lib.dag import DAG
    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> balance_drift(G, [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    array([0., 0., 1.])
    """
    c = balances(G, thetas)
    if c.shape[-1] == 0:
        return np.zeros(c.shape[:-1])
    return np.abs(c - c[:1]).max(axis=-1)
