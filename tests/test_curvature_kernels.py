"""The compiled kernels (kernels.EDGE_BOUNDS, SIDE_VALUES, SIDE_SUMS) agree with the batched
torch path of edges.transport_term and closed_term: same bounds, same open problems, same
exact values (the kernel's own simplex, or POT where that reaches its pivot cap)."""
import pytest
import torch

import ncurv_lib as nc
from ncurv_lib.curvature import api as A
from ncurv_lib.curvature import core
from ncurv_lib.curvature import conv_distances as CD
from ncurv_lib.curvature import kernels

from reference_lp import tiny_cnn, tiny_conv_chain, wide_tanh


MODELS = [lambda: wide_tanh(0), lambda: tiny_cnn("tanh"), lambda: tiny_cnn("relu"),
          lambda: tiny_conv_chain("tanh"), lambda: tiny_conv_chain("relu")]


def _pass(model, x, cfg, solve):
    out = []
    A.curvature_pass(model, x, cfg, lambda t, n, lo, hi, pend, *_: out.append((lo, hi, pend)),
                     solve=solve)
    return out


@pytest.fixture
def counted(monkeypatch):
    """Count the compiled calls, the three-hop table kinds they read, the LPs the kernel
    solved and those posed to POT."""
    seen = {"calls": 0, "kinds": set(), "lps": 0, "pot": 0}
    inner, problems = kernels.edge_bounds, kernels.edge_problems

    def counted_problems(*args):
        out = problems(*args)
        seen["pot"] += len(out)
        return out
    monkeypatch.setattr(kernels, "edge_problems", counted_problems)

    def wrapped(arrays, table, paper, enough=None, solve=False):
        seen["calls"] += 1
        out = inner(arrays, table, paper, enough, solve)
        seen["lps"] += out[4]
        return out
    flat = {}
    for cls in (CD.ConvThreeHop, nc.curvature.distances.DenseTable):
        flat[cls] = cls.flat_parts

        def parts(self, *args, _cls=cls):
            seen["kinds"].add(_cls.__name__)
            return flat[_cls](self, *args)
        monkeypatch.setattr(cls, "flat_parts", parts)
    monkeypatch.setattr(kernels, "edge_bounds", wrapped)
    return seen


@pytest.mark.parametrize("convention", ["paper", "authors"])
@pytest.mark.parametrize("solve,max_pivots", [(False, -1), (True, -1), (True, 0)])
def test_compiled_term_equals_the_torch_path(convention, solve, max_pivots, counted,
                                             monkeypatch):
    """max_pivots 0: the kernel's simplex gives up wherever its start is not optimal, and
    POT solves those problems instead."""
    assert kernels.EDGE_BOUNDS is not None, "numba is pinned in requirements.txt"
    monkeypatch.setattr(kernels, "MAX_PIVOTS", max_pivots)
    cfg = nc.CurvatureConfig(convention=convention)
    n_open = 0
    for make in MODELS:
        model, x = make()
        fast = _pass(model, x, cfg, solve)
        with monkeypatch.context() as m:
            for name in ("EDGE_BOUNDS", "SIDE_VALUES", "SIDE_SUMS"):
                m.setattr(kernels, name, None)
            slow = _pass(model, x, cfg, solve)
        for (lo_f, hi_f, p_f), (lo_s, hi_s, p_s) in zip(fast, slow):
            assert torch.equal(p_f, p_s)
            torch.testing.assert_close(lo_f, lo_s, rtol=0, atol=1e-12)
            torch.testing.assert_close(hi_f, hi_s, rtol=0, atol=1e-12)
            n_open += int(p_f.sum())
    assert counted["calls"] > 0
    assert counted["kinds"] == {"ConvThreeHop", "DenseTable"}
    assert (n_open > 0) == (not solve)          # bounds leave problems open, solving none
    assert (counted["lps"] > 0) == solve        # the kernel solved LPs itself...
    assert (counted["pot"] > 0) == (max_pivots == 0)   # ...and POT only those it gave up on


def _bounds_of_every_layer(model, x, cfg):
    """Cheap bounds (k_lo, exact) of every transition on every example."""
    mdl = core.prepare_model(model, x, cfg)
    stats, out = A.Stats(), []
    for n in range(x.shape[0]):
        mu, nu = core.example_supports(cfg, mdl, n)
        out += [core.layer_bounds(cfg, mdl, n, t, mu, nu, stats) for t in range(len(mdl.trs))]
    return out


@pytest.mark.parametrize("convention", ["paper", "authors"])
@pytest.mark.parametrize("nd", [True, False])
def test_compiled_closed_term_equals_the_torch_path(convention, nd, monkeypatch):
    """kernels.side_sums (cheap bounds of every edge straight from the supports) gives
    the bounds and exact flags of edges.closed_term, on dense and conv offset tables."""
    assert kernels.SIDE_SUMS is not None, "numba is pinned in requirements.txt"
    calls = {"n": 0, "kinds": set()}
    inner = kernels.side_sums

    def wrapped(sup, nodes, parts, d, paper):
        calls["n"] += 1
        calls["kinds"].add(bool(parts[3].any()))    # c_node != 0: a conv table's far side
        return inner(sup, nodes, parts, d, paper)
    monkeypatch.setattr(kernels, "side_sums", wrapped)
    cfg = nc.CurvatureConfig(convention=convention, neural_distribution=nd)
    seen = set()
    for make in MODELS:
        model, x = make()
        fast = _bounds_of_every_layer(model, x, cfg)
        with monkeypatch.context() as m:
            m.setattr(kernels, "SIDE_SUMS", None)
            slow = _bounds_of_every_layer(model, x, cfg)
        for (lo_f, ex_f), (lo_s, ex_s) in zip(fast, slow):
            assert torch.equal(ex_f, ex_s)
            torch.testing.assert_close(lo_f, lo_s, rtol=0, atol=1e-12)
    assert calls["kinds"] == {True, False}


