"""draw_neural_graph: one line per non-zero weight, coloured by that edge's curvature."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import ncurv_lib as nc  # noqa: E402
from ncurv_lib import plotting  # noqa: E402
from ncurv_lib.models import mlp  # noqa: E402


@pytest.fixture
def model_and_kappa():
    torch.manual_seed(0)
    model = mlp([4, 6, 5, 3]).double().eval()
    with torch.no_grad():
        model[2].weight[1, 2] = 0.0
        model[4].weight[0, :2] = 0.0
    x = torch.randn(2, 4, dtype=torch.float64)
    return model, nc.edge_curvature(model, x)


def test_one_line_per_nonzero_weight_with_its_curvature(model_and_kappa):
    model, kappa = model_and_kappa
    fig, ax = plt.subplots()
    lines = plotting.draw_neural_graph(model, kappa, ax, example=1)
    n_nonzero = sum(int((m.weight != 0).sum()) for m in model if isinstance(m, nn.Linear))
    assert n_nonzero == 24 + 29 + 13
    assert len(lines.get_segments()) == n_nonzero
    expected = np.concatenate([k[1][~torch.isnan(k[1])].numpy() for k in kappa.values()])
    assert np.allclose(np.sort(lines.get_array()), np.sort(expected))
    seg = lines.get_segments()[0]            # input 0 -> first hidden neuron 0
    assert lines.get_array()[0] == kappa["0.weight"][1, 0, 0].item()
    assert seg[0][0] == 0 and seg[1][0] == 1 and seg[0][1] == 1.5 and seg[1][1] == 2.5
    assert len(fig.axes) == 2                # the colour bar
    plt.close(fig)


def test_colour_scale_is_centred_at_zero(model_and_kappa):
    model, kappa = model_and_kappa
    fig, ax = plt.subplots()
    lines = plotting.draw_neural_graph(model, kappa, ax, colorbar=False)
    vmax = np.abs(lines.get_array()).max()
    assert lines.norm.vmin == -vmax and lines.norm.vmax == vmax and len(fig.axes) == 1
    lines = plotting.draw_neural_graph(model, kappa, ax, vlim=5.0, colorbar=False)
    assert (lines.norm.vmin, lines.norm.vmax) == (-5.0, 5.0)
    plt.close(fig)


def test_inactive_nodes_are_grey_and_labelled(model_and_kappa):
    model, kappa = model_and_kappa
    fig, ax = plt.subplots()
    dead = [np.zeros(4), np.eye(6)[2], np.zeros(5), np.zeros(3)]
    plotting.draw_neural_graph(model, kappa, ax, inactive=dead)
    faces = ax.collections[1].get_facecolors()
    assert len(faces) == 18 and (faces[:, :3] < 1).all(axis=1).sum() == 1
    assert (faces[4 + 2, :3] < 1).all()
    assert sorted(t.get_text() for t in ax.texts)[:3] == ["0", "0", "0"] and len(ax.texts) == 18
    with pytest.raises(ValueError, match="inactive"):
        plotting.draw_neural_graph(model, kappa, ax, inactive=dead[:3])
    plt.close(fig)


def test_conv_models_are_refused():
    model = nn.Sequential(nn.Conv2d(1, 1, 2), nn.Flatten(), nn.Linear(4, 2))
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="Conv2d"):
        plotting.draw_neural_graph(model, {}, ax)
    plt.close(fig)
