"""Training: cross-entropy (CE), weight decay (WD) and PGD adversarial training (AT).

A :class:`TrainConfig` fully describes one trained model; its hash keys the
cache (``<cache_root>/models/<hash>.pt`` plus a JSON sidecar). Training keeps
the best-validation checkpoint, saves a resumable state after every epoch
(``<hash>.partial.pt``, atomic), and is deterministic for a given seed.

Scale presets (:meth:`TrainConfig.preset`):

* ``smoke`` -- seconds: 5,000 (MNIST) or 2,000 (CIFAR) training examples, 2 epochs,
  narrow nets, 2 PGD steps (MNIST eps 0.1).
* ``cpu``   -- the book on a 2-core machine: full data; LeNet5-small at full size
  (Adam 1e-3 with a cosine schedule, batch 128, 15 epochs, ~1 min); VGG9 at width 0.5 (SGD momentum 0.9,
  lr 0.05, cosine, batch 128, 30 epochs, ~20 min); AT with fewer PGD steps and
  the paper's eps (MNIST 10 steps of 0.03, eps ramped up over 5 epochs; CIFAR 2
  steps of 5/255 and 15 epochs).
* ``paper`` -- full widths and schedules for a GPU: LeNet5 as at ``cpu``; VGG9 width 1,
  100 epochs; AT as in Madry et al. (MNIST eps 0.3 after a 5-epoch ramp, 40 steps of
  0.01; CIFAR eps 8/255, 7 steps of 2/255).
"""
import dataclasses
import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from . import data as D
from .cache import (CacheError, artifact_path, atomic_torch_save, atomic_write_json, torch_load,
                    torch_load_or_none)
from .models import ACTIVATIONS, build_model

SCHEMES = ("ce", "wd", "at")
SCALES = ("smoke", "cpu", "paper")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model (and so its cache key)."""

    dataset: str = "mnist"
    model: str = "lenet5"
    act: str = "relu"
    scheme: str = "ce"
    width: float = 1.0
    epochs: int = 12
    batch_size: int = 128
    optimizer: str = "adam"          # "adam" or "sgd"
    lr: float = 1e-3
    momentum: float = 0.9            # sgd only
    schedule: str = "none"           # "none" or "cosine"
    weight_decay: float = 0.0        # scheme "wd": L2 penalty on all weights
    weight_decay_linear: float = -1.0  # >= 0: separate value for Linear layers ("mixed")
    augment: bool = False            # CIFAR flip + crop
    adv_eps: float = 0.0             # scheme "at": L-inf radius in pixel units [0, 1]
    adv_step: float = 0.0
    adv_steps: int = 0
    adv_warmup: int = 0              # epochs over which eps ramps up linearly (0: none)
    train_limit: int = 0             # > 0: a fixed random subset of the training split
    seed: int = 0

    def __post_init__(self):
        D.check(self.dataset)
        checks = [
            (self.scheme in SCHEMES, f"scheme must be one of {SCHEMES}"),
            (self.optimizer in ("adam", "sgd"), "optimizer must be 'adam' or 'sgd'"),
            (self.schedule in ("none", "cosine"), "schedule must be 'none' or 'cosine'"),
            (self.epochs >= 1 and self.batch_size >= 1, "epochs and batch_size must be >= 1"),
            (self.lr > 0 and self.weight_decay >= 0, "lr must be > 0, weight_decay >= 0"),
            (self.scheme != "at" or (self.adv_eps > 0 and self.adv_steps >= 1),
             "scheme 'at' needs adv_eps > 0 and adv_steps >= 1"),
            (self.scheme != "wd" or self.weight_decay > 0, "scheme 'wd' needs weight_decay > 0"),
            (self.adv_warmup >= 0, "adv_warmup must be >= 0"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(f"invalid TrainConfig: {msg}")

    @property
    def num_classes(self) -> int:
        return D.num_classes(self.dataset)

    def build(self) -> nn.Sequential:
        """A freshly initialised model for this configuration (seeded, global RNG untouched)."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            return build_model(self.model, self.act, self.width, self.num_classes)

    @classmethod
    def preset(cls, dataset="mnist", model="lenet5", act="relu", scheme="ce",
               scale="cpu", **overrides):
        """The configuration a scale uses for one (dataset, model, act, scheme)."""
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; choose one of {SCALES}")
        base = dict(dataset=dataset, model=model, act=act, scheme=scheme)
        base.update(_optimiser_preset(dataset, model, scale))
        if scheme == "wd":
            base["weight_decay"] = 1e-4
        if scheme == "at":
            base.update(_adversarial_preset(dataset, scale))
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {sorted(unknown)}")
        base.update(overrides)
        return cls(**base)


