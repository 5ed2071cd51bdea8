"""parameter_curvature (branch and bound) equals the minimum of edge_curvature exactly."""
import itertools
import math

import pytest
import torch
import torch.nn as nn

import ncurv_lib as nc
from ncurv_lib.curvature.api import Stats

from reference_lp import tiny_cnn

GRID = list(itertools.product(["relu", "tanh"], ["paper", "authors"], [True, False], [True, False]))


def brute_minimum(model, x, cfg):
    ec = nc.edge_curvature(model, x, cfg)
    out = {}
    for key, e in ec.items():
        w = dict(model.named_parameters())[key]
        flat = torch.nan_to_num(e.reshape(e.shape[0], *w.shape, -1), nan=math.inf)
        out[key] = flat.amin(dim=-1).amin(dim=0)
    return out


def wide_mlp(act, seed):
    """A wider MLP than the reference ones: supports large enough for real transport
    problems, and many examples per parameter (several refinement rounds)."""
    torch.manual_seed(seed)
    a = nn.ReLU if act == "relu" else nn.Tanh
    model = nn.Sequential(nn.Linear(6, 9), a(), nn.Linear(9, 8), a(), nn.Linear(8, 7), a(),
                          nn.Linear(7, 3)).double().eval()
    with torch.no_grad():
        model[2].weight[0, :4] = 0.0
    return model, torch.randn(12, 6, dtype=torch.float64)


@pytest.mark.parametrize("act,convention,nd,ncost", GRID)
def test_parameter_curvature_equals_edge_minimum(act, convention, nd, ncost):
    cfg = nc.CurvatureConfig(convention=convention, neural_distribution=nd, neural_cost=ncost)
    for model, x in (wide_mlp(act, 3), tiny_cnn(act)):
        stats = Stats()
        pc = nc.parameter_curvature(model, x, cfg, stats=stats)
        expect = brute_minimum(model, x, cfg)
        assert list(pc) == list(expect)
        for key in pc:
            torch.testing.assert_close(pc[key], expect[key], rtol=0, atol=1e-12)
        assert stats.evaluated < stats.edges - stats.special


def test_branch_and_bound_skips_most_edges():
    """On the wide MLP most regular edges are settled by their bound alone."""
    model, x = wide_mlp("tanh", 4)
    stats = Stats()
    nc.parameter_curvature(model, x, nc.CurvatureConfig(), stats=stats)
    regular = stats.edges - stats.special
    assert regular == 12 * (6 * 9 + 9 * 8 - 4 + 8 * 7 + 7 * 3)
    assert stats.evaluated <= regular // 2


