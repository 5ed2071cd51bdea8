"""The benchmark table: one exact parameter_curvature run per row, counts that add up."""

import torch
from torch import nn

from ncurv_lib import bench
from ncurv_lib.curvature import api as A


def _tiny():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 2), nn.ReLU(),
                          nn.Flatten(), nn.Linear(2 * 3 * 3, 3)).double().eval()
    return model, torch.rand(4, 1, 6, 6, dtype=torch.float64)


def test_bench_row_counts_and_scaling():
    model, x = _tiny()
    cfg = A.CurvatureConfig()
    row = bench.bench_full("tiny", model, x, "random", cfg, 2, 0)
    st = A.Stats()
    A.curvature_pass(model, x, cfg, lambda *a: None, stats=st)
    assert row["edges"] == st.edges and row["examples"] == 4
    assert 0.0 <= row["closed_share"] <= 1.0 and row["seconds"] > 0
    scaled = bench.bench_full("tiny", model, x[:2], "random", cfg, 2, 0, n_report=8)
    assert scaled["examples"] == 8 and "EXTRAPOLATED" in scaled["note"]
    half = A.Stats()
    A.curvature_pass(model, x[:2], cfg, lambda *a: None, stats=half)
    assert scaled["edges"] == 4 * half.edges
    table = bench.format_table([row, scaled])
    assert table.count("\n") == 3 and "| tiny | 4 |" in table
