"""DAG validation, builders and the incidence matrix on hand-checked examples."""
import numpy as np
import pytest
import torch

from ncurv_lib import dag


def tiny():
    return dag.DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        (dict(edges=[(0, 1), (1, 2), (2, 1), (2, 3)], inputs=[0], outputs=[3]), "cycle"),
        (dict(edges=[(0, 1), (1, 1), (1, 3)], inputs=[0], outputs=[3]), "cycle"),
        (dict(edges=[(0, 2), (2, 1), (2, 3)], inputs=[0, 1], outputs=[3]), "into input"),
        (dict(edges=[(0, 2), (2, 3), (3, 4)], inputs=[0], outputs=[3, 4]), "leaves output"),
        (dict(edges=[(0, 2), (2, 3), (5, 3)], inputs=[0], outputs=[3]), "no in-edges"),
        (dict(edges=[(0, 2), (2, 3), (0, 5)], inputs=[0], outputs=[3]), "no out-edges"),
        (dict(edges=[(0, 2), (0, 2), (2, 3)], inputs=[0], outputs=[3]), "duplicate"),
        (dict(edges=[(0, 2), (2, 3)], inputs=[0, 3], outputs=[3]), "both input and output"),
        (dict(edges=[(0, 2.0), (2, 3)], inputs=[0], outputs=[3]), "integers"),
    ],
)
def test_invalid_graphs_raise(kwargs, reason):
    with pytest.raises(ValueError, match=reason):
        dag.DAG(**kwargs)


@pytest.mark.parametrize("theta, reason", [([1.0, 2.0], "last dimension 3"), ([1.0, np.nan, 2.0], "NaN"),
                                           ([[1.0, 2.0, 3.0, 4.0]], "last dimension 3")])
def test_invalid_theta_raises(theta, reason):
    G = tiny()
    for fn in (dag.balances, dag.jacobian_rank, dag.jacobian, dag.pruning_scores):
        with pytest.raises(ValueError, match=reason):
            fn(G, theta)


def test_invalid_c_raises():
    G = tiny()
    with pytest.raises(ValueError, match="shape"):
        dag.invariant_set_connected(G, [1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        dag.invariant_set_connected(G, [np.nan])
    with pytest.raises(ValueError, match="out of range"):
        dag.cone_test(G, [1.0], 3)


def test_tiny_example_by_hand():
    G = tiny()
    assert G.hidden == (2,)
    np.testing.assert_array_equal(dag.incidence_matrix(G).toarray(), [[1, 1, -1]])
    # c_2 = 1.5^2 + (-2)^2 - 0.5^2 = 2.25 + 4 - 0.25 = 6
    assert dag.balances(G, torch.tensor([1.5, -2.0, 0.5])).tolist() == [6.0]
    assert dag.balances(G, np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]])).tolist() == [[-3.0], [0.0]]


def test_incidence_columns_and_signs():
    # 0 -> 2 -> 3 -> 5, 1 -> 3, 2 -> 4 (4 output), input->output edge 1 -> 5
    G = dag.DAG(edges=[(0, 2), (2, 3), (3, 5), (1, 3), (2, 4), (1, 5)], inputs=[0, 1], outputs=[4, 5])
    expected = np.array([[1, -1, 0, 0, -1, 0],   # node 2
                         [0, 1, -1, 1, 0, 0]])   # node 3
    np.testing.assert_array_equal(dag.incidence_matrix(G).toarray(), expected)
    theta = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    np.testing.assert_allclose(dag.balances(G, theta), [1 - 4 - 25, 4 - 9 + 16])


def test_topological_order_and_levels():
    G = dag.random_dag(2, 8, 2, p=0.4, seed=5)
    pos = {v: i for i, v in enumerate(G.topo_order)}
    assert sorted(G.topo_order) == list(G.nodes)
    assert all(pos[u] < pos[v] for u, v in G.edges)
    lev = dict(zip(G.nodes, G.levels))
    assert all(lev[u] < lev[v] for u, v in G.edges)


def test_mlp_dag_counts():
    G = dag.mlp_dag([3, 4, 4, 2], bias=True, skips=[(1, 3)])
    assert len(G.hidden) == 8 and G.outputs == (12, 13) and G.bias_inputs == (3,)
    # 3*4 + 4*4 + 4*2 + skip 4*2 + bias (4 + 4 + 2)
    assert G.num_edges == 12 + 16 + 8 + 8 + 10
    with pytest.raises(ValueError, match="skip"):
        dag.mlp_dag([3, 4, 2], skips=[(0, 1)])


def test_random_dag_is_valid_and_seeded():
    for seed in range(50):
        G = dag.random_dag(2, 6, 2, p=0.15, seed=seed)
        assert G == dag.random_dag(2, 6, 2, p=0.15, seed=seed)
        B = dag.incidence_matrix(G).toarray()
        assert (B > 0).any(axis=1).all() and (B < 0).any(axis=1).all()


def test_from_sequential_matches_forward():
    torch.manual_seed(0)
    for bias in (True, False):
        m = torch.nn.Sequential(torch.nn.Linear(4, 5, bias=bias), torch.nn.ReLU(), torch.nn.Linear(5, 3, bias=bias),
                                torch.nn.ReLU(), torch.nn.Linear(3, 2, bias=bias)).double()
        G, theta = dag.from_sequential(m)
        x = torch.randn(7, 4, dtype=torch.float64)
        np.testing.assert_allclose(dag.DagNet(G)(torch.from_numpy(theta), x).numpy(), m(x).detach().numpy(),
                                   atol=1e-12)
        # the balance of a hidden neuron: squared row (incl. bias) minus squared column of the next layer
        c = dag.balances(G, theta)
        w1, w2 = m[0].weight.detach().numpy(), m[2].weight.detach().numpy()
        row = (w1 ** 2).sum(1) + ((m[0].bias.detach().numpy() ** 2) if bias else 0)
        np.testing.assert_allclose(c[:5], row - (w2 ** 2).sum(0), atol=1e-12)
    with pytest.raises(ValueError, match="alternating"):
        dag.from_sequential(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1)))
