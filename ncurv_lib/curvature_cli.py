"""python -m ncurv_lib curvature: parameter curvature scores of a trained model.

The scores are cached under <cache>/curvature/<hash>.pt ($NCURV_CACHE, default
data/cache), keyed by the weights, the calibration examples, the convention and the
ablation switches (ncurv_lib.scores). A VGG9 example takes minutes; an interrupted run
resumes after its last finished chunk of examples.

Example:
    python -m ncurv_lib curvature --dataset mnist --model lenet5 --scale cpu
    python -m ncurv_lib curvature --checkpoint data/cache/models/<hash>.pt --calib-k 2
"""
import argparse
import os

import torch

from .cli_args import add_model_arguments, model_source
from .curvature import CONVENTIONS
from .scores import CHUNK_EDGES, cached_parameter_curvature, check_calib_k


def _calib_k(text):
    try:
        return check_calib_k(int(text))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _non_negative(text):
    if int(text) < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return int(text)


def _positive(text):
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return int(text)


def add_arguments(parser):
    """Flags of ``python -m ncurv_lib curvature``."""
    add_model_arguments(parser)
    parser.add_argument("--convention", default="paper", choices=CONVENTIONS)
    parser.add_argument("--neural-distribution", action=argparse.BooleanOptionalAction,
                        default=True, help="activity-based neighbour masses (Fig. 6 ablation)")
    parser.add_argument("--neural-cost", action=argparse.BooleanOptionalAction, default=True,
                        help="activity-based edge cost (Fig. 6 ablation)")
    parser.add_argument("--calib-k", type=_calib_k, default=None,
                        help="correctly classified calibration examples per class "
                             "(default, or 0: the paper's, 10 on MNIST and 1 on CIFAR)")
    parser.add_argument("--calib-classes", type=int, nargs="+", default=None,
                        help="calibration examples of these classes only (default: all)")
    parser.add_argument("--recompute", action=argparse.BooleanOptionalAction, default=False,
                        help="ignore and replace cached scores")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--chunk", type=_non_negative, default=0,
                        help="examples per resumable chunk (0: about "
                             f"{CHUNK_EDGES:,} edges per chunk); the scores do not depend on it")
    parser.add_argument("--workers", type=_positive, default=1,
                        help="processes to split each chunk's examples over; "
                             "the scores do not depend on it")
    parser.add_argument("--manifest", default=None,
                        help="write a JSON manifest naming the cached scores here")


def write_manifest(path, info):
    """A small JSON file naming the cached scores (relative to the cache root)."""
    from .cache import atomic_write_json
    from .paths import cache_root
    atomic_write_json(path, {"artifact": os.path.relpath(info["path"], cache_root()),
                             "key": info["key"], "examples": info["examples"],
                             "seconds": round(info["seconds"], 2)})


def run(args) -> int:
    """Compute (or load) the scores and print a per-layer summary."""
    src = model_source(args)
    scores, info = cached_parameter_curvature(
        src.config, args.convention, args.neural_distribution, args.neural_cost, args.calib_k,
        progress=args.progress, recompute=args.recompute, return_info=True,
        calib_classes=args.calib_classes, chunk=args.chunk, workers=args.workers,
        model=src.model, weights=src.weights)
    print(f"scores: {info['path']} ({info['examples']} examples, computed in "
          f"{info['seconds']:.1f} s{'' if src.model is None else ', from ' + src.path})")
    if args.manifest:
        write_manifest(args.manifest, info)
    for name, s in scores.items():
        fin = s[torch.isfinite(s)]
        lo, med = (fin.min().item(), fin.median().item()) if fin.numel() else (float("nan"),) * 2
        print(f"  {name:14s} {tuple(s.shape)!s:18s} min {lo:+.4f} median {med:+.4f} "
              f"no-edge {int(torch.isinf(s).sum())}")
    return 0