def _optimiser_preset(dataset, model, scale):
    cifar = dataset != "mnist"
    if model == "vgg9" or cifar:
        preset = dict(optimizer="sgd", lr=0.05, schedule="cosine", augment=cifar,
                      epochs={"smoke": 2, "cpu": 30, "paper": 100}[scale],
                      width={"smoke": 0.125, "cpu": 0.5, "paper": 1.0}[scale])
    else:
        preset = dict(optimizer="adam", lr=1e-3, schedule="cosine",
                      epochs={"smoke": 2, "cpu": 15, "paper": 15}[scale],
                      width={"smoke": 0.5, "cpu": 1.0, "paper": 1.0}[scale])
    if scale == "smoke":
        preset["train_limit"] = 2000 if cifar else 5000
    return preset


def _adversarial_preset(dataset, scale):
    if dataset == "mnist":
        if scale == "smoke":  # eps 0.3 cannot be learnt in two short epochs
            return dict(adv_eps=0.1, adv_steps=2, adv_step=0.05)
        steps = {"cpu": (10, 0.03), "paper": (40, 0.01)}[scale]
        # LeNet5-small stays at chance when PGD starts at eps 0.3: ramp eps up over 5 epochs
        return dict(adv_eps=0.3, adv_steps=steps[0], adv_step=steps[1], adv_warmup=5)
    steps = {"smoke": (2, 4 / 255), "cpu": (2, 5 / 255), "paper": (7, 2 / 255)}[scale]
    preset = dict(adv_eps=8 / 255, adv_steps=steps[0], adv_step=steps[1])
    if scale == "cpu":
        preset["epochs"] = 15
    return preset


def zoo_configs(scale: str):
    """The paper's model zoo at a scale: 13 configurations (Fig. 3)."""
    configs = [TrainConfig.preset("mnist", "lenet5", act, scheme, scale)
               for act in ACTIVATIONS for scheme in SCHEMES]
    configs += [TrainConfig.preset("cifar10", "vgg9", act, scheme, scale)
                for act in ACTIVATIONS for scheme in SCHEMES]
    configs.append(TrainConfig.preset("cifar100", "vgg9", "relu", "wd", scale))
    return configs


# ---------------------------------------------------------------- adversary
def _pixel_box(dataset, device):
    """(lo, hi, scale): valid input range and pixel->input scale per channel."""
    if dataset == "mnist":
        one = torch.ones(1, 1, 1, 1, device=device)
        return 0 * one, one, one
    mean = torch.tensor(D.CIFAR_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(D.CIFAR_STD, device=device).view(1, 3, 1, 1)
    return -mean / std, (1 - mean) / std, 1 / std


def pgd_attack(model, x, y, eps, step, steps, dataset, generator=None):
    """L-inf PGD with a random start (Madry et al. 2018), eps/step in pixel units."""
    lo, hi, scale = _pixel_box(dataset, x.device)
    was_training = model.training
    model.eval()
    noise = torch.rand(x.shape, generator=generator, device=x.device) * 2 - 1
    adv = torch.max(torch.min(x + noise * eps * scale, hi), lo).detach()
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = nn.functional.cross_entropy(model(adv), y)
        (grad,) = torch.autograd.grad(loss, adv)
        adv = adv.detach() + step * scale * grad.sign()
        adv = torch.max(torch.min(adv, x + eps * scale), x - eps * scale)
        adv = torch.max(torch.min(adv, hi), lo).detach()
    model.train(was_training)
    return adv


# ---------------------------------------------------------------- training
def evaluate(model, x, y, batch_size=1000) -> float:
    """Top-1 accuracy of ``model`` (eval mode) on ``(x, y)``."""
    return (D.predict(model, x, batch_size) == y.cpu()).sum().item() / len(y)


def _optimizer(cfg, model):
    decay, linear = cfg.weight_decay, cfg.weight_decay_linear
    groups = [{"params": [], "weight_decay": decay}, {"params": [], "weight_decay": 0.0}]
    if linear >= 0:
        groups.append({"params": [], "weight_decay": linear})
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if name == "weight" and isinstance(module, (nn.Linear, nn.Conv2d)):
                idx = 2 if (linear >= 0 and isinstance(module, nn.Linear)) else 0
            else:
                idx = 1  # biases and BatchNorm are never decayed
            groups[idx]["params"].append(p)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr)
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)


def _train_data(cfg, device):
    x, y = D.load_split(cfg.dataset, "train", limit=cfg.train_limit or None)
    vx, vy = D.load_split(cfg.dataset, "val", limit=1000 if cfg.train_limit else None)
    return x, y, vx.to(device), vy.to(device)


