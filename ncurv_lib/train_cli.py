"""python -m ncurv_lib train: train one configuration or a scale's model zoo.

Every field of TrainConfig can be overridden with a flag of the same name
(--weight-decay 1e-3, --width 1.0); the scale preset fills the rest. Models are cached
under <cache>/models/<hash>.pt ($NCURV_CACHE, default data/cache); training saves its
state after every epoch and an interrupted run resumes from the last finished epoch.
"""
import argparse
import dataclasses

from .cache import artifact_path, atomic_write_json
from .cli_args import PRESET_KEYS as _PRESET_KEYS
from .cli_args import add_model_arguments
from .train import TrainConfig, cached_info, load_or_train, zoo_configs


def add_arguments(parser):
    add_model_arguments(parser, checkpoint=False)
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
        cached = not args.recompute and cached_info(cfg) is not None
        _, info = load_or_train(cfg, progress=args.progress, device=args.device,
                                recompute=args.recompute)
        path = artifact_path("models", cfg, "pt")
        rows.append({"config": dataclasses.asdict(cfg), "path": str(path),
                     "test_acc": info["test_acc"], "train_time_s": info["train_time_s"]})
        how = "loaded from the cache (trained in" if cached else "trained in"
        print(f"{cfg.model}/{cfg.dataset}/{cfg.act}/{cfg.scheme} width {cfg.width:g}: test acc "
              f"{info['test_acc']:.4f}, {how} {info['train_time_s']:.0f} s"
              f"{')' if cached else ''} -> {path}")
    if args.manifest:
        atomic_write_json(args.manifest, rows)
    return 0
