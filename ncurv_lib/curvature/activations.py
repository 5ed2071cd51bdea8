"""Node values, pre-activations and activation fractions (contract §3).

One float64 forward pass with eval semantics (BatchNorm uses its running
statistics, Dropout is the identity), recording for every node layer
:math:`V_l` the values :math:`n` and :math:`\\beta(z) = \\sigma(z)/z`
(ReLU: :math:`1_{z>0}`; Tanh: :math:`\\tanh(z)/z`, :math:`\\beta(0)=1`).
Input and output neurons have :math:`\\beta = 1`.

>>> import torch, torch.nn as nn
>>> from .chain import layer_chain
>>> m = nn.Sequential(nn.Linear(1, 1, bias=False), nn.ReLU(), nn.Linear(1, 1))
>>> with torch.no_grad(): _ = m[0].weight.fill_(-1.)
>>> fw = forward_values(layer_chain(m), torch.tensor([[2.], [-3.]]))
>>> fw.values[1].tolist(), fw.beta[1].tolist()
([[0.0], [3.0]], [[0.0], [1.0]])
"""
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class Forward:
    """Per node layer: ``values[l]``, ``beta[l]`` of shape (N, n_l), ``shapes[l]``."""

    values: list
    beta: list
    shapes: list


def _module_tensors(chain):
    for s in chain.stages:
        for mod in (s.module, s.norm):
            if mod is None:
                continue
            for name, t in list(mod.named_parameters()) + list(mod.named_buffers()):
                if t is not None and t.is_floating_point():
                    yield f"{s.name}.{name}" if mod is s.module else name, t


def check_finite(chain, x):
    """Raise ``ValueError`` on non-finite inputs or weights."""
    if not torch.is_tensor(x) or not x.is_floating_point():
        raise ValueError("x must be a floating-point tensor of shape (N, *input_shape)")
    if not torch.isfinite(x).all():
        raise ValueError("x contains NaN or infinite values")
    for name, t in _module_tensors(chain):
        if not torch.isfinite(t).all():
            raise ValueError(f"model tensor {name!r} contains NaN or infinite values")


def _apply(mod, h):
    p = {k: (v.detach().to(device=h.device, dtype=h.dtype) if v is not None else None)
         for k, v in list(mod.named_parameters()) + list(mod.named_buffers())}
    if isinstance(mod, nn.Linear):
        return F.linear(h, p["weight"], p.get("bias"))
    if isinstance(mod, nn.Conv2d):
        return F.conv2d(h, p["weight"], p.get("bias"), mod.stride, mod.padding,
                        mod.dilation, 1)
    return F.batch_norm(h, p["running_mean"], p["running_var"], p.get("weight"),
                        p.get("bias"), False, 0.0, mod.eps)


def _beta(z, act):
    if act == "relu":
        return (z > 0).to(z.dtype)
    safe = torch.where(z == 0, torch.ones_like(z), z)
    return torch.where(z == 0, torch.ones_like(z), torch.tanh(safe) / safe)


def forward_values(chain, x, dtype=torch.float64) -> Forward:
    """Run ``x`` through ``chain`` in ``dtype`` (float64); see module docstring.

    Parameters
    ----------
    chain : Chain
    x : (N, *input_shape) tensor
        On the device the pass runs on (the weights are moved there).
    dtype : torch.dtype, default torch.float64
        Of the pass and of every value returned (the engine's ``cfg.dtype``).

    Raises
    ------
    ValueError
        If ``x`` does not have the shape the first layer expects.
    """
    h = x.detach().to(dtype)
    if h.dim() < 2:
        raise ValueError(f"x must have shape (N, *input_shape), got {tuple(x.shape)}")
    n = h.shape[0]
    if n == 0:
        raise ValueError(f"x holds no examples (shape {tuple(x.shape)}): give at least one "
                         "calibration example")
    values, betas, shapes = [h.reshape(n, -1)], [torch.ones_like(h.reshape(n, -1))], [tuple(h.shape[1:])]
    last = len(chain.stages) - 1
    for k, s in enumerate(chain.stages):
        if isinstance(s.module, nn.Linear) and s.flatten_before:
            h = h.reshape(n, -1)
        if isinstance(s.module, nn.Linear) and h.dim() != 2:
            raise ValueError(f"layer {s.name!r} (Linear) gets input of shape {tuple(h.shape)}; "
                             "it needs (N, features): add nn.Flatten() before it")
        expect = (s.module.in_features,) if isinstance(s.module, nn.Linear) else None
        if expect is not None and tuple(h.shape[1:]) != expect:
            raise ValueError(f"layer {s.name!r} (Linear) expects {expect[0]} input features, "
                             f"gets shape {tuple(h.shape[1:])} per example")
        if isinstance(s.module, nn.Conv2d) and (h.dim() != 4 or h.shape[1] != s.module.in_channels):
            raise ValueError(f"layer {s.name!r} (Conv2d) expects input (N, "
                             f"{s.module.in_channels}, H, W), gets {tuple(h.shape)}")
        try:
            z = _apply(s.module, h)
            if s.norm is not None:
                z = _apply(s.norm, z)
        except RuntimeError as err:
            raise ValueError(f"input shape {tuple(x.shape)} does not fit layer {s.name!r}: {err}") from err
        if s.activation == "relu":
            h = torch.relu(z)
        elif s.activation == "tanh":
            h = torch.tanh(z)
        else:
            h = z
        if k == last:
            out = (torch.softmax(h, dim=1) if chain.softmax else h).reshape(n, -1)
            values.append(out)
            betas.append(torch.ones_like(out))
        else:
            values.append(h.reshape(n, -1))
            betas.append(_beta(z, s.activation).reshape(n, -1))
        shapes.append(tuple(h.shape[1:]))
    return Forward(values=values, beta=betas, shapes=shapes)
