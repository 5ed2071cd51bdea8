import pytest
import torch
from torch import nn

from ncurv_lib import models


def _spatial_sizes(model, x):
    sizes = []
    for m in model:
        x = m(x)
        if isinstance(m, nn.Conv2d):
            sizes.append(x.shape[-1])
    return sizes, x


def test_lenet5_shapes_and_parameter_count():
    m = models.lenet5_small()
    sizes, out = _spatial_sizes(m, torch.zeros(3, 1, 28, 28))
    assert sizes == [12, 4] and out.shape == (3, 10)
    # conv 6*1*36+6, conv 16*6*36+16, fc 256*120+120, 120*84+84, 84*10+10
    assert sum(p.numel() for p in m.parameters()) == 222 + 3472 + 30840 + 10164 + 850
    assert not any(isinstance(x, (nn.BatchNorm2d, nn.MaxPool2d)) for x in m)


def test_vgg9_spatial_sizes_and_widths():
    m = models.vgg9(num_classes=100)
    sizes, out = _spatial_sizes(m, torch.zeros(2, 3, 32, 32))
    assert sizes == [16, 14, 12, 5, 3, 1] and out.shape == (2, 100)
    convs = [x for x in m if isinstance(x, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 128, 128, 256, 256]
    assert all(c.padding == (0, 0) for c in convs)
    assert sum(isinstance(x, nn.BatchNorm2d) for x in m) == 6
    half = models.vgg9(width=0.5)
    assert [c.out_channels for c in half if isinstance(c, nn.Conv2d)] == [32, 64, 64, 64, 128, 128]
    assert [l.out_features for l in half if isinstance(l, nn.Linear)] == [256, 64, 10]


@pytest.mark.parametrize("act, cls", [("relu", nn.ReLU), ("tanh", nn.Tanh)])
def test_activation_choice(act, cls):
    m = models.build_model("lenet5", act=act)
    assert sum(isinstance(x, cls) for x in m) == 4


def test_mlp_builder_and_errors():
    m = models.mlp([5, 4, 3], act="tanh", bias=False)
    assert [type(x) for x in m] == [nn.Linear, nn.Tanh, nn.Linear]
    assert m[0].bias is None
    with pytest.raises(ValueError, match="activation"):
        models.lenet5_small(act="gelu")
    with pytest.raises(ValueError, match="width"):
        models.vgg9(width=0)
    with pytest.raises(ValueError, match="unknown model"):
        models.build_model("resnet")
