"""Error cases of the contract: unsupported modules, non-finite values, bad shapes, bad config."""
import pytest
import torch
import torch.nn as nn

import ncurv_lib as nc


def test_maxpool_is_unsupported_and_named():
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2, 2))
    with pytest.raises(nc.UnsupportedModelError, match=r"MaxPool2d.*'2'"):
        nc.edge_curvature(m, torch.randn(1, 1, 6, 6))


def test_nested_lstm_is_unsupported_and_named():
    m = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.ReLU(), nn.LSTM(3, 3)), nn.Linear(3, 2))
    with pytest.raises(nc.UnsupportedModelError, match=r"LSTM.*'1\.1'"):
        nc.parameter_curvature(m, torch.randn(2, 3))


def test_not_sequential_and_mixed_activations():
    with pytest.raises(nc.UnsupportedModelError, match="Sequential"):
        nc.edge_curvature(nn.Linear(2, 2), torch.randn(1, 2))
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 1))
    with pytest.raises(nc.UnsupportedModelError, match="activation"):
        nc.edge_curvature(m, torch.randn(1, 2))
    m = nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1), nn.Linear(3, 1))
    with pytest.raises(nc.UnsupportedModelError, match="Softmax"):
        nc.edge_curvature(m, torch.randn(1, 2))
    m = nn.Sequential(nn.Conv2d(1, 1, 1, groups=1), nn.ReLU(), nn.Conv2d(2, 2, 1, groups=2))
    with pytest.raises(nc.UnsupportedModelError, match="groups"):
        nc.edge_curvature(m, torch.randn(1, 1, 2, 2))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_input_or_weight(bad):
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 2))
    x = torch.randn(2, 3)
    x[1, 2] = bad
    with pytest.raises(ValueError, match="x contains"):
        nc.edge_curvature(m, x)
    with torch.no_grad():
        m[2].weight[0, 0] = bad
    with pytest.raises(ValueError, match="'2.weight'"):
        nc.parameter_curvature(m, torch.randn(2, 3))


def test_mismatched_input_shape():
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 2))
    with pytest.raises(ValueError, match="expects 3 input features"):
        nc.edge_curvature(m, torch.randn(2, 4))
    c = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2))
    with pytest.raises(ValueError, match=r"Conv2d.*expects input"):
        nc.edge_curvature(c, torch.randn(2, 1, 4, 4))
    with pytest.raises(ValueError, match="expects 8 input features"):
        nc.edge_curvature(c, torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match="add nn.Flatten"):
        nc.edge_curvature(m, torch.randn(2, 1, 3))


def test_config_validation():
    with pytest.raises(ValueError, match="convention"):
        nc.CurvatureConfig(convention="ollivier")
    with pytest.raises(ValueError, match="alpha"):
        nc.CurvatureConfig(alpha=1.0)
    with pytest.raises(ValueError, match="neural_cost"):
        nc.CurvatureConfig(neural_cost="yes")
    cfg = nc.CurvatureConfig()
    assert (cfg.convention, cfg.alpha, cfg.neural_distribution, cfg.neural_cost) == \
        ("paper", 0.9, True, True)
    with pytest.raises(Exception):
        cfg.alpha = 0.5
