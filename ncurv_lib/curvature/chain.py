"""Validate an ``nn.Sequential`` and group it into weighted stages.

A stage is one weighted module (``Linear`` or ``Conv2d``) with the optional
``BatchNorm`` and activation that follow it. Node layer :math:`V_0` is the
flattened input; node layer :math:`V_l` holds the output neurons of stage
:math:`l`. ``Dropout`` and ``Identity`` are skipped (eval semantics),
``Flatten`` only reshapes, and a final ``Softmax(dim=1)`` turns the logits of
the last stage into probabilities.

>>> import torch.nn as nn
>>> m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 2)))
>>> [s.name for s in layer_chain(m).stages]
['0', '2.0']
>>> layer_chain(m).activation
'relu'
"""
from dataclasses import dataclass
from typing import Optional

import torch.nn as nn

WEIGHTED = (nn.Linear, nn.Conv2d)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
ACTIVATIONS = {nn.ReLU: "relu", nn.Tanh: "tanh"}
SKIPPED = (nn.Dropout, nn.Identity)


class UnsupportedModelError(ValueError):
    """A model that is not a supported chain of layers (contract §1)."""


@dataclass(frozen=True)
class Stage:
    """One weighted module with what follows it before the next one.

    ``name`` is the module's name in ``model.named_modules()`` (its weight is
    ``name + ".weight"`` in ``model.named_parameters()``); ``flatten_before``
    says whether a ``Flatten`` comes between the previous stage and this one.
    """

    name: str
    module: nn.Module
    norm: Optional[nn.Module]
    activation: Optional[str]
    flatten_before: bool


@dataclass(frozen=True)
class Chain:
    """The validated model: its stages, the shared hidden activation, softmax."""

    stages: tuple
    activation: str
    softmax: bool


def _leaves(model):
    """(position name, module) of every non-container module, in order."""
    if not isinstance(model, nn.Sequential):
        raise UnsupportedModelError(
            f"model must be a torch.nn.Sequential, got {type(model).__name__}")
    out = []
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Sequential):
            continue
        if len(list(mod.children())) > 0:
            raise UnsupportedModelError(
                f"unsupported container {type(mod).__name__} at position {name!r}")
        out.append((name, mod))
    return out


def _check_module(name, mod):
    if isinstance(mod, nn.Conv2d):
        if mod.groups != 1:
            raise UnsupportedModelError(
                f"Conv2d at position {name!r} has groups={mod.groups}; only groups=1")
        if mod.padding_mode != "zeros" or isinstance(mod.padding, str):
            raise UnsupportedModelError(
                f"Conv2d at position {name!r}: only numeric zero padding is supported")
    elif isinstance(mod, nn.Flatten):
        if mod.start_dim != 1 or mod.end_dim != -1:
            raise UnsupportedModelError(
                f"Flatten at position {name!r} must use start_dim=1, end_dim=-1")
    elif isinstance(mod, NORMS):
        if mod.running_mean is None or mod.running_var is None:
            raise UnsupportedModelError(
                f"{type(mod).__name__} at position {name!r} has no running statistics")
    elif isinstance(mod, nn.Softmax):
        if mod.dim not in (1, -1):
            raise UnsupportedModelError(
                f"Softmax at position {name!r} must use dim=1, got dim={mod.dim}")
    elif not isinstance(mod, WEIGHTED + SKIPPED + tuple(ACTIVATIONS)):
        raise UnsupportedModelError(
            f"unsupported module {type(mod).__name__} at position {name!r}")


def layer_chain(model) -> Chain:
    """Validate ``model`` and return its :class:`Chain`.

    Raises
    ------
    UnsupportedModelError
        For any module outside the contract's list (message: class name and
        position), a Softmax that is not last, a norm or activation not
        directly after a weighted module, a hidden stage without activation,
        or hidden stages with different activations.
    """
    leaves = [(n, m) for n, m in _leaves(model) if not isinstance(m, SKIPPED)]
    for name, mod in _leaves(model):
        _check_module(name, mod)
    stages, cur, flatten, softmax = [], None, False, False
    for name, mod in leaves:
        kind = type(mod).__name__
        if softmax:
            raise UnsupportedModelError(
                f"Softmax must be the last module; found {kind} after it at position {name!r}")
        if isinstance(mod, WEIGHTED):
            if cur is not None:
                stages.append(cur)
            cur = dict(name=name, module=mod, norm=None, activation=None,
                       flatten_before=flatten)
            flatten = False
        elif isinstance(mod, nn.Flatten):
            flatten = True
        elif isinstance(mod, nn.Softmax):
            if cur is None:
                raise UnsupportedModelError(f"Softmax at position {name!r} before any weighted layer")
            softmax = True
        elif cur is None or flatten:
            raise UnsupportedModelError(
                f"{kind} at position {name!r} must directly follow a Linear or Conv2d layer")
        elif isinstance(mod, NORMS):
            if cur["norm"] is not None or cur["activation"] is not None:
                raise UnsupportedModelError(
                    f"{kind} at position {name!r} must come right after a weighted layer")
            cur["norm"] = mod
        else:
            if cur["activation"] is not None:
                raise UnsupportedModelError(f"second activation {kind} at position {name!r}")
            cur["activation"] = ACTIVATIONS[type(mod)]
    if cur is None:
        raise UnsupportedModelError("model has no Linear or Conv2d layer")
    stages.append(cur)
    stages = tuple(Stage(**s) for s in stages)
    hidden = {s.activation for s in stages[:-1]}
    if None in hidden:
        bad = next(s for s in stages[:-1] if s.activation is None)
        raise UnsupportedModelError(
            f"hidden layer {type(bad.module).__name__} at position {bad.name!r} has no ReLU/Tanh")
    if len(hidden) > 1:
        raise UnsupportedModelError(
            f"all hidden layers must share one activation, found {sorted(hidden)}")
    if stages[-1].activation is not None and softmax:
        raise UnsupportedModelError("an activation and a Softmax after the last layer")
    act = hidden.pop() if hidden else (stages[-1].activation or "relu")
    return Chain(stages=stages, activation=act, softmax=softmax)