@pytest.mark.parametrize("act,convention", [("relu", "paper"), ("tanh", "authors")])
def test_upper_gives_the_exact_minimum_with_earlier_scores(act, convention):
    """Started from the scores of other examples (and from arbitrary values, some below
    the true minimum), the result is the elementwise minimum, exactly, and fewer edges
    are evaluated than without."""
    cfg = nc.CurvatureConfig(convention=convention)
    work = {"cold": 0, "warm": 0}
    for model, x in (wide_mlp(act, 5), tiny_cnn(act)):
        first, rest = x[: x.shape[0] // 2], x[x.shape[0] // 2:]
        whole = brute_minimum(model, x, cfg)
        own = brute_minimum(model, rest, cfg)
        earlier = nc.parameter_curvature(model, first, cfg)
        cold, warm = Stats(), Stats()
        nc.parameter_curvature(model, rest, cfg, stats=cold)
        pc = nc.parameter_curvature(model, rest, cfg, stats=warm, upper=earlier)
        for key in pc:
            torch.testing.assert_close(pc[key], whole[key], rtol=0, atol=1e-12)
        assert warm.evaluated <= cold.evaluated and warm.bounded <= cold.bounded
        work["cold"] += cold.evaluated + cold.bounded
        work["warm"] += warm.evaluated + warm.bounded
        g = torch.Generator().manual_seed(1)
        odd = {k: torch.where(torch.rand(v.shape, generator=g) < 0.3, math.inf,
                              v - torch.rand(v.shape, generator=g, dtype=torch.float64)
                              + 0.5) for k, v in own.items()}
        pc = nc.parameter_curvature(model, rest, cfg, upper=odd)
        for key in pc:
            torch.testing.assert_close(pc[key], torch.minimum(odd[key], own[key]), rtol=0,
                                       atol=1e-12)
    assert work["warm"] < work["cold"]


def test_upper_must_match_the_weights():
    model, x = wide_mlp("relu", 6)
    good = nc.parameter_curvature(model, x[:2])
    with pytest.raises(ValueError, match="lacks '2.weight'"):
        nc.parameter_curvature(model, x, upper={k: v for k, v in good.items() if k != "2.weight"})
    with pytest.raises(ValueError, match="shape"):
        nc.parameter_curvature(model, x, upper={**good, "0.weight": torch.zeros(3)})
    with pytest.raises(ValueError, match="NaN"):
        nc.parameter_curvature(model, x, upper={**good, "0.weight": good["0.weight"] * math.nan})


@pytest.mark.parametrize("convention", ["paper", "authors"])
def test_examples_batched_or_one_by_one_agree(monkeypatch, convention):
    """With tables shared by all examples each refinement round is one call over the
    stacked supports of every example; with per-example tables (forced here) one call
    per example. Both give the exact minimum."""
    from ncurv_lib.curvature import core, params
    model, x = wide_mlp("relu", 5)
    cfg = nc.CurvatureConfig(convention=convention)
    expect = brute_minimum(model, x, cfg)
    seen = []
    evaluate = params._evaluate

    def spy(*args, **kwargs):
        seen.append(args[3])
        return evaluate(*args, **kwargs)
    monkeypatch.setattr(params, "_evaluate", spy)
    batched = nc.parameter_curvature(model, x, cfg)
    assert seen and all(torch.is_tensor(n) for n in seen)
    seen.clear()
    monkeypatch.setattr(core, "FULL_TABLE_ENTRIES", 0)
    single = nc.parameter_curvature(model, x, cfg)
    assert seen and all(isinstance(n, int) for n in seen)
    for key in expect:
        torch.testing.assert_close(batched[key], expect[key], rtol=0, atol=1e-12)
        torch.testing.assert_close(single[key], expect[key], rtol=0, atol=1e-12)


def test_stack_supports_rows_follow_examples():
    from ncurv_lib.curvature.measures import neighbour_support, stack_supports
    idx = torch.tensor([[0, 1, 2], [1, 2, -1]])
    lens = torch.tensor([[1.0, 2.0, 1.0], [1.0, 3.0, float("inf")]], dtype=torch.float64)
    a = neighbour_support(idx, lens, torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64),
                          "paper", True, 1e-12)
    b = neighbour_support(idx, lens, torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
                          "paper", True, 1e-12)
    assert a.idx.shape[1] == 2 and b.idx.shape[1] == 1
    s = stack_supports([a, b])
    assert s.idx.shape == (4, 2)
    assert s.idx.tolist() == [[1, 2], [1, 2], [0, -1], [-1, -1]]
    assert s.size.tolist() == [2, 2, 1, 1] and s.delta.tolist() == [False, False, False, True]
    torch.testing.assert_close(s.mass[2:], torch.tensor([[1.0, 0.0], [0.0, 0.0]],
                                                        dtype=torch.float64))
    assert s.length[3].tolist() == [float("inf")] * 2


def test_chunks_equal_one_call_and_build_the_model_once(monkeypatch):
    """parameter_curvature_chunks: the running minimum after each chunk is the exact
    minimum over the examples so far; transitions are built once for all chunks."""
    from ncurv_lib.curvature import core, params
    model, x = wide_mlp("tanh", 6)
    cfg = nc.CurvatureConfig()
    built = []
    transition = core.transition
    monkeypatch.setattr(core, "transition", lambda *a: built.append(1) or transition(*a))
    steps = list(params.parameter_curvature_chunks(model, x, cfg, chunk=5))
    assert [done for done, _ in steps] == [5, 10, 12]
    assert len(built) == 4                                  # one per Linear, not per chunk
    for done, scores in steps:
        expect = brute_minimum(model, x[:done], cfg)
        for key in expect:
            torch.testing.assert_close(scores[key], expect[key], rtol=0, atol=1e-12)
    resumed = list(params.parameter_curvature_chunks(model, x[5:], cfg, chunk=4,
                                                     upper=steps[0][1]))
    for key in expect:
        torch.testing.assert_close(resumed[-1][1][key], steps[-1][1][key], rtol=0, atol=1e-12)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="chunk"):
            list(params.parameter_curvature_chunks(model, x, cfg, chunk=bad))
    cnn = nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.Conv2d(2, 1, 2))
    mdl = core.prepare_model(cnn, torch.rand(2, 1, 4, 4))
    with pytest.raises(ValueError, match="do not match"):
        core.prepare_model(cnn, torch.rand(2, 1, 5, 5), like=mdl)


