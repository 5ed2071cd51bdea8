"""The paper's networks, as plain ``nn.Sequential`` so the curvature API takes them as they are.

* LeNet5-small (MNIST): two stride-2 convolutions and three linear layers, no
  pooling, no BatchNorm.
* VGG9 (CIFAR): six convolutions with BatchNorm, padding 0 (spatial sizes
  32 -> 16 -> 14 -> 12 -> 5 -> 3 -> 1) and three linear layers.
* MLPs of any sizes.

``act`` is ``"relu"`` or ``"tanh"``; ``width`` multiplies every channel count and
hidden width (rounded, at least 1); the input and class counts are never scaled.

>>> m = lenet5_small()  # 222 + 3472 + 30840 + 10164 + 850 parameters
>>> sum(p.numel() for p in m.parameters())
45548
>>> import torch; tuple(vgg9(width=0.25)(torch.zeros(2, 3, 32, 32)).shape)
(2, 10)
"""
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
MODELS = ("lenet5", "vgg9", "mlp")


def _act(act: str) -> nn.Module:
    if act not in ACTIVATIONS:
        raise ValueError(f"unknown activation {act!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[act]()


def _scaled(n: int, width: float) -> int:
    if not width > 0:
        raise ValueError(f"width must be positive, got {width}")
    return max(1, round(n * width))


def lenet5_small(act: str = "relu", width: float = 1.0, num_classes: int = 10) -> nn.Sequential:
    """LeNet5-small for 1x28x28 inputs: conv(6,6x6,s2) conv(16,6x6,s2) fc120 fc84 fc10."""
    c1, c2, h1, h2 = (_scaled(n, width) for n in (6, 16, 120, 84))
    return nn.Sequential(
        nn.Conv2d(1, c1, 6, stride=2), _act(act),
        nn.Conv2d(c1, c2, 6, stride=2), _act(act),
        nn.Flatten(),
        nn.Linear(c2 * 4 * 4, h1), _act(act),
        nn.Linear(h1, h2), _act(act),
        nn.Linear(h2, num_classes),
    )


# (out_channels, kernel, stride) of VGG9's convolutions, padding 0 throughout
_VGG9_CONVS = ((64, 2, 2), (128, 3, 1), (128, 3, 1), (128, 3, 2), (256, 3, 1), (256, 3, 1))


def vgg9(act: str = "relu", width: float = 1.0, num_classes: int = 10) -> nn.Sequential:
    """VGG9 for 3x32x32 inputs: six conv+BatchNorm+act blocks, then fc512 fc128 fc."""
    layers, c_in = [], 3
    for c_out, k, s in _VGG9_CONVS:
        c_out = _scaled(c_out, width)
        layers += [nn.Conv2d(c_in, c_out, k, stride=s), nn.BatchNorm2d(c_out), _act(act)]
        c_in = c_out
    h1, h2 = _scaled(512, width), _scaled(128, width)
    layers += [nn.Flatten(), nn.Linear(c_in, h1), _act(act), nn.Linear(h1, h2), _act(act),
               nn.Linear(h2, num_classes)]
    return nn.Sequential(*layers)


def mlp(sizes, act: str = "relu", bias: bool = True) -> nn.Sequential:
    """Fully connected net with layer sizes ``sizes`` (input first), act between layers.

    >>> mlp([4, 3, 2])
    Sequential(
      (0): Linear(in_features=4, out_features=3, bias=True)
      (1): ReLU()
      (2): Linear(in_features=3, out_features=2, bias=True)
    )
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"mlp needs at least two positive layer sizes, got {sizes}")
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, bias=bias))
        if i < len(sizes) - 2:
            layers.append(_act(act))
    return nn.Sequential(*layers)


def build_model(name: str, act: str = "relu", width: float = 1.0, num_classes: int = 10,
                in_features: int = 784) -> nn.Sequential:
    """Model by name: ``"lenet5"``, ``"vgg9"`` or ``"mlp"`` (784-w*256-w*128-classes)."""
    if name == "lenet5":
        return lenet5_small(act, width, num_classes)
    if name == "vgg9":
        return vgg9(act, width, num_classes)
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), *mlp(
            [in_features, _scaled(256, width), _scaled(128, width), num_classes], act))
    raise ValueError(f"unknown model {name!r}; choose one of {MODELS}")
