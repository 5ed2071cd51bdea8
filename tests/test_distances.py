"""Min-plus tables (:mod:`ncurv_lib.curvature.distances`): the compiled kernels and the
batched tensor code against brute force over explicit paths, ties included."""
import math

import pytest
import torch

from ncurv_lib.curvature import distances as D


def _lists(n_from, n_to, k, gen):
    """Padded adjacency lists (n_from, k): distinct targets, -1 / inf padding, small
    integer lengths (many ties)."""
    idx = torch.full((n_from, k), -1, dtype=torch.int64)
    length = torch.full((n_from, k), math.inf, dtype=torch.float64)
    for i in range(n_from):
        m = int(torch.randint(0, k + 1, (1,), generator=gen))
        idx[i, :m] = torch.randperm(n_to, generator=gen)[:m]
        length[i, :m] = torch.randint(1, 4, (m,), generator=gen).to(torch.float64)
    return idx, length


def _brute_two(rows, idx1, len1, idx2, len2, n_cols):
    """{(r, v): {q: length of p -> q -> v}} over explicit paths."""
    paths = {}
    for r, p in enumerate(rows.tolist()):
        for q, l1 in zip(idx1[p].tolist(), len1[p].tolist()):
            if q < 0:
                continue
            for v, l2 in zip(idx2[q].tolist(), len2[q].tolist()):
                if v >= 0:
                    paths.setdefault((r, v), {})[q] = l1 + l2
    return paths


def _check(top, paths, shape):
    assert top.best.shape == shape
    for r in range(shape[0]):
        for v in range(shape[1]):
            by_mid = paths.get((r, v), {})
            best = min(by_mid.values(), default=math.inf)
            assert top.best[r, v].item() == best
            a = top.arg[r, v].item()
            if not by_mid:
                assert a == -1 and top.second[r, v].item() == math.inf
                continue
            assert by_mid[a] == best
            others = [x for q, x in by_mid.items() if q != a]
            assert top.second[r, v].item() == min(others, default=math.inf)


@pytest.mark.parametrize("seed", range(4))
def test_two_hop_matches_brute_force(seed, monkeypatch):
    gen = torch.Generator().manual_seed(seed)
    idx1, len1 = _lists(7, 6, 4, gen)
    idx2, len2 = _lists(6, 5, 3, gen)
    rows = torch.tensor([0, 3, 5, 6, 2])
    paths = _brute_two(rows, idx1, len1, idx2, len2, 5)
    fast = D.two_hop(rows, idx1, len1, idx2, len2, 5)
    _check(fast, paths, (5, 5))
    slow = D._two_hop_torch(rows, idx1, len1, idx2, len2, 5)
    _check(slow, paths, (5, 5))
    assert torch.equal(fast.best, slow.best) and torch.equal(fast.second, slow.second)
    if D.TWO_HOP is not None:       # ties keep the smaller middle node in both
        assert torch.equal(fast.arg, slow.arg)


@pytest.mark.parametrize("seed", range(4))
def test_three_hop_matches_brute_force(seed):
    gen = torch.Generator().manual_seed(seed)
    idx1, len1 = _lists(6, 5, 3, gen)
    table = torch.randint(1, 5, (5, 4), generator=gen).to(torch.float64)
    table[1, 2] = math.inf                                   # no path through (1, 2)
    rows = torch.tensor([5, 0, 2, 4])
    paths = {}
    for r, p in enumerate(rows.tolist()):
        for q, l1 in zip(idx1[p].tolist(), len1[p].tolist()):
            for s in range(4):
                if q >= 0 and math.isfinite(table[q, s].item()):
                    paths.setdefault((r, s), {})[q] = l1 + table[q, s].item()
    fast = D.three_hop(rows, idx1, len1, table)
    _check(fast, paths, (4, 4))
    slow = D._three_hop_torch(rows, idx1, len1, table)
    _check(slow, paths, (4, 4))
    assert torch.equal(fast.best, slow.best) and torch.equal(fast.second, slow.second)


def test_compiled_kernels_are_used_when_numba_is_there():
    assert D.TWO_HOP is not None
