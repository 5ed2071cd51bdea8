"""``python -m ncurv_lib curvature``: parameter curvature scores of a cached model.

The scores (:func:`~ncurv_lib.curvature.parameter_curvature` on the model's
calibration set) are cached under ``<cache_root>/curvature/<hash>.pt`` with a
JSON sidecar; the hash covers the model's configuration hash, the calibration
example ids, the convention, the two ablation switches and ``mass_tol``.
Notebooks call :func:`cached_parameter_curvature`, the same function.
"""
import argparse
import dataclasses
import time

import torch

from .api import CurvatureConfig, Stats
from .params import parameter_curvature

ENGINE_VERSION = 1


def score_key(train_cfg, calib_ids, cfg: CurvatureConfig) -> dict:
    """The cache key (a plain dict) of one score computation."""
    from ..cache import config_hash
    return {"kind": "parameter_curvature", "engine": ENGINE_VERSION,
            "model": config_hash(train_cfg), "dataset": train_cfg.dataset,
            "calibration_ids": [int(i) for i in calib_ids],
            "convention": cfg.convention, "neural_distribution": cfg.neural_distribution,
            "neural_cost": cfg.neural_cost, "mass_tol": cfg.mass_tol}


def cached_parameter_curvature(train_cfg, convention="paper", neural_distribution=True,
                               neural_cost=True, calib_k=None, progress=True,
                               recompute=False, return_info=False, calib_classes=None):
    """Parameter curvature of the trained model ``train_cfg`` on its calibration set, cached.

    Parameters
    ----------
    train_cfg : ncurv_lib.train.TrainConfig
    convention, neural_distribution, neural_cost :
        Fields of :class:`CurvatureConfig`.
    calib_k : int, optional
        Correctly classified validation examples per class (default: the
        paper's, 10 for MNIST, 1 for CIFAR).
    calib_classes : sequence of int, optional
        Only these classes (e.g. ``[0]``: the one-example set of Fig. 7).
    progress : bool
    recompute : bool
        Ignore a cached result.
    return_info : bool
        Also return the sidecar dict (key, timing, counters, path).

    Returns
    -------
    dict[str, torch.Tensor]
        ``"<module>.weight"`` -> scores of the weight's shape (float64).
    """
    from .. import data, train
    from ..cache import artifact_path, atomic_torch_save, atomic_write_json, torch_load_or_none
    model, _ = train.load_or_train(train_cfg, progress=progress)
    ids = data.calibration_indices(model, train_cfg.dataset, calib_k, classes=calib_classes)
    cfg = CurvatureConfig(convention=convention, neural_distribution=neural_distribution,
                          neural_cost=neural_cost)
    key = score_key(train_cfg, ids, cfg)
    path = artifact_path("curvature", key, "pt")
    saved = None if recompute else torch_load_or_none(path)
    if isinstance(saved, dict) and saved.get("key") == key:
        return (saved["scores"], saved["info"]) if return_info else saved["scores"]
    x, _ = data.load_split(train_cfg.dataset, "val")
    stats = Stats()
    tic = time.perf_counter()
    scores = parameter_curvature(model, x[ids], cfg, progress=progress, stats=stats)
    info = {"key": key, "seconds": time.perf_counter() - tic, "path": str(path),
            "examples": len(ids), **{k: v for k, v in dataclasses.asdict(stats).items()
                                     if k != "per_layer"}}
    atomic_torch_save({"key": key, "scores": scores, "info": info}, path)
    atomic_write_json(path.with_suffix(".json"), info)
    return (scores, info) if return_info else scores


def add_arguments(parser):
    """Flags of ``python -m ncurv_lib curvature``."""
    parser.add_argument("--dataset", default="mnist", choices=("mnist", "cifar10", "cifar100"))
    parser.add_argument("--model", default="lenet5", choices=("lenet5", "vgg9", "mlp"))
    parser.add_argument("--act", default="relu", choices=("relu", "tanh"))
    parser.add_argument("--scheme", default="ce", choices=("ce", "wd", "at"))
    parser.add_argument("--scale", default="cpu", choices=("smoke", "cpu", "paper"))
    parser.add_argument("--convention", default="paper", choices=("paper", "authors"))
    parser.add_argument("--neural-distribution", action=argparse.BooleanOptionalAction,
                        default=True)
    parser.add_argument("--neural-cost", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--calib-k", type=int, default=None,
                        help="calibration examples per class (default: 10 MNIST, 1 CIFAR)")
    parser.add_argument("--calib-classes", type=int, nargs="+", default=None,
                        help="calibration examples of these classes only (default: all)")
    parser.add_argument("--recompute", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--checkpoint", default=None,
                        help="a cached model file (<cache>/models/<hash>.pt) instead of the "
                             "preset of --dataset/--model/--act/--scheme/--scale")
    parser.add_argument("--manifest", default=None,
                        help="write a JSON manifest naming the cached scores here")


def train_config(args):
    """The TrainConfig of ``--checkpoint``, else the preset of the flags."""
    from ..train import TrainConfig, config_of_checkpoint
    if args.checkpoint:
        return config_of_checkpoint(args.checkpoint)
    return TrainConfig.preset(args.dataset, args.model, args.act, args.scheme, args.scale)


def write_manifest(path, info):
    """A small JSON file naming the cached scores (relative to the cache root)."""
    import os
    from ..cache import atomic_write_json
    from ..paths import cache_root
    atomic_write_json(path, {"artifact": os.path.relpath(info["path"], cache_root()),
                             "key": info["key"], "examples": info["examples"],
                             "seconds": round(info["seconds"], 2)})


def run(args) -> int:
    """Compute (or load) the scores and print a per-layer summary."""
    train_cfg = train_config(args)
    scores, info = cached_parameter_curvature(
        train_cfg, args.convention, args.neural_distribution, args.neural_cost, args.calib_k,
        progress=args.progress, recompute=args.recompute, return_info=True,
        calib_classes=args.calib_classes)
    print(f"scores: {info['path']} ({info['examples']} examples, {info['seconds']:.1f} s)")
    if args.manifest:
        write_manifest(args.manifest, info)
    for name, s in scores.items():
        fin = s[torch.isfinite(s)]
        lo, med = (fin.min().item(), fin.median().item()) if fin.numel() else (float("nan"),) * 2
        print(f"  {name:14s} {tuple(s.shape)!s:18s} min {lo:+.4f} median {med:+.4f} "
              f"no-edge {int(torch.isinf(s).sum())}")
    return 0
