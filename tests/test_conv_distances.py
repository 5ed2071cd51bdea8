"""Translation-invariant conv path tables against the dense min-plus products."""
import pytest
import torch
import torch.nn as nn

from ncurv_lib.curvature.conv_distances import (ConvThreeHop, ConvTwoHop, three_hop_eligible,
                                                two_hop_eligible)
from ncurv_lib.curvature.distances import three_hop, two_hop
from ncurv_lib.curvature.graph import transition

CASES = [  # (in_shape, [(Ci, Co, k, stride, padding, dilation), ...])
    ((2, 9, 9), [(2, 3, 3, 1, 0, 1), (3, 4, 3, 1, 0, 1), (4, 2, 2, 1, 0, 1)]),
    ((1, 13, 11), [(1, 3, 3, 2, 1, 1), (3, 2, 2, 1, 0, 2), (2, 3, 3, 1, 0, 1)]),
    ((3, 12, 12), [(3, 2, 2, 2, 0, 1), (2, 3, 3, 2, 0, 1), (3, 2, 1, 1, 0, 1)]),
]


def _transitions(in_shape, specs, seed, zero_frac=0.2):
    gen = torch.Generator().manual_seed(seed)
    trs, shape = [], in_shape
    for ci, co, k, s, p, d in specs:
        conv = nn.Conv2d(ci, co, k, stride=s, padding=p, dilation=d)
        with torch.no_grad():
            w = torch.randn(conv.weight.shape, generator=gen)
            w[torch.rand(w.shape, generator=gen) < zero_frac] = 0.0
            conv.weight.copy_(w)
        tr = transition(conv, shape)
        trs.append(tr)
        shape = tr.out_shape
    return trs


def _fast_paths(table, dense, rows, cols):
    """``best`` / ``excluding`` on connected pairs equal the dense table's values."""
    r, c = torch.nonzero(torch.isfinite(dense.best), as_tuple=True)
    assert r.numel() > 0
    rows, cols = rows[r], cols[c]
    assert torch.equal(table.best(rows, cols), dense.best[r, c])
    arg = dense.arg[r, c]
    assert torch.equal(table.excluding(rows, cols, arg), dense.second[r, c])
    # the middle node of a connected pair is adjacent to its end: the unchecked path agrees
    assert torch.equal(table.excluding(rows, cols, arg, adjacent=True), dense.second[r, c])
    unique = dense.second[r, c] > dense.best[r, c]
    other = torch.where(arg > 0, arg - 1, arg + 1)
    assert torch.equal(table.excluding(rows, cols, other)[unique], dense.best[r, c][unique])


def _same(tops, dense, mid_ok):
    best, arg, second = tops
    assert torch.equal(best, dense.best)
    assert torch.equal(second, dense.second)
    unique = torch.isfinite(dense.best) & (dense.second > dense.best)
    assert torch.equal(arg[unique], dense.arg[unique])
    assert bool(mid_ok(arg[unique]))
    assert torch.all(arg[~torch.isfinite(dense.best)] == -1)


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [0, 1])
def test_two_and_three_hop_match_dense(case, seed):
    in_shape, specs = CASES[case]
    x, y, z = _transitions(in_shape, specs, seed)
    assert two_hop_eligible(x, y) and three_hop_eligible(x, y, z)
    xy, yz = ConvTwoHop(x, y), ConvTwoHop(y, z)
    rows = torch.arange(x.n_in)
    dense_xy = two_hop(rows, x.out_idx, x.out_len, y.out_idx, y.out_len, y.n_out)
    _same(xy.lookup(rows[:, None], torch.arange(y.n_out)[None, :]), dense_xy,
          lambda a: ((a >= 0) & (a < x.n_out)).all())
    _fast_paths(xy, dense_xy, rows, torch.arange(y.n_out))
    mid = torch.arange(y.n_in)
    dense_yz = two_hop(mid, y.out_idx, y.out_len, z.out_idx, z.out_len, z.n_out)
    dense3 = three_hop(rows, x.out_idx, x.out_len, dense_yz.best)
    xyz = ConvThreeHop(x, yz)
    _same(xyz.lookup(rows[:, None], torch.arange(z.n_out)[None, :]), dense3,
          lambda a: ((a >= 0) & (a < x.n_out)).all())
    _fast_paths(xyz, dense3, rows, torch.arange(z.n_out))
    _fast_paths(yz, dense_yz, mid, torch.arange(z.n_out))


def test_padding_of_the_second_layer_is_not_eligible():
    x, y, z = _transitions((1, 8, 8), [(1, 2, 3, 1, 0, 1), (2, 2, 3, 1, 1, 1),
                                       (2, 2, 3, 1, 0, 1)], 0)
    assert not two_hop_eligible(x, y)
    assert two_hop_eligible(y, z) and not three_hop_eligible(x, y, z)
    with pytest.raises(ValueError, match="unpadded"):
        ConvTwoHop(x, y)
    lin = transition(nn.Linear(4, 3), (4,))
    assert not two_hop_eligible(lin, lin)


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_min_top2_matches_a_sort(dim):
    """Best and second best are the first two of a sort (ties included), the argmin
    points at a best entry; a single candidate has no second (+inf)."""
    from ncurv_lib.curvature.conv_distances import _min_top2
    gen = torch.Generator().manual_seed(dim)
    m = torch.randint(0, 5, (4, 6, 5), generator=gen).to(torch.float64)
    m[0, 0, 0] = float("inf")
    best, arg, second = _min_top2(m, dim)
    ordered = torch.sort(m, dim=dim).values
    assert torch.equal(best, ordered.select(dim, 0))
    assert torch.equal(second, ordered.select(dim, 1))
    assert torch.equal(m.gather(dim, arg.unsqueeze(dim)).squeeze(dim), best)
    one = m.narrow(dim, 2, 1)
    best, arg, second = _min_top2(one, dim)
    assert torch.equal(best, one.squeeze(dim)) and (arg == 0).all()
    assert torch.isinf(second).all()
