"""Theorem 1 (bottleneck balance conditions) against its LP definition and brute force."""
import itertools

import numpy as np
import pytest

from ncurv_lib import dag


def random_cases(n_graphs, seed):
    """Random small DAGs with generic, boundary (integer) and attained balance vectors."""
    rng = np.random.default_rng(seed)
    for k in range(n_graphs):
        G = dag.random_dag(int(rng.integers(1, 3)), int(rng.integers(1, 7)), int(rng.integers(1, 3)),
                           p=float(rng.uniform(0.1, 0.6)), seed=seed * 10_000 + k)
        h = len(G.hidden)
        yield G, rng.normal(size=h)
        yield G, rng.integers(-1, 2, size=h).astype(float)  # many stable-set sums exactly 0
        t = rng.integers(0, 3, size=G.num_edges).astype(float)  # theta^2 with zeros
        yield G, dag.incidence_matrix(G) @ t


def test_theorem1_matches_lp_definition():
    n = connected = 0
    for G, c in random_cases(180, seed=1):
        thm = dag.invariant_set_connected(G, c)
        assert thm == dag.invariant_set_connected_lp(G, c), (G, c)
        n += 1
        connected += thm
    assert n == 540
    assert 80 < connected < 460  # both outcomes are exercised


def test_violations_name_the_frozen_edge():
    checked = 0
    for G, c in random_cases(50, seed=2):
        for viol in dag.balance_violations(G, c):
            assert not dag.cone_test(G, c, viol.edge)  # that weight can never reach 0
            assert (viol.value > 0) == (viol.kind == "in")
            np.testing.assert_allclose(viol.value, sum(c[G.hidden.index(v)] for v in viol.nodes))
            checked += 1
    assert checked > 50


def brute_pure(G, v, forward):
    """Hidden nodes w such that every input->w (w->output) path visits v, by path enumeration."""
    succ = {x: [b for a, b in G.edges if a == x] for x in G.nodes}
    pred = {x: [a for a, b in G.edges if b == x] for x in G.nodes}
    nxt, roots = (succ, G.inputs) if forward else (pred, G.outputs)

    def paths_avoid(start, target):  # is there a path start ~> target not visiting v?
        stack, seen = [start], set()
        while stack:
            x = stack.pop()
            if x == v or x in seen:
                continue
            if x == target:
                return True
            seen.add(x)
            stack.extend(nxt[x])
        return False

    return tuple(w for w in G.hidden if w == v or not any(paths_avoid(r, w) for r in roots))


def test_pure_descendants_and_ancestors_brute_force():
    for seed in range(60):
        G = dag.random_dag(2, 6, 2, p=0.25, seed=seed)
        for v in G.hidden:
            assert dag.pure_descendants(G, v) == brute_pure(G, v, forward=True)
            assert dag.pure_ancestors(G, v) == brute_pure(G, v, forward=False)


def test_worst_stable_set_brute_force():
    rng = np.random.default_rng(3)
    checked = 0
    for seed in range(80):
        G = dag.random_dag(1, 7, 1, p=0.2, seed=seed)
        c = rng.normal(size=len(G.hidden))
        for kind, nodes in (("in", dag.in_bottlenecks(G)), ("out", dag.out_bottlenecks(G))):
            for v in nodes:
                pool = dag.pure_descendants(G, v) if kind == "in" else dag.pure_ancestors(G, v)
                single = [e for e, (a, b) in enumerate(G.edges) if (b if kind == "in" else a) == v]
                direction = "backward" if kind == "in" else "forward"
                sums = [0.0] + [sum(c[G.hidden.index(w)] for w in S)
                                for r in range(1, len(pool) + 1) for S in itertools.combinations(pool, r)
                                if dag.is_stable(G, S, direction, ignore_edges=single)]
                best = max(sums) if kind == "in" else min(sums)
                S, val = dag.worst_stable_set(G, c, v, kind)
                assert val == pytest.approx(best, abs=1e-12)
                assert dag.is_stable(G, S, direction, ignore_edges=single) or not S
                best_ne = max(sums[1:]) if kind == "in" else min(sums[1:])
                S, val = dag.worst_stable_set(G, c, v, kind, nonempty=True)
                assert val == pytest.approx(best_ne, abs=1e-12) and v in S
                checked += len(pool) > 1
    assert checked > 20


def test_single_neuron_hyperboloid():
    """One hidden neuron, scalar output: {|w|^2 - a^2 = c} is connected iff c >= 0."""
    G = dag.DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    assert dag.in_bottlenecks(G) == () and dag.out_bottlenecks(G) == (2,)
    assert [dag.invariant_set_connected(G, [c]) for c in (-1.0, -1e-3, 0.0, 2.0)] == [False, False, True, True]


def test_chain_needs_zero_balance():
    """Input -> a -> b -> output: both neurons are in- and out-bottlenecks."""
    G = dag.DAG(edges=[(0, 1), (1, 2), (2, 3)], inputs=[0], outputs=[3])
    assert dag.invariant_set_connected(G, [0.0, 0.0])
    # c = (1, -1): theta_0^2 = theta_1^2 + 1 > 0, so theta_0 never vanishes
    assert not dag.invariant_set_connected(G, [1.0, -1.0])
    assert [v.kind for v in dag.balance_violations(G, [1.0, -1.0])] == ["in", "out"]
