"""DAG ReLU networks: forward pass, conservation of balances, vectorised training, pruning."""
import numpy as np
import pytest
import torch

from ncurv_lib import dag


def loop_forward(G, theta, x):
    """Reference forward pass: one node at a time in topological order (numpy)."""
    val = {}
    data = list(G.data_inputs)
    for v in G.topo_order:
        if v in G.inputs:
            val[v] = x[:, data.index(v)] if v in data else np.ones(len(x))
            continue
        z = sum((theta[e] * val[u] for e, (u, w) in enumerate(G.edges) if w == v), np.zeros(len(x)))
        val[v] = z if v in G.outputs else np.maximum(z, 0)
    return np.stack([val[v] for v in G.outputs], axis=1)


@pytest.mark.parametrize("seed", range(6))
def test_forward_matches_node_loop(seed):
    rng = np.random.default_rng(seed)
    G = dag.random_dag(3, 7, 2, p=0.35, seed=seed)
    if seed % 2:  # add a bias node 99 feeding every hidden and output node
        extra = [(99, v) for v in G.hidden + G.outputs]
        G = dag.DAG(edges=list(G.edges) + extra, inputs=G.inputs + (99,), outputs=G.outputs, bias_inputs=[99])
    theta = rng.normal(size=(3, G.num_edges))
    x = rng.normal(size=(5, 3))
    out = dag.DagNet(G)(torch.from_numpy(theta), torch.from_numpy(x)).numpy()
    for r in range(3):
        np.testing.assert_allclose(out[r], loop_forward(G, theta[r], x), atol=1e-12)
    with pytest.raises(ValueError, match="features"):
        dag.DagNet(G)(torch.from_numpy(theta), torch.zeros(5, 4))


def grad_of_loss(G, theta, x, y, loss="mse"):
    th = torch.tensor(theta, requires_grad=True)
    (g,) = torch.autograd.grad(dag.run_losses(dag.DagNet(G)(th, x), y, loss).sum(), th)
    return g.numpy()


@pytest.mark.parametrize("seed", range(4))
def test_balances_conserved_by_gradient(seed):
    """Infinitesimal conservation: B (theta * grad L) = 0 for any loss of the network."""
    rng = np.random.default_rng(seed)
    G = dag.mlp_dag([3, 5, 4, 1], bias=bool(seed % 2), skips=[(1, 3)] if seed > 1 else ())
    theta = rng.normal(size=(2, G.num_edges))
    x = torch.from_numpy(rng.normal(size=(20, 3)))
    y = torch.from_numpy(rng.normal(size=20))
    loss = "mse" if seed % 2 else "bce"
    g = grad_of_loss(G, theta, x, y if loss == "mse" else (y > 0).double(), loss)
    B = dag.incidence_matrix(G).toarray()
    dc = (theta * g) @ B.T
    assert np.abs(dc).max() < 1e-12 * max(1.0, np.abs(theta * g).max())
    assert np.abs(g).max() > 1e-3  # a real gradient, not a trivial zero


def test_sgd_step_moves_balances_by_lr_squared():
    """One step theta - lr g changes c by exactly lr^2 B g^2: a second-order violation."""
    rng = np.random.default_rng(7)
    G = dag.random_dag(2, 6, 1, p=0.4, seed=7)
    theta = rng.normal(size=(1, G.num_edges))
    x = torch.from_numpy(rng.normal(size=(30, 2)))
    y = (x[:, 0] > 0).double()
    g = grad_of_loss(G, theta, x, y, "bce")
    B = dag.incidence_matrix(G).toarray()
    viol = []
    for lr in (1e-1, 5e-2, 2.5e-2):
        dc = dag.balances(G, theta - lr * g) - dag.balances(G, theta)
        np.testing.assert_allclose(dc, lr ** 2 * (g ** 2) @ B.T, atol=1e-13)
        viol.append(np.abs(dc).max())
    orders = np.log2(np.array(viol[:-1]) / np.array(viol[1:]))
    np.testing.assert_allclose(orders, 2.0, atol=1e-6)


