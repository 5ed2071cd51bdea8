"""Engine vs the independent full-LP reference on a small CNN.

Stride 2, padding, dilation, BatchNorm with non-trivial running statistics,
zero weights, nested Sequential, Dropout/Identity/Flatten and a final Softmax;
ReLU and Tanh, both conventions, both ablation switches; max error <= 1e-6.
"""
import itertools

import pytest

from reference_lp import tiny_cnn
from test_curvature_reference import max_error

GRID = list(itertools.product(["relu", "tanh"], ["paper", "authors"], [True, False], [True, False]))


@pytest.mark.parametrize("act,convention,nd,ncost", GRID)
def test_cnn_matches_full_lp(act, convention, nd, ncost):
    model, x = tiny_cnn(act)
    err = max_error(model, x, convention=convention, neural_distribution=nd, neural_cost=ncost)
    assert err <= 1e-6