def test_side_parts_of_every_table_kind_match_their_lookups():
    """side_parts (separable flat indices) reproduce excluding() of a ConvTwoHop from both
    ends and of a dense table, for every pair joined through the excluded middle node."""
    from ncurv_lib.curvature.distances import DenseTable, Transposed, two_hop
    from ncurv_lib.curvature.graph import transition
    torch.manual_seed(3)
    c1, c2 = torch.nn.Conv2d(2, 3, 2, stride=2), torch.nn.Conv2d(3, 2, 3)
    t1, t2 = transition(c1, (2, 8, 8)), transition(c2, (3, 4, 4))
    conv = CD.ConvTwoHop(t1, t2)
    dense = DenseTable(two_hop(torch.arange(t1.n_in), t1.out_idx, t1.out_len, t2.out_idx,
                               t2.out_len, t2.n_out))
    checked = 0
    for table, mids, ends, slots in ((conv, t2.src, t2.dst, t1.in_idx),
                                     (dense, t2.src, t2.dst, t1.in_idx),
                                     (Transposed(conv), t1.dst, t1.src, t2.out_idx)):
        # edge (mid -> end) of the middle layer; the slots are the neighbours of mid
        x_e, c_e, y_node, c_node, (best, arg, second) = table.side_parts(ends, mids)
        k = slots[mids]
        ok = k >= 0
        kk = k.clamp_min(0)
        f = x_e[:, None] + y_node[kk]
        got = torch.where(arg[f] == c_e[:, None] - c_node[kk], second[f], best[f])
        want = table.excluding(kk, ends[:, None], mids[:, None], True)
        assert torch.equal(got[ok], want[ok])
        checked += int(ok.sum())
    assert checked > 100


@pytest.mark.parametrize("convention", ["paper", "authors"])
def test_bounds_with_a_need_stay_valid_and_stop_early(convention):
    """With ``need`` (the parameters' best), an edge that a north-west corner plan already
    shows to reach its need keeps that plan's bound (k_hi = +inf, no greedy plan, no
    other cost formed); every bound still brackets the exact value."""
    cfg = nc.CurvatureConfig(convention=convention)
    settled = 0
    for make in MODELS:
        model, x = make()
        mdl = core.prepare_model(model, x, cfg)
        for n in range(x.shape[0]):
            mu, nu = core.example_supports(cfg, mdl, n)
            for t in range(len(mdl.trs)):
                exact, _, _ = core.layer_kappa(cfg, mdl, n, t, mu, nu, A.Stats())
                need = exact + torch.rand(exact.shape, generator=torch.Generator().manual_seed(t),
                                          dtype=torch.float64) - 0.5
                lo, hi, pend = core.layer_kappa(cfg, mdl, n, t, mu, nu, A.Stats(), solve=False, need=need)
                assert (lo <= exact + 1e-12).all() and (exact <= hi + 1e-12).all()
                corner = pend & torch.isinf(hi)
                assert (lo[corner] >= need[corner] - 1e-12).all()
                settled += int(corner.sum())
    assert settled > 0


@pytest.mark.parametrize("tol", [1e-12, 0.2])
def test_compiled_paper_support_equals_the_torch_path(tol, monkeypatch):
    """kernels.paper_support gives neighbour_support's distributions (same slots, flags
    and sizes; masses to rounding): padding, inactive neighbours, rows with none
    active (point masses), and a tolerance that drops masses."""
    from ncurv_lib.curvature.measures import neighbour_support
    g = torch.Generator().manual_seed(4)
    n, k, m = 400, 30, 200
    idx = torch.randint(-1, m, (n, k), generator=g)
    lens = torch.where(idx >= 0, torch.rand(n, k, generator=g, dtype=torch.float64) + 0.1,
                       torch.tensor(float("inf"), dtype=torch.float64))
    x = torch.rand(m, generator=g, dtype=torch.float64)
    x[x < 0.3] = 0.0
    x[0] = 0.0
    idx[:5] = -1                                   # no neighbour at all
    idx[5:10] = 0                                  # only an inactive one
    x[1:4] = torch.tensor([0.01, 0.02, 0.03], dtype=torch.float64)   # masses that underflow
    idx[10:15, :3] = torch.tensor([1, 2, 3])
    assert kernels.PAPER_SUPPORT is not None, "numba is pinned in requirements.txt"
    calls = []
    inner = kernels.paper_support
    monkeypatch.setattr(kernels, "paper_support", lambda *a: calls.append(1) or inner(*a))
    fast = neighbour_support(idx, lens, x, "paper", True, tol)
    monkeypatch.setattr(kernels, "PAPER_SUPPORT", None)
    slow = neighbour_support(idx, lens, x, "paper", True, tol)
    assert calls and fast.delta[:10].all() and not fast.delta[10:].all()
    for name in ("idx", "length", "delta", "size"):
        assert torch.equal(getattr(fast, name), getattr(slow, name)), name
    torch.testing.assert_close(fast.mass, slow.mass, rtol=1e-14, atol=1e-16)