def test_training_drift_is_first_order_over_fixed_time():
    """Over a fixed training time T, drift ~ (T / lr) steps * lr^2 = O(lr)."""
    G = dag.mlp_dag([2, 4, 3, 1], bias=True)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 2, generator=gen, dtype=torch.float64)
    y = x.sum(1)
    theta0 = dag.init_theta(G, runs=2, seed=1)
    drift = []
    for lr in (0.02, 0.01, 0.005):
        res = dag.train_dag(G, theta0, x, y, loss="mse", lr=lr, epochs=int(round(0.4 / lr)), record_every=10_000,
                            progress=False, threads=1)
        drift.append(np.abs(res["c"][-1] - res["c"][0]).max())
        assert res["loss"][-1].max() < res["loss"][0].min()  # it learns
    order = np.log2(drift[0] / drift[1]), np.log2(drift[1] / drift[2])
    assert 0.8 < order[0] < 1.2 and 0.8 < order[1] < 1.2, (drift, order)


def test_vectorised_runs_equal_separate_runs():
    G = dag.mlp_dag([3, 4, 1], bias=True)
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(25, 3, generator=gen, dtype=torch.float64)
    y = (x[:, 0] - x[:, 1] > 0).double()
    theta0 = dag.init_theta(G, runs=3, seed=5)
    for reg, lam in (("none", 0.0), ("l1", 1e-2), ("l2", 1e-2), ("nuclear", 1e-2)):
        kw = dict(loss="bce", reg=reg, lam=lam, lr=0.1, epochs=15, batch_size=10, seed=3, progress=False, threads=1)
        together = dag.train_dag(G, theta0, x, y, **kw)
        for r in range(3):
            alone = dag.train_dag(G, theta0[r:r + 1], x, y, **kw)
            np.testing.assert_allclose(together["theta"][r], alone["theta"][0], atol=1e-12)
            np.testing.assert_allclose(together["loss"][:, r], alone["loss"][:, 0], atol=1e-12)
    # one call with a different regulariser per run equals the separate calls
    kinds = ["none", "l1", "nuclear"]
    mixed = dag.train_dag(G, theta0, x, y, loss="bce", reg=kinds, lam=[0.0, 1e-2, 2e-2], lr=0.1, epochs=10,
                          seed=1, progress=False, threads=1)
    for r, (kind, lam) in enumerate(zip(kinds, [0.0, 1e-2, 2e-2])):
        alone = dag.train_dag(G, theta0[r:r + 1], x, y, loss="bce", reg=kind, lam=lam, lr=0.1, epochs=10, seed=1,
                              progress=False, threads=1)
        np.testing.assert_allclose(mixed["theta"][r], alone["theta"][0], atol=1e-12)


def test_regularisers_values_and_effect():
    G = dag.mlp_dag([2, 3, 1])
    theta = torch.tensor([[1.0, -2.0, 0.5, 0.0, 3.0, -1.0, 2.0, 2.0, -2.0]], dtype=torch.float64)
    assert dag.regulariser(G, theta, "l1").item() == pytest.approx(13.5)
    assert dag.regulariser(G, theta, "l2").item() == pytest.approx(1 + 4 + 0.25 + 9 + 1 + 12)
    assert dag.regulariser(G, theta, "nuclear").item() == pytest.approx(
        np.linalg.norm(dag.jacobian(G, theta[0].numpy()), "nuc"))
    with pytest.raises(ValueError, match="reg must be"):
        dag.regulariser(G, theta, "l3")
    with pytest.raises(ValueError, match="loss must be"):
        dag.run_losses(theta[:, :1, None], torch.zeros(1), "hinge")


def test_recorded_near_zero_count_follows_theorem2():
    """With exactly zero weights, the recorded count of vanishing singular values is |V| - rank."""
    G = dag.mlp_dag([2, 3, 1])
    theta0 = dag.init_theta(G, runs=2, seed=0)
    theta0[0, [0, 1, 6]] = 0.0  # neuron 2 of run 0 is cut off (in- and out-edges); it stays so
    x = torch.randn(10, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    res = dag.train_dag(G, theta0, x, x[:, 0], lr=0.01, epochs=3, progress=False, threads=1)
    expect = [len(G.hidden) - dag.jacobian_rank(G, res["theta"][r], atol=1e-3) for r in range(2)]
    assert res["near_zero"][-1].tolist() == expect
    assert expect == [1, 0] and res["c"].shape == (4, 2, 3)