def adv_eps(cfg, epoch: int) -> float:
    """PGD radius used in 0-based ``epoch``: a clean first epoch, then a linear ramp.

    >>> cfg = TrainConfig(scheme="at", adv_eps=0.3, adv_step=0.03, adv_steps=10, adv_warmup=3)
    >>> [round(adv_eps(cfg, e), 3) for e in range(5)]
    [0.0, 0.1, 0.2, 0.3, 0.3]
    """
    if cfg.adv_warmup <= 0:
        return cfg.adv_eps
    return cfg.adv_eps * min(1.0, epoch / cfg.adv_warmup)


def _epoch(cfg, model, opt, x, y, gen, device, progress, epoch):
    model.train()
    eps = adv_eps(cfg, epoch)
    step = cfg.adv_step * eps / cfg.adv_eps if cfg.scheme == "at" else 0.0
    perm = torch.randperm(len(y), generator=gen)
    batches = perm.split(cfg.batch_size)
    total = 0.0
    for idx in tqdm(batches, desc=f"epoch {epoch + 1}", leave=False, disable=not progress):
        xb, yb = x[idx], y[idx]
        if cfg.augment:
            xb = D.augment(xb, gen)
        xb, yb = xb.to(device), yb.to(device)
        if cfg.scheme == "at" and eps > 0:
            xb = pgd_attack(model, xb, yb, eps, step, cfg.adv_steps, cfg.dataset,
                            generator=None if device.type != "cpu" else gen)
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item() * len(yb)
    return total / len(y)


def _fresh_state(cfg, model, opt, sched):
    gen = torch.Generator().manual_seed(cfg.seed)
    return {"epoch": 0, "model": model.state_dict(), "opt": opt.state_dict(),
            "sched": sched.state_dict() if sched else None, "gen": gen.get_state(),
            "best_val": -1.0, "best_epoch": 0, "best_model": None, "history": [],
            "train_time": 0.0}


def _run_training(cfg, path, device, progress):
    partial = path.with_suffix(".partial.pt")
    model = cfg.build().to(device)
    opt = _optimizer(cfg, model)
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs)
             if cfg.schedule == "cosine" else None)
    state = torch_load_or_none(partial)
    if state is None or state.get("config") != dataclasses.asdict(cfg):
        state = _fresh_state(cfg, model, opt, sched)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    if sched:
        sched.load_state_dict(state["sched"])
    gen = torch.Generator().manual_seed(cfg.seed)
    gen.set_state(state["gen"])
    x, y, vx, vy = _train_data(cfg, device)
    bar = tqdm(range(state["epoch"], cfg.epochs), initial=state["epoch"], total=cfg.epochs,
               desc=f"train {cfg.model}/{cfg.dataset}/{cfg.act}/{cfg.scheme}", disable=not progress)
    for epoch in bar:
        t0 = time.perf_counter()
        loss = _epoch(cfg, model, opt, x, y, gen, device, progress, epoch)
        if sched:
            sched.step()
        val = evaluate(model, vx, vy)
        state["train_time"] += time.perf_counter() - t0
        state["history"].append({"epoch": epoch + 1, "loss": loss, "val_acc": val})
        # an adversarially trained model only counts once it trains at the full eps
        eligible = adv_eps(cfg, epoch) >= cfg.adv_eps or epoch == cfg.epochs - 1
        if eligible and val > state["best_val"]:
            state.update(best_val=val, best_epoch=epoch + 1,
                         best_model={k: v.detach().cpu().clone()
                                     for k, v in model.state_dict().items()})
        state.update(epoch=epoch + 1, model=model.state_dict(), opt=opt.state_dict(),
                     sched=sched.state_dict() if sched else None, gen=gen.get_state(),
                     config=dataclasses.asdict(cfg))
        atomic_torch_save(state, partial)
        bar.set_postfix(loss=f"{loss:.3f}", val=f"{val:.4f}")
    return state, partial


def load_or_train(cfg: TrainConfig, progress=True, device=None, recompute=False):
    """The trained model for ``cfg``: from the cache, or trained (resuming) and cached.

    Returns
    -------
    model : nn.Sequential in eval mode, on CPU, best-validation weights
    info : dict with test_acc, best_val_acc, best_epoch, train_time_s, history, ...
    """
    path = artifact_path("models", cfg, "pt")
    saved = None if recompute else read_model_file(path, cfg)
    if saved is not None:
        model = cfg.build()
        model.load_state_dict(saved["state_dict"])
        return model.eval(), saved["info"]
    if progress:
        print(f"training {describe(cfg)} (not in the cache: {path})", file=sys.stderr)
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if recompute:
        path.with_suffix(".partial.pt").unlink(missing_ok=True)
    state, partial = _run_training(cfg, path, device, progress)
    model = cfg.build()
    model.load_state_dict(state["best_model"])
    model.eval()
    tx, ty = D.load_split(cfg.dataset, "test")
    info = {"test_acc": evaluate(model, tx, ty), "best_val_acc": state["best_val"],
            "best_epoch": state["best_epoch"], "train_time_s": state["train_time"],
            "history": state["history"], "device": str(device),
            "n_params": sum(p.numel() for p in model.parameters()),
            "torch": torch.__version__}
    atomic_torch_save({"config": dataclasses.asdict(cfg), "state_dict": model.state_dict(),
                       "info": info}, path)
    atomic_write_json(path.with_suffix(".json"), {"config": cfg, "info": info})
    partial.unlink(missing_ok=True)
    return model, info


