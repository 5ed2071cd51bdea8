"""``python -m ncurv_lib prune``: cached pruning sweeps of one trained model.

Example::

    python -m ncurv_lib prune --dataset mnist --model lenet5 --act relu --scheme ce \\
        --scale cpu --scorer synflow --grid default

The model is the cached one of ``TrainConfig.preset(dataset, model, act, scheme,
scale)`` (trained first if missing), or the one saved in ``--checkpoint`` (a model file
of the cache). Each method's table is cached (``<cache_root>/sweeps/``); the command
prints the summary metrics and can write all rows to ``--out`` (CSV).
"""
from __future__ import annotations

import argparse
import time

import pandas as pd

from .metrics import summarize
from .runs import ABLATIONS, SweepConfig, load_or_sweep
from .sweeps import GRIDS

SCORER_CHOICES = ("magnitude", "snip", "synflow", "curvature", "all")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the ``prune`` subcommand."""
    parser.add_argument("--dataset", default="mnist", choices=("mnist", "cifar10", "cifar100"))
    parser.add_argument("--model", default="lenet5", choices=("lenet5", "vgg9", "mlp"))
    parser.add_argument("--act", default="relu", choices=("relu", "tanh"))
    parser.add_argument("--scheme", default="ce", choices=("ce", "wd", "at"))
    parser.add_argument("--scale", default="cpu", choices=("smoke", "cpu", "paper"))
    parser.add_argument("--checkpoint", default=None,
                        help="a cached model file (<cache>/models/<hash>.pt) instead of "
                             "the preset")
    parser.add_argument("--scorer", default="all", choices=SCORER_CHOICES)
    parser.add_argument("--order", default="both", choices=("positive", "negative", "both"),
                        help="curvature removal order(s)")
    parser.add_argument("--grid", default="default", choices=GRIDS)
    parser.add_argument("--sign-aware", action=argparse.BooleanOptionalAction, default=True,
                        help="curvature: add the authors' sign-aware grid")
    parser.add_argument("--per-layer", action=argparse.BooleanOptionalAction, default=False,
                        help="add per-layer sweeps")
    parser.add_argument("--iterations", type=int, default=100, help="SynFlow rounds")
    parser.add_argument("--synflow-iterative", action=argparse.BooleanOptionalAction,
                        default=True, help="SynFlow: iterative schedule at every point")
    parser.add_argument("--per-class", type=int, default=10, help="SNIP batch per class")
    parser.add_argument("--convention", default="paper", choices=("paper", "authors"))
    parser.add_argument("--calib-k", type=int, default=0,
                        help="curvature calibration examples per class (0: paper's)")
    parser.add_argument("--ablation", default="full",
                        choices=tuple(ABLATIONS),
                        help="curvature: neural modules on (Fig. 6 ablation)")
    parser.add_argument("--calib-classes", type=int, nargs="+", default=(),
                        help="curvature calibration examples of these classes only")
    parser.add_argument("--test-limit", type=int, default=0,
                        help="evaluate on a fixed subset of the test set (smoke only)")
    parser.add_argument("--batch-size", type=int, default=1000, help="evaluation batch")
    parser.add_argument("--force", action=argparse.BooleanOptionalAction, default=False,
                        help="recompute cached sweeps")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--out", default=None, help="also write every row to this CSV")


def methods_of(scorer: str, order: str) -> list[str]:
    """Method names selected by ``--scorer`` and ``--order``.

    >>> methods_of("curvature", "both")
    ['curvature-positive', 'curvature-negative']
    >>> methods_of("snip", "both")
    ['snip']
    """
    scorers = ("magnitude", "snip", "synflow", "curvature") if scorer == "all" else (scorer,)
    orders = ("positive", "negative") if order == "both" else (order,)
    out = []
    for s in scorers:
        out += [f"curvature-{o}" for o in orders] if s == "curvature" else [s]
    return out


def _train_config(args):
    """TrainConfig of ``--checkpoint``, else the preset of the flags."""
    from ncurv_lib.train import TrainConfig, config_of_checkpoint
    if args.checkpoint is not None:
        return config_of_checkpoint(args.checkpoint)
    return TrainConfig.preset(args.dataset, args.model, args.act, args.scheme, args.scale)


def _checkpoint_model(args):
    """The model saved in ``--checkpoint`` (None without one)."""
    if args.checkpoint is None:
        return None
    from ncurv_lib.cache import torch_load_or_none
    cfg = _train_config(args)
    model = cfg.build()
    model.load_state_dict(torch_load_or_none(args.checkpoint)["state_dict"])
    return model.eval()


def sweep_configs(args) -> list[SweepConfig]:
    """One :class:`SweepConfig` per selected method."""
    train = _train_config(args)
    return [SweepConfig(train=train, method=method, grid=args.grid,
                        sign_aware=args.sign_aware, per_layer=args.per_layer,
                        iterations=args.iterations, synflow_iterative=args.synflow_iterative,
                        per_class=args.per_class, convention=args.convention,
                        calib_k=args.calib_k, test_limit=args.test_limit,
                        ablation=args.ablation, calib_classes=tuple(args.calib_classes))
            for method in methods_of(args.scorer, args.order)]


def run(args) -> int:
    """Run (or load) the sweeps, print the summary, optionally write ``--out``."""
    tables, model = [], _checkpoint_model(args)
    for cfg in sweep_configs(args):
        start = time.perf_counter()
        tables.append(load_or_sweep(cfg, progress=args.progress, force=args.force,
                                    batch_size=args.batch_size, model=model))
        print(f"{cfg.method}: {len(tables[-1])} points in {time.perf_counter() - start:.1f} s")
    table = pd.concat(tables, ignore_index=True)
    summary = summarize(table)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(summary.drop(columns=[c for c in ("model",) if c in summary]).to_string(
            index=False, float_format=lambda v: f"{v:.4f}"))
    if args.out:
        from ncurv_lib.cache import atomic_write_csv
        atomic_write_csv(table, args.out)
    return 0