def test_threads_do_not_change_the_scores(monkeypatch):
    """Examples of the bounds pass and chunks of a call run on torch's thread count;
    one thread and two give the exact minimum alike (small chunks here, so that
    calls have several)."""
    from ncurv_lib.curvature import edges
    model, x = wide_mlp("relu", 7)
    cfg = nc.CurvatureConfig()
    expect = brute_minimum(model, x, cfg)
    monkeypatch.setattr(edges, "CHUNK", 64)
    sizes, real = [], edges.map_threads
    monkeypatch.setattr(edges, "map_threads", lambda fn, items: sizes.append(len(items))
                        or real(fn, items))
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            got = nc.parameter_curvature(model, x, cfg)
            for key in expect:
                torch.testing.assert_close(got[key], expect[key], rtol=0, atol=1e-12)
    finally:
        torch.set_num_threads(before)
    assert max(sizes) > 1


@pytest.mark.parametrize("act,convention", [("relu", "authors"), ("tanh", "paper")])
def test_exact_rounds_stop_at_plans_that_settle_an_edge(monkeypatch, act, convention):
    """The exact rounds give each LP its parameter's best: an edge whose plan (cheap,
    or reached by the simplex before the optimum) shows it cannot go below that best
    is settled without its optimum (bounds lo < hi, not pending). Such edges occur
    here, and the scores are still the exact minimum."""
    from ncurv_lib.curvature import kernels
    assert kernels.EDGE_BOUNDS is not None, "numba is pinned in requirements.txt"
    real, settled = kernels.edge_bounds, []

    def spy(arrays, table, paper, enough=None, solve=False):
        out = real(arrays, table, paper, enough, solve)
        if solve:
            settled.append(int(((out[0] < out[1]) & ~out[2]).sum()))
        return out
    monkeypatch.setattr(kernels, "edge_bounds", spy)
    cfg = nc.CurvatureConfig(convention=convention, neural_distribution=False, neural_cost=False)
    model, x = wide_mlp(act, 3)
    pc = nc.parameter_curvature(model, x, cfg)
    assert sum(settled) > 10
    expect = brute_minimum(model, x, cfg)
    for key in pc:
        torch.testing.assert_close(pc[key], expect[key], rtol=0, atol=1e-12)


def test_seed_puts_each_parameters_smallest_bound_first():
    """The refinement's first part holds, per parameter, the candidate with the smallest
    bound below its best (the first of equal ones); the second part the others below
    the best; candidates not below their best are in neither."""
    from ncurv_lib.curvature.params import _seed
    param = torch.tensor([0, 0, 1, 1, 1, 2, 3])          # of each edge
    best = torch.tensor([0.5, 0.0, -1.0, 2.0], dtype=torch.float64)
    n_ex = torch.tensor([0, 0, 1, 1, 1, 0, 2, 0])
    edges = torch.tensor([6, 1, 0, 3, 4, 5, 2, 3])
    lo = torch.tensor([1.0, 0.2, -0.1, -0.3, -0.3, -1.0, 0.1, -0.3], dtype=torch.float64)
    first, rest = _seed(param, best, (n_ex, edges, lo))
    as_set = lambda part: sorted(zip(*(z.tolist() for z in part)))
    # param 3: its only one; param 0: -0.1 < 0.2; param 1: three at -0.3, the first
    # (example 1, edge 3) leads; (0, 5) and (2, 2) are not below their best
    assert as_set(first) == [(0, 6, 1.0), (1, 0, -0.1), (1, 3, -0.3)]
    assert as_set(rest) == [(0, 1, 0.2), (0, 3, -0.3), (1, 4, -0.3)]