def _valid(saved, cfg) -> bool:
    return (isinstance(saved, dict) and saved.get("config") == dataclasses.asdict(cfg)
            and "state_dict" in saved and "info" in saved)


def read_model_file(path, cfg):
    """The cached model file of ``cfg`` (None if absent); :class:`CacheError` if it
    exists but is unreadable or holds another configuration (never retrained silently)."""
    fix = "delete it, or pass --recompute to train it again"
    saved = torch_load(path, "cached model", fix)
    if saved is not None and not _valid(saved, cfg):
        raise CacheError(f"cached model {path} does not hold the model of its key "
                         f"({describe(cfg)}); {fix}")
    return saved


def describe(cfg: TrainConfig) -> str:
    """A one-line name of a configuration, e.g. ``vgg9 width 1 cifar10 relu ce``."""
    return f"{cfg.model} width {cfg.width:g} {cfg.dataset} {cfg.act} {cfg.scheme}"


def state_digest(state_dict) -> str:
    """First 16 hex digits of the SHA-256 of a state dict's names, dtypes, shapes and
    values: what a model computes with, whatever file it came from."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoint:
    """A model read from a checkpoint file.

    ``weights`` is ``""`` when the file holds exactly the cached model of ``config``
    (its results are keyed by the configuration, as the workflow's are), else the
    :func:`state_digest` of the file's weights, which then enters every cache key
    computed from it: results of changed weights never pose as the preset's.
    """

    config: TrainConfig
    model: nn.Sequential
    weights: str = ""
    path: str = ""


def load_checkpoint(path) -> Checkpoint:
    """The model saved in ``path`` (a model file of the cache, or one with the same
    ``{"config", "state_dict"}`` layout) and how results computed from it are keyed.

    Raises ``FileNotFoundError`` if there is no such file and ``ValueError`` if it is
    not a model file (both with the fix in the message).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path}: no such file (give a model file, e.g. "
                                f"one of {artifact_path('models', {}, 'pt').parent}/<hash>.pt)")
    saved = torch_load(path, "checkpoint", "it is not a torch file; give a model file")
    if not isinstance(saved, dict) or "config" not in saved or "state_dict" not in saved:
        raise ValueError(f"{path} is not a model file of the cache "
                         "(a dict with 'config' and 'state_dict')")
    cfg = TrainConfig(**saved["config"])
    model = cfg.build()
    try:
        model.load_state_dict(saved["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"{path}: its weights do not fit {describe(cfg)} "
                         f"({str(err).splitlines()[0]})") from err
    model.eval()
    cached = artifact_path("models", cfg, "pt")
    if cached.exists() and cached.resolve() == path.resolve():
        return Checkpoint(cfg, model, "", str(path))
    digest = state_digest(model.state_dict())
    try:
        ref = read_model_file(cached, cfg)
    except CacheError:
        ref = None
    same = ref is not None and state_digest(ref["state_dict"]) == digest
    return Checkpoint(cfg, model, "" if same else digest, str(path))


def config_of_checkpoint(path) -> TrainConfig:
    """The :class:`TrainConfig` a model file was trained with (see :func:`load_checkpoint`)."""
    return load_checkpoint(path).config


def cached_info(cfg: TrainConfig):
    """The info dict of a cached model, or ``None`` if it is not trained yet."""
    saved = read_model_file(artifact_path("models", cfg, "pt"), cfg)
    return saved["info"] if saved is not None else None


def zoo_table(scale: str, progress=False):
    """Train (or load) every zoo model of a scale; one row per model, as a DataFrame."""
    import pandas as pd
    rows = []
    for cfg in zoo_configs(scale):
        _, info = load_or_train(cfg, progress=progress)
        rows.append({"dataset": cfg.dataset, "model": cfg.model, "act": cfg.act,
                     "scheme": cfg.scheme, "width": cfg.width, "epochs": cfg.epochs,
                     "params": info["n_params"], "test_acc": info["test_acc"],
                     "best_epoch": info["best_epoch"], "train_time_s": info["train_time_s"],
                     "key": artifact_path("models", cfg, "pt").stem})
    return pd.DataFrame(rows)
