"""The compiled reduced-transport kernel (kernels.EDGE_BOUNDS) agrees with the batched
torch path of edges.transport_term: same bounds, same open problems, same exact values."""
import pytest
import torch

import ncurv_lib as nc
from ncurv_lib.curvature import api as A
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
    """Count the compiled calls and the three-hop table kinds they read."""
    seen = {"calls": 0, "kinds": set()}
    inner = kernels.edge_bounds

    def wrapped(arrays, table, paper):
        seen["calls"] += 1
        return inner(arrays, table, paper)
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
@pytest.mark.parametrize("solve", [False, True])
def test_compiled_term_equals_the_torch_path(convention, solve, counted, monkeypatch):
    assert kernels.EDGE_BOUNDS is not None, "numba is pinned in requirements.txt"
    cfg = nc.CurvatureConfig(convention=convention)
    n_open = 0
    for make in MODELS:
        model, x = make()
        fast = _pass(model, x, cfg, solve)
        with monkeypatch.context() as m:
            m.setattr(kernels, "EDGE_BOUNDS", None)
            slow = _pass(model, x, cfg, solve)
        for (lo_f, hi_f, p_f), (lo_s, hi_s, p_s) in zip(fast, slow):
            assert torch.equal(p_f, p_s)
            torch.testing.assert_close(lo_f, lo_s, rtol=0, atol=1e-12)
            torch.testing.assert_close(hi_f, hi_s, rtol=0, atol=1e-12)
            n_open += int(p_f.sum())
    assert counted["calls"] > 0
    assert counted["kinds"] == {"ConvThreeHop", "DenseTable"}
    assert (n_open > 0) == (not solve)          # bounds leave problems open, solving none
