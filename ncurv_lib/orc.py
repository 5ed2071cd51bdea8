r"""Ollivier-Ricci curvature of an ordinary weighted graph (the paper's Fig. 1 primer).

.. math::

    \kappa_\alpha(u, v) = 1 - \frac{W_1(m_u^\alpha, m_v^\alpha)}{d(u, v)},\qquad
    m_u^\alpha = \alpha\,\delta_u + (1 - \alpha)\,\mathrm{Unif}(N(u)),

with :math:`d` the shortest-path distance and :math:`W_1` the exact earth mover's
distance (POT's network simplex) [1]_. Neighbour masses are uniform (or
proportional to edge weights with ``weighted=True``, as Lin-Lu-Yau's variant [2]_).

References
----------
.. [1] Y. Ollivier, "Ricci curvature of Markov chains on metric spaces",
   J. Funct. Anal. 256 (2009).
.. [2] Y. Lin, L. Lu, S.-T. Yau, "Ricci curvature of graphs", Tohoku Math. J. 63 (2011).

>>> import numpy as np
>>> path = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], float)  # a path a-b-c
>>> k = ollivier_ricci(path)  # m_a = delta_b, m_b = (delta_a + delta_c)/2: W1 = 1
>>> round(k[(0, 1)], 6)
0.0
"""
import numpy as np
import ot
from scipy.sparse.csgraph import shortest_path


def _measure(adj: np.ndarray, u: int, alpha: float, weighted: bool) -> np.ndarray:
    row = adj[u] > 0
    masses = np.where(row, adj[u] if weighted else 1.0, 0.0)
    m = (1 - alpha) * masses / masses.sum()
    m[u] += alpha
    return m


def ollivier_ricci(adj, alpha: float = 0.0, weighted: bool = False) -> dict:
    """Curvature of every edge of an undirected graph.

    Parameters
    ----------
    adj : array_like, shape (n, n)
        Symmetric matrix of positive edge lengths (0 = no edge).
    alpha : float, default 0.0
        Idleness, in [0, 1).
    weighted : bool, default False
        Neighbour masses proportional to ``adj`` entries instead of uniform.

    Returns
    -------
    dict
        ``{(u, v): kappa}`` for every edge with ``u < v``.
    """
    adj = np.asarray(adj, dtype=np.float64)
    if adj.ndim != 2 or adj.shape[0] != adj.shape[1] or not np.allclose(adj, adj.T):
        raise ValueError("adj must be a symmetric square matrix")
    if not 0 <= alpha < 1 or not np.all(np.isfinite(adj)) or np.any(adj < 0):
        raise ValueError("alpha must be in [0, 1) and adj finite and non-negative")
    dist = shortest_path(adj, directed=False)
    out = {}
    for u, v in zip(*np.nonzero(np.triu(adj))):
        mu, nu = _measure(adj, u, alpha, weighted), _measure(adj, v, alpha, weighted)
        s, t = np.nonzero(mu)[0], np.nonzero(nu)[0]
        w1 = ot.emd2(mu[s], nu[t], dist[np.ix_(s, t)], numItermax=1_000_000)
        out[(int(u), int(v))] = float(1.0 - w1 / dist[u, v])
    return out


def two_cliques(n1: int, n2: int = None) -> np.ndarray:
    """Adjacency of complete graphs K_n1 and K_n2 joined by one bridge (unit lengths).

    Nodes ``0..n1-1`` form the first clique, ``n1..n1+n2-1`` the second; the bridge
    is ``(n1-1, n1)``. The paper's Fig. 1 uses K_3 and K_5: with ``alpha = 0`` the
    bridge has curvature -14/15 = -0.933.

    >>> round(ollivier_ricci(two_cliques(3, 5))[(2, 3)], 4)
    -0.9333
    """
    n2 = n1 if n2 is None else n2
    if min(n1, n2) < 2:
        raise ValueError("cliques need at least 2 nodes")
    n = n1 + n2
    adj = np.zeros((n, n))
    adj[:n1, :n1] = 1.0
    adj[n1:, n1:] = 1.0
    np.fill_diagonal(adj, 0.0)
    adj[n1 - 1, n1] = adj[n1, n1 - 1] = 1.0
    return adj
