"""Engine vs the independent full-LP reference on small CNNs.

Stride 2, padding, dilation, BatchNorm with non-trivial running statistics,
zero weights, nested Sequential, Dropout/Identity/Flatten and a final Softmax
(``tiny_cnn``), and a chain of unpadded convolutions that the translation-invariant
path tables serve (``tiny_conv_chain``); ReLU and Tanh, both conventions, both
ablation switches; max error <= 1e-6.
"""
import itertools

import pytest

from reference_lp import tiny_cnn, tiny_conv_chain
from test_curvature_reference import max_error

GRID = list(itertools.product(["relu", "tanh"], ["paper", "authors"], [True, False], [True, False]))


@pytest.mark.parametrize("build", [tiny_cnn, tiny_conv_chain])
@pytest.mark.parametrize("act,convention,nd,ncost", GRID)
def test_cnn_matches_full_lp(build, act, convention, nd, ncost):
    model, x = build(act)
    err = max_error(model, x, convention=convention, neural_distribution=nd, neural_cost=ncost)
    assert err <= 1e-6


def test_conv_chain_uses_the_offset_tables():
    from ncurv_lib.curvature import core
    from ncurv_lib.curvature.api import CurvatureConfig
    from ncurv_lib.curvature.conv_distances import ConvThreeHop, ConvTwoHop
    model, x = tiny_conv_chain("tanh")
    cfg = CurvatureConfig()
    mdl = core.prepare_model(model, x, cfg)
    mu, nu = core.example_supports(cfg, mdl, 0)
    kinds = [tuple(type(getattr(core.layer_tables(cfg, mdl, t, mu, nu), name)).__name__
                   for name in ("m2a", "m2b", "m3"))
             for t in range(len(mdl.trs))]
    assert kinds[1] == ("DenseTable", "Transposed", "DenseTable")
    assert kinds[2] == ("ConvTwoHop", "Transposed", "ConvThreeHop")
    assert kinds[3] == ("ConvTwoHop", "DenseTable", "DenseTable")
    assert isinstance(mdl.conv[("3", 1)], ConvThreeHop) and isinstance(mdl.conv[("2", 2)], ConvTwoHop)
