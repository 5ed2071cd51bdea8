"""parameter_curvature split over worker processes gives the one-process scores."""
import math

import pytest
import torch

import ncurv_lib as nc
from ncurv_lib.curvature import parallel
from ncurv_lib.curvature.api import Stats

from reference_lp import tiny_cnn
from test_curvature_params import brute_minimum, wide_mlp


def test_parts_cover_every_example_once():
    for n, w in [(10, 2), (7, 3), (3, 5), (1, 2)]:
        got = parallel.parts(n, w)
        assert len(got) == min(n, w) and all(p.numel() for p in got)
        assert sorted(torch.cat(got).tolist()) == list(range(n))
    assert parallel.parts(10, 2)[1].tolist() == [1, 3, 5, 7, 9]


def test_stats_merge_sums_counters_and_keeps_largest_support():
    a = Stats(edges=10, special=2, lps=3, per_layer={0: dict(edges=10, lps=3, kp=4, ks=2,
                                                                seconds=1.0)})
    b = Stats(edges=5, bounded=7, lps=1, per_layer={0: dict(edges=5, lps=1, kp=3, ks=6,
                                                               seconds=0.5),
                                                       1: dict(edges=1, lps=0, kp=1, ks=1,
                                                               seconds=0.1)})
    assert a.merge(b) is a
    assert (a.edges, a.special, a.lps, a.bounded) == (15, 2, 4, 7)
    assert a.per_layer[0] == dict(edges=15, lps=4, kp=4, ks=6, seconds=1.5)
    assert a.per_layer[1] == dict(edges=1, lps=0, kp=1, ks=1, seconds=0.1)


@pytest.mark.parametrize("act,convention", [("relu", "paper"), ("tanh", "authors")])
def test_two_workers_give_the_exact_minimum(act, convention):
    cfg = nc.CurvatureConfig(convention=convention)
    for model, x in (wide_mlp(act, 5), tiny_cnn(act)):
        one, two = Stats(), Stats()
        ref = nc.parameter_curvature(model, x, cfg, stats=one)
        got = nc.parameter_curvature(model, x, cfg, stats=two, workers=2)
        expect = brute_minimum(model, x, cfg)
        assert list(got) == list(ref)
        for key in got:
            assert got[key].dtype == torch.float64 and got[key].shape == ref[key].shape
            torch.testing.assert_close(got[key], expect[key], rtol=0, atol=1e-12)
            torch.testing.assert_close(got[key], ref[key], rtol=0, atol=1e-12)
        # every edge of every example is counted once, whichever process saw it
        assert (two.edges, two.special) == (one.edges, one.special)


def test_workers_with_upper_and_a_single_example():
    model, x = wide_mlp("relu", 6)
    cfg = nc.CurvatureConfig()
    upper = nc.parameter_curvature(model, x[:4], cfg)
    got = nc.parameter_curvature(model, x[4:], cfg, upper=upper, workers=3)
    expect = brute_minimum(model, x, cfg)
    for key in got:
        torch.testing.assert_close(got[key], expect[key], rtol=0, atol=1e-12)
    # one example: no worker is started, the scores are those of one process
    one = nc.parameter_curvature(model, x[:1], cfg, workers=2)
    for key, v in brute_minimum(model, x[:1], cfg).items():
        torch.testing.assert_close(one[key], v, rtol=0, atol=1e-12)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_workers_must_be_a_positive_int(bad):
    model, x = wide_mlp("relu", 7)
    with pytest.raises(ValueError, match="workers"):
        nc.parameter_curvature(model, x, workers=bad)


def test_bad_input_raises_before_any_worker_starts():
    model, x = wide_mlp("relu", 8)
    x = x.clone()
    x[3, 0] = math.nan
    with pytest.raises(ValueError):
        nc.parameter_curvature(model, x, workers=2)
    with pytest.raises(ValueError, match="shape"):
        nc.parameter_curvature(model, torch.randn(4, 5, dtype=torch.float64), workers=2)
    upper = {k: v.clone() for k, v in nc.parameter_curvature(model, x[:2].nan_to_num()).items()}
    upper["0.weight"] = upper["0.weight"][:, :2]
    with pytest.raises(ValueError, match="upper"):
        nc.parameter_curvature(model, x[4:], upper=upper, workers=2)


def test_split_gives_every_thread_a_chunk_and_covers_each_edge_once():
    from ncurv_lib.curvature.edges import _split
    chunks = [(0, 3, 4, 2), (3, 10, 8, 8)]                          # work 24 and 448
    out = _split(chunks, 4)
    assert sorted(e for lo, hi, _, _ in out for e in range(lo, hi)) == list(range(10))
    assert all(kp == 8 for lo, hi, kp, _ in out if lo >= 3)       # sizes kept per part
    # the work per chunk is at most 472 / 8 = 59 where a chunk has several edges; one
    # edge of the second holds 64, so that one is cut to single edges
    assert sorted(out) == [(0, 3, 4, 2)] + [(e, e + 1, 8, 8) for e in range(3, 10)]
    out = _split([(0, 40, 2, 2)], 4)                                # even work: 8 halves
    assert sorted(hi - lo for lo, hi, _, _ in out) == [5] * 8
    out = _split([(0, 3, 2, 2), (3, 4, 2, 2)], 4)                   # 4 edges: 4 chunks
    assert sorted(out) == [(0, 1, 2, 2), (1, 2, 2, 2), (2, 3, 2, 2), (3, 4, 2, 2)]
    assert _split([(0, 1, 2, 2)], 4) == [(0, 1, 2, 2)]              # one edge: one chunk
    assert sorted(_split(chunks, 1)) == chunks                      # one thread: as they are


def test_parts_run_in_spawned_processes_with_a_module_level_worker():
    """The pool never relies on fork: ``spawn`` start method, workers pickled by
    reference (params' worker is a module-level function), results in part order."""
    import pickle

    from ncurv_lib.curvature import params
    assert parallel.START_METHOD == "spawn"
    assert pickle.loads(pickle.dumps(params._part_scores)) is params._part_scores
    out = parallel.map_parts(torch.sum, torch.arange(6.0), 2)
    assert [float(v) for v in out] == [0.0 + 2.0 + 4.0, 1.0 + 3.0 + 5.0]
    assert parallel.map_threads(abs, [-2, 3, -4]) == [2, 3, 4]


def test_stats_merge_takes_a_dict_and_add_counts_per_layer():
    import dataclasses
    a = Stats().add(0, edges=3, special=1, kp=2).add(0, kp=1, seconds=0.5)
    assert (a.edges, a.special) == (3, 1)
    assert a.per_layer[0] == dict(edges=3, special=1, lps=0, not_closed=0, kp=2, ks=0,
                                  seconds=0.5)
    b = Stats().merge(dataclasses.asdict(a)).merge(a)
    assert (b.edges, b.special) == (6, 2) and b.per_layer[0]["kp"] == 2
    with pytest.raises(ValueError, match="counter"):
        Stats().add(0, bogus=1)
