"""The three-hop screen (edges._screen) never drops a negative reduced cost."""
import pytest
import torch

import ncurv_lib as nc
from ncurv_lib.curvature import core
from ncurv_lib.curvature import edges as E

from reference_lp import tiny_cnn, wide_tanh


def _full_costs(tab, mu, nu, u, v, d, paper, kp, ks):
    """Reduced costs on every pair (no screen) and the screen's rows and columns."""
    pm, a, pid, pw, pdelta, sm, b, sid, sw, sdelta = E.sides(tab, mu, nu, u, v, d, paper, kp, ks)
    c3 = E.c3_values(tab, pid, sid, pw, b, u, paper)
    c3[pdelta, 0, :] = b[pdelta]
    c3[sdelta, :, 0] = a[sdelta]
    a = torch.where(pm > 0, a, torch.zeros_like(a))
    b = torch.where(sm > 0, b, torch.zeros_like(b))
    live = (pm > 0)[:, :, None] & (sm > 0)[:, None, :]
    c = torch.where(live, c3 + d[:, None, None] - a[:, :, None] - b[:, None, :], 0.0)
    scale = d + a.amax(dim=1) + b.amax(dim=1)
    rows, cols = E._screen(tab, pm, a, pid, pdelta, sm, b, sid, sdelta, d, 0.5e-13 * scale)
    return c, -1e-13 * scale, rows, cols


@pytest.mark.parametrize("convention", ["paper", "authors"])
def test_screen_keeps_every_negative_cost_and_drops_some(convention):
    cfg = nc.CurvatureConfig(convention=convention)
    kept = dropped = 0
    for model, x in (wide_tanh(0), wide_tanh(1), tiny_cnn("tanh"), tiny_cnn("relu")):
        mdl = core.prepare_model(model, x, cfg)
        for n in range(x.shape[0]):
            mu, nu = core.example_supports(cfg, mdl, n)
            for t in range(1, len(mdl.trs) - 1):
                tr = mdl.trs[t]
                d = core.edge_setup(cfg, mdl, n, t).d
                ok = torch.isfinite(d)
                u, v, d = tr.src[ok], tr.dst[ok], d[ok]
                tab = core.layer_tables(cfg, mdl, t, mu, nu)
                assert tab.hops is not None
                kp, ks = mu[t].idx.shape[1], nu[t + 1].idx.shape[1]
                c, thr, rows, cols = _full_costs(tab, mu[t], nu[t + 1], u, v, d,
                                                 convention == "paper", kp, ks)
                neg = c < thr[:, None, None]
                assert not (neg & ~(rows[:, :, None] & cols[:, None, :])).any()
                kept += int(neg.sum())
                dropped += int((~rows).sum())
    assert kept > 0 and dropped > 0
