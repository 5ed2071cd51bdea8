"""Helpers of the Part II notebooks: sign-flip thresholds, null model, data sets."""
import numpy as np
import pytest
import torch

from ncurv_lib import dag


def test_sign_flip_threshold_matches_lp():
    """Just below the threshold the edge can reach 0 (LP feasible), just above it cannot."""
    rng = np.random.default_rng(0)
    checked = 0
    for seed in range(60):
        G = dag.random_dag(2, 5, 1, p=0.25, seed=seed)
        theta = rng.normal(size=G.num_edges)
        for e in range(G.num_edges):
            a = dag.sign_flip_threshold(G, theta, e)
            if not np.isfinite(a):
                assert dag.cone_test(G, dag.balances(G, theta), e)
                continue
            for factor, feasible in ((0.99, True), (1.01, False)):
                if a == 0 and feasible:
                    continue
                th = theta.copy()
                th[e] = factor * a if a > 0 else 0.1
                assert dag.cone_test(G, dag.balances(G, th), e) == feasible, (seed, e, a)
            checked += 1
    assert checked > 30


def test_toy_threshold_by_hand():
    G = dag.toy_bottleneck_dag()
    theta = np.array([1.0, 2.0, 1.0, 1.0, 1.0, 3.0, 0.0])
    # forward-stable sets of PA(4) = {2,3,4} with theta_out = 0: {4}: 1 + 9 = 10,
    # {2,4}: in(2) + 9 = 14, {3,4}: in(3) + 1 = 3, {2,3,4}: 5 + 2 = 7 -> threshold sqrt(3)
    assert dag.sign_flip_threshold(G, theta, 6) == pytest.approx(np.sqrt(3.0))
    assert dag.sign_flip_threshold(G, theta, 0) == np.inf  # node 2 is no in-bottleneck


def test_null_model_monte_carlo():
    G = dag.mlp_dag([3, 4, 2, 1])
    rng = np.random.default_rng(1)
    for p in (0.3, 0.7):
        zero = rng.random((20000, G.num_edges)) < p
        counts = dag.disconnected_neurons(G, np.where(zero, 0.0, 1.0)).sum(-1)
        assert counts.mean() == pytest.approx(float(dag.null_model_disconnected(G, p)), abs=0.05)


def test_disconnected_neurons_agree_with_zero_scores():
    G = dag.random_dag(2, 6, 2, p=0.4, seed=2)
    theta = np.random.default_rng(3).normal(size=(50, G.num_edges))
    theta[np.random.default_rng(4).random(theta.shape) < 0.4] = 0.0
    s, _ = dag.pruning_scores(G, theta)
    np.testing.assert_array_equal(dag.disconnected_neurons(G, theta, tol=1e-12), s == 0)


def test_breast_cancer_split():
    xtr, ytr, xte, yte = dag.breast_cancer_split(seed=0)
    assert xtr.shape == (455, 30) and xte.shape == (114, 30)
    assert set(ytr.unique().tolist()) == {0.0, 1.0}
    torch.testing.assert_close(xtr.mean(0), torch.zeros(30, dtype=torch.float64), atol=1e-12, rtol=0)
