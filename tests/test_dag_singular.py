"""Theorem 2 (rank of the Jacobian) against the SVD, the nuclear norm and the pruning scores."""
import numpy as np
import pytest
import torch

from ncurv_lib import dag


def random_support(seed):
    rng = np.random.default_rng(seed)
    G = dag.random_dag(int(rng.integers(1, 4)), int(rng.integers(1, 10)), int(rng.integers(1, 3)),
                       p=float(rng.uniform(0.1, 0.6)), seed=seed)
    theta = rng.normal(size=G.num_edges) * (rng.random(G.num_edges) > rng.uniform(0.0, 0.8))
    return G, theta


def test_theorem2_matches_svd_rank():
    singular = 0
    for seed in range(400):
        G, theta = random_support(seed)
        rank = dag.jacobian_rank(G, theta)
        assert rank == dag.numerical_rank(dag.jacobian(G, theta)), (G, theta)
        singular += rank < len(G.hidden)
    assert 60 < singular < 340


def test_theorem2_by_hand():
    # 0 -> 1 -> 2 -> 3 -> 4 with hidden 1, 2, 3
    G = dag.DAG(edges=[(0, 1), (1, 2), (2, 3), (3, 4)], inputs=[0], outputs=[4])
    assert dag.jacobian_rank(G, [1, 1, 1, 1]) == 3
    assert dag.jacobian_rank(G, [1, 0, 1, 1]) == 3  # 1 hangs on the input, 2-3 on the output
    assert dag.jacobian_rank(G, [0, 1, 1, 0]) == 2  # {1,2,3} cut off: 2 components, rank 3 + 1 - 2
    assert dag.jacobian_rank(G, [0, 0, 0, 0]) == 0
    k, labels = dag.glued_components(G, [0, 1, 0, 1])
    assert k == 2 and labels.tolist() == [1, 1, 0]


def test_singular_values_count_zero_directions():
    for seed in range(100):
        G, theta = random_support(seed)
        sv = dag.singular_values(G, torch.from_numpy(theta)).numpy()
        n_zero = len(G.hidden) - int((sv > 1e-9).sum())
        assert n_zero == len(G.hidden) - dag.jacobian_rank(G, theta)


def test_nuclear_norm_gradient_finite_differences():
    rng = np.random.default_rng(0)
    G = dag.mlp_dag([3, 4, 3, 1], bias=True, skips=[(1, 3)])
    theta = torch.tensor(rng.normal(size=G.num_edges), requires_grad=True)
    value = dag.nuclear_norm(G, theta)
    (grad,) = torch.autograd.grad(value, theta)
    eps = 1e-6
    fd = np.empty(G.num_edges)
    for e in range(G.num_edges):
        d = torch.zeros(G.num_edges, dtype=torch.float64)
        d[e] = eps
        with torch.no_grad():
            fd[e] = (dag.nuclear_norm(G, theta + d) - dag.nuclear_norm(G, theta - d)).item() / (2 * eps)
    np.testing.assert_allclose(grad.numpy(), fd, rtol=1e-6, atol=1e-7)
    # closed form (J is linear in theta): d||J||_*/dtheta_e = 2 sum_v B_ve (U V^T)_ve
    J = dag.jacobian(G, theta.detach().numpy())
    U, _, Vt = np.linalg.svd(J, full_matrices=False)
    B = dag.incidence_matrix(G).toarray()
    np.testing.assert_allclose(grad.numpy(), 2 * np.einsum("ve,ve->e", B, U @ Vt),
                               atol=1e-10)
    assert value.item() == pytest.approx(np.linalg.svd(J, compute_uv=False).sum(), rel=1e-12)


def test_nuclear_norm_batched():
    G = dag.random_dag(2, 5, 1, p=0.4, seed=1)
    theta = torch.randn(6, G.num_edges, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    batched = dag.nuclear_norm(G, theta)
    assert batched.shape == (6,)
    for r in range(6):
        assert batched[r].item() == pytest.approx(np.linalg.norm(dag.jacobian(G, theta[r].numpy()), "nuc"))


def test_pruning_scores_by_loops():
    G = dag.random_dag(2, 6, 2, p=0.4, seed=4)
    theta = np.random.default_rng(1).normal(size=(3, G.num_edges))
    s, s_prime = dag.pruning_scores(G, theta)
    for r in range(3):
        for i, v in enumerate(G.hidden):
            a = sum(theta[r, e] ** 2 for e, (_, b) in enumerate(G.edges) if b == v)
            b = sum(theta[r, e] ** 2 for e, (u, _) in enumerate(G.edges) if u == v)
            assert s[r, i] == pytest.approx(a * b) and s_prime[r, i] == pytest.approx(max(a, b))


def test_zero_score_neuron_prunes_for_free():
    G = dag.mlp_dag([3, 5, 4, 2], bias=True)
    theta = dag.init_theta(G, runs=1, seed=3)[0].numpy()
    v = G.hidden[2]
    theta[[e for e, (a, b) in enumerate(G.edges) if b == v]] = 0.0  # kill its in-edges
    s, _ = dag.pruning_scores(G, theta)
    assert s[2] == 0 and (np.delete(s, 2) > 0).all()
    mask = dag.neuron_edge_mask(G, np.arange(len(G.hidden)) == 2)
    assert mask.sum() == G.num_edges - (3 + 1) - 4  # in-edges (3 inputs + bias), out-edges to 4 nodes
    x = torch.randn(10, 3, dtype=torch.float64)
    net = dag.DagNet(G)
    before = net(torch.from_numpy(theta), x)
    after = net(torch.from_numpy(theta * mask), x)
    # ReLU(0 + bias 0) = 0: the neuron outputs 0, so cutting its out-edges changes nothing
    torch.testing.assert_close(before, after, rtol=0, atol=1e-14)
    assert dag.jacobian_rank(G, theta * mask) == len(G.hidden) - 1


def test_nuclear_norm_matches_svd_autograd_and_is_finite_at_singularities():
    G = dag.mlp_dag([4, 6, 5, 2], bias=True)
    theta = torch.randn(5, G.num_edges, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    theta[0, :] = 0.0  # all-zero point: J = 0
    theta[1, [e for e, (u, v) in enumerate(G.edges) if G.hidden[0] in (u, v)]] = 0.0  # cut-off neuron
    theta.requires_grad_(True)
    (g,) = torch.autograd.grad(dag.nuclear_norm(G, theta).sum(), theta)
    assert torch.isfinite(g).all() and (g[0] == 0).all()
    (g_svd,) = torch.autograd.grad(dag.singular_values(G, theta[2:]).sum(), theta)
    torch.testing.assert_close(g[2:], g_svd[2:], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(dag.nuclear_norm(G, theta.detach()).numpy(),
                               [np.linalg.norm(dag.jacobian(G, t), "nuc") for t in theta.detach().numpy()],
                               rtol=1e-10, atol=1e-12)
    # the subgradient at the cut-off neuron: moving its edges does not change ||J||_* to first order
    touch = [e for e, (u, v) in enumerate(G.edges) if G.hidden[0] in (u, v)]
    assert (g[1, touch] == 0).all()
