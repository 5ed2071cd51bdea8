"""Engine vs the independent full-LP reference (tests/reference_lp.py), MLPs.

Every edge of every example, alpha = 0.9 and 0.5, both conventions, both
ablation switches, ReLU and Tanh; max error <= 1e-6.
"""
import itertools

import pytest
import torch

import ncurv_lib as nc
from ncurv_lib.curvature.api import Stats, curvature_pass

from reference_lp import reference_curvature, tiny_mlp

GRID = list(itertools.product(["relu", "tanh"], ["paper", "authors"], [True, False], [True, False]))


def max_error(model, x, **kw):
    ec = nc.edge_curvature(model, x, nc.CurvatureConfig(**kw))
    keys = list(ec)
    ref = reference_curvature(model, x, **kw)
    errs = [abs(ec[keys[int(r["key"])]][(r["n"],) + tuple(r["index"])].item() - v)
            for r in ref for v in r["values"].values()]
    n_edges = sum(int((~torch.isnan(t)).sum()) for t in ec.values())
    assert n_edges == len(ref), "engine and reference disagree on the edge set"
    assert set(ref[0]["values"]) == {0.9, 0.5}
    return max(errs)


@pytest.mark.parametrize("act,convention,nd,ncost", GRID)
def test_mlp_matches_full_lp(act, convention, nd, ncost):
    model, x = tiny_mlp(act)
    err = max_error(model, x, convention=convention, neural_distribution=nd, neural_cost=ncost)
    assert err <= 1e-6


def test_reference_cases_exercise_lp_and_greedy_paths():
    """The MLP cases above must reach the LP (POT) and the greedy branch, not only closed forms."""
    model, x = tiny_mlp("tanh")
    st = Stats()
    curvature_pass(model, x, nc.CurvatureConfig(), lambda *a: None, stats=st)  # as edge_curvature
    assert st.lps > 0
    assert st.not_closed > st.lps
    assert st.special == 0
    model, x = tiny_mlp("relu")
    st = Stats()
    curvature_pass(model, x, nc.CurvatureConfig(), lambda *a: None, stats=st)
    assert 0 < st.special < st.edges
