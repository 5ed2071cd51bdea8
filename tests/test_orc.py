"""Plain-graph Ollivier-Ricci curvature against values known in closed form."""
import numpy as np
import pytest

from ncurv_lib import orc


def test_two_cliques_bridge_is_paper_value():
    k = orc.ollivier_ricci(orc.two_cliques(3, 5))
    assert k[(2, 3)] == pytest.approx(-14 / 15, abs=1e-12)  # the paper's -0.933
    assert min(k, key=k.get) == (2, 3)


@pytest.mark.parametrize("n", [3, 4, 6])
def test_complete_graph(n):
    # K_n, alpha = 0: uniform measures on n-1 nodes share n-2; W1 = 1/(n-1)
    adj = np.ones((n, n)) - np.eye(n)
    assert all(v == pytest.approx((n - 2) / (n - 1)) for v in orc.ollivier_ricci(adj).values())


def test_long_cycle_is_flat_and_idleness_scales():
    n = 8
    adj = np.zeros((n, n))
    for i in range(n):
        adj[i, (i + 1) % n] = adj[(i + 1) % n, i] = 1
    assert all(v == pytest.approx(0.0, abs=1e-12) for v in orc.ollivier_ricci(adj).values())
    # idleness is linear on [1/2, 1) (Bourne et al. 2018): kappa_alpha/(1-alpha) constant
    k4 = np.ones((4, 4)) - np.eye(4)
    vals = [orc.ollivier_ricci(k4, alpha=a)[(0, 1)] for a in (0.5, 0.75)]
    assert vals[0] / 0.5 == pytest.approx(vals[1] / 0.25, rel=1e-9)


def test_bad_input():
    with pytest.raises(ValueError):
        orc.ollivier_ricci(np.array([[0, 1], [2, 0]]))
    with pytest.raises(ValueError):
        orc.ollivier_ricci(np.ones((2, 2)) - np.eye(2), alpha=1.0)
