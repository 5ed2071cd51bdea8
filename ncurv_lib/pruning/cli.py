"""python -m ncurv_lib prune: cached pruning sweeps of one trained model.

Example:
    python -m ncurv_lib prune --dataset mnist --model lenet5 --act relu --scheme ce \\
        --scale cpu --scorer synflow --grid default

The model is the cached one of the preset (--dataset/--model/--act/--scheme/--scale,
trained first if missing), or the one saved in --checkpoint. Each method's table is
cached under <cache>/sweeps/ ($NCURV_CACHE, default data/cache), keyed by the model's
configuration and, for a checkpoint whose weights differ from the cached model's, by
its weights; the command prints the summary metrics and can write all rows to --out.
"""
from __future__ import annotations

import argparse
import time

import pandas as pd

from ..cli_args import add_model_arguments, model_source
from ..curvature import CONVENTIONS
from .api import CURVATURE_ORDERS, SCORERS
from .metrics import summarize
from .runs import ABLATIONS, SweepConfig, load_or_sweep
from .sweeps import GRIDS

SCORER_CHOICES = (*SCORERS, "all")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of the ``prune`` subcommand."""
    add_model_arguments(parser)
    parser.add_argument("--scorer", default="all", choices=SCORER_CHOICES)
    parser.add_argument("--order", default="both", choices=(*CURVATURE_ORDERS, "both"),
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
    parser.add_argument("--convention", default="paper", choices=CONVENTIONS)
    parser.add_argument("--calib-k", type=_non_negative, default=0,
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
    scorers = SCORERS if scorer == "all" else (scorer,)
    orders = CURVATURE_ORDERS if order == "both" else (order,)
    out = []
    for s in scorers:
        out += [f"curvature-{o}" for o in orders] if s == "curvature" else [s]
    return out


def _non_negative(text):
    if int(text) < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (0: the paper's), got {text}")
    return int(text)


def sweep_configs(args, src=None) -> list[SweepConfig]:
    """One :class:`SweepConfig` per selected method (``src``: the flags' model, as
    :func:`ncurv_lib.cli_args.model_source` gives it)."""
    src = model_source(args) if src is None else src
    return [SweepConfig(train=src.config, weights=src.weights, method=method, grid=args.grid,
                        sign_aware=args.sign_aware, per_layer=args.per_layer,
                        iterations=args.iterations, synflow_iterative=args.synflow_iterative,
                        per_class=args.per_class, convention=args.convention,
                        calib_k=args.calib_k, test_limit=args.test_limit,
                        ablation=args.ablation, calib_classes=tuple(args.calib_classes))
            for method in methods_of(args.scorer, args.order)]


def run(args) -> int:
    """Run (or load) the sweeps, print the summary, optionally write ``--out``."""
    src = model_source(args)
    tables, model = [], src.model
    for cfg in sweep_configs(args, src):
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
