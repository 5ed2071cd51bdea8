"""``python -m ncurv_lib train``: train one configuration or a scale's model zoo.

Every field of :class:`~ncurv_lib.train.TrainConfig` can be overridden with a
flag of the same name (``--weight-decay 1e-3``); the scale preset fills the rest.
"""
import argparse
import dataclasses

from .cache import artifact_path, atomic_write_json
from .train import SCALES, SCHEMES, TrainConfig, load_or_train, zoo_configs

_PRESET_KEYS = ("dataset", "model", "act", "scheme")


def add_arguments(parser):
    parser.add_argument("--dataset", default="mnist", choices=("mnist", "cifar10", "cifar100"))
    parser.add_argument("--model", default="lenet5", choices=("lenet5", "vgg9", "mlp"))
    parser.add_argument("--act", default="relu", choices=("relu", "tanh"))
    parser.add_argument("--scheme", default="ce", choices=SCHEMES)
    parser.add_argument("--scale", default="cpu", choices=SCALES)
    parser.add_argument("--zoo", action="store_true", help="train every model of the scale")
    parser.add_argument("--recompute", action="store_true", help="ignore the cache")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda if any)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--manifest", default=None, help="write a JSON manifest here")
    group = parser.add_argument_group("overrides of the scale preset")
    for f in dataclasses.fields(TrainConfig):
        if f.name not in _PRESET_KEYS:
            flag = "--" + f.name.replace("_", "-")
            if isinstance(f.default, bool):
                group.add_argument(flag, dest=f.name, default=None,
                                   action=argparse.BooleanOptionalAction)
            else:
                group.add_argument(flag, dest=f.name, default=None, type=type(f.default))


def _configs(args):
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
                 if f.name not in _PRESET_KEYS and getattr(args, f.name) is not None}
    if args.zoo:
        return [dataclasses.replace(c, **overrides) for c in zoo_configs(args.scale)]
    return [TrainConfig.preset(args.dataset, args.model, args.act, args.scheme, args.scale,
                               **overrides)]


def run(args) -> int:
    rows = []
    for cfg in _configs(args):
        _, info = load_or_train(cfg, progress=args.progress, device=args.device,
                                recompute=args.recompute)
        path = artifact_path("models", cfg, "pt")
        rows.append({"config": dataclasses.asdict(cfg), "path": str(path),
                     "test_acc": info["test_acc"], "train_time_s": info["train_time_s"]})
        print(f"{cfg.model}/{cfg.dataset}/{cfg.act}/{cfg.scheme}: test acc "
              f"{info['test_acc']:.4f}, trained in {info['train_time_s']:.0f} s -> {path}")
    if args.manifest:
        atomic_write_json(args.manifest, rows)
    return 0
