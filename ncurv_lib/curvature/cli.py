"""``python -m ncurv_lib curvature``: parameter curvature scores of a cached model.

The scores (:func:`~ncurv_lib.curvature.parameter_curvature` on the model's
calibration set) are cached under ``<cache_root>/curvature/<hash>.pt`` with a
JSON sidecar; the hash covers the model's configuration hash, the calibration
example ids, the convention, the two ablation switches and ``mass_tol``.
Notebooks call :func:`cached_parameter_curvature`, the same function.

A parameter's score is a minimum over examples, so a large model's set is
computed in chunks of examples (:func:`chunk_size`: about
``CHUNK_EDGES`` edges per chunk, so LeNet5's 100 examples stay one chunk and
each VGG9 example is its own); after each chunk the running minimum is
saved in ``<hash>.partial.pt``, an interrupted run resumes after the last
finished chunk, and the merged (elementwise minimum) scores are the same as
one pass over every example.
"""
import argparse
import dataclasses
import time

import torch
from tqdm import tqdm

from .api import CurvatureConfig, Stats
from .params import parameter_curvature, parameter_curvature_chunks

ENGINE_VERSION = 1
CHUNK_EDGES = 20_000_000


def chunk_size(model, x, chunk=None, workers=1) -> int:
    """Examples per chunk: ``chunk`` if given (> 0), else as many as keep a chunk
    within ``CHUNK_EDGES`` edges (at least one); at least ``workers`` (one example
    per worker process)."""
    _check_chunk(chunk)
    if chunk:
        return max(int(chunk), workers)
    from .chain import layer_chain
    stages = layer_chain(model).stages
    positions = _positions(model, x[:1], [s.module for s in stages])
    per_example = sum(int((s.module.weight != 0).sum()) * p for s, p in zip(stages, positions))
    return max(1, workers, CHUNK_EDGES // max(per_example, 1))


def _check_chunk(chunk):
    if chunk is not None and int(chunk) < 0:
        raise ValueError(f"chunk must be >= 0 (0: automatic), got {chunk}")


def _positions(model, x, modules):
    """Output positions each weighted module acts at on one example (1 for Linear)."""
    seen = {}

    def record(mod, _, out):
        seen[id(mod)] = out.shape          # returns None: the output is left as it is

    hooks = [m.register_forward_hook(record) for m in modules]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return [seen[id(m)][-2] * seen[id(m)][-1] if isinstance(m, torch.nn.Conv2d) else 1
            for m in modules]


def _chunked_scores(model, x, cfg, path, key, chunk, progress, workers=1):
    """Scores of ``x`` in chunks of examples, with one resumable partial file.

    Each chunk starts from the minimum of the chunks before it (``upper`` of
    :func:`parameter_curvature`), so it only evaluates edges that can still lower
    a score. After each chunk, ``<hash>.partial.pt`` holds that running minimum,
    the number of examples done and the summed counters, so an interrupted run
    resumes after the last finished chunk (whatever the chunk size was) and
    carrying one small file carries the whole progress. With ``workers`` > 1 a chunk
    holds at least that many examples, split over worker processes.
    Returns (scores, stats dict, seconds): the elementwise minimum over the chunks.
    """
    from ..cache import atomic_torch_save, torch_load_or_none
    n = x.shape[0]
    step = chunk_size(model, x, chunk, workers)
    if step >= n:
        return _one_pass(model, x, cfg, progress, workers=workers)
    part_path = partial_path(path)
    part = torch_load_or_none(part_path)
    if not (isinstance(part, dict) and part.get("key") == key and 0 < part.get("done", 0) <= n):
        part = {"key": key, "done": 0, "scores": None, "stats": {}, "seconds": 0.0, "chunks": 0}
    bar = tqdm(total=n, initial=part["done"], disable=not progress, desc="curvature examples",
               unit="example")
    start, stats = part["done"], Stats()
    chunks = parameter_curvature_chunks(model, x[start:], cfg, chunk=step, progress=progress,
                                        stats=stats, upper=part["scores"], workers=workers)
    tic, before = time.perf_counter(), dict(part["stats"])
    for done, scores in chunks:
        counters = _counters(stats)
        part = {"key": key, "done": start + done, "scores": scores,
                "seconds": part["seconds"] + time.perf_counter() - tic,
                "stats": {k: before.get(k, 0) + v for k, v in counters.items()},
                "chunks": part["chunks"] + 1}
        tic = time.perf_counter()
        atomic_torch_save(part, part_path)
        bar.update(part["done"] - bar.n)
    bar.close()
    return part["scores"], {**part["stats"], "chunks": part["chunks"],
                            "partials": [part_path]}, part["seconds"]


def partial_path(path):
    """The resumable partial file of the scores at ``path``."""
    return path.with_name(f"{path.stem}.partial.pt")


def _one_pass(model, x, cfg, progress, upper=None, workers=1):
    """(scores, counters, seconds) of one parameter_curvature call."""
    stats = Stats()
    tic = time.perf_counter()
    scores = parameter_curvature(model, x, cfg, progress=progress, stats=stats, upper=upper,
                                 workers=workers)
    return scores, _counters(stats), time.perf_counter() - tic


def _counters(stats):
    """The summed counters of ``stats`` as a dict (no per-layer detail)."""
    return {k: v for k, v in dataclasses.asdict(stats).items() if k != "per_layer"}


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
                               recompute=False, return_info=False, calib_classes=None,
                               chunk=None, workers=1):
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
    chunk : int, optional
        Examples per resumable chunk (default: :func:`chunk_size`'s choice); the
        scores do not depend on it.
    workers : int
        Processes each chunk's examples are split over (``parameter_curvature``'s
        ``workers``); the scores do not depend on it.

    Returns
    -------
    dict[str, torch.Tensor]
        ``"<module>.weight"`` -> scores of the weight's shape (float64).
    """
    from .. import data, train
    from ..cache import artifact_path, torch_load_or_none
    _check_chunk(chunk)
    model, _ = train.load_or_train(train_cfg, progress=progress)
    ids = data.calibration_indices(model, train_cfg.dataset, calib_k, classes=calib_classes)
    cfg = CurvatureConfig(convention=convention, neural_distribution=neural_distribution,
                          neural_cost=neural_cost)
    key = score_key(train_cfg, ids, cfg)
    path = artifact_path("curvature", key, "pt")
    saved = None if recompute else torch_load_or_none(path)
    if isinstance(saved, dict) and saved.get("key") == key:
        scores, info = saved["scores"], saved["info"]
    else:
        scores, info = _compute_scores(model, ids, train_cfg.dataset, cfg, path, key, chunk,
                                       progress, workers)
    # the path is where the artifact is now, never stored: a committed artifact is read
    # in other checkouts (older ones stored theirs; it is replaced here)
    info = {**info, "path": str(path)}
    return (scores, info) if return_info else scores


def _compute_scores(model, ids, dataset, cfg, path, key, chunk, progress, workers):
    """Scores of the calibration examples ``ids``, saved at ``path`` with a JSON
    sidecar; returns (scores, info)."""
    from .. import data
    from ..cache import atomic_torch_save, atomic_write_json
    x, _ = data.load_split(dataset, "val")
    scores, counters, seconds = _chunked_scores(model, x[ids], cfg, path, key, chunk, progress,
                                                workers)
    partials = counters.pop("partials", [])
    info = {"key": key, "seconds": seconds, "examples": len(ids), **counters}
    atomic_torch_save({"key": key, "scores": scores, "info": info}, path)
    atomic_write_json(path.with_suffix(".json"), info)
    for part in partials:
        part.unlink(missing_ok=True)
    return scores, info


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
    parser.add_argument("--chunk", type=int, default=0,
                        help="examples per resumable chunk (default 0: about "
                             f"{CHUNK_EDGES:,} edges per chunk); the scores do not depend on it")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes to split each chunk's examples over (default 1); "
                             "the scores do not depend on it")
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
        calib_classes=args.calib_classes, chunk=args.chunk, workers=args.workers)
    print(f"scores: {info['path']} ({info['examples']} examples, {info['seconds']:.1f} s)")
    if args.manifest:
        write_manifest(args.manifest, info)
    for name, s in scores.items():
        fin = s[torch.isfinite(s)]
        lo, med = (fin.min().item(), fin.median().item()) if fin.numel() else (float("nan"),) * 2
        print(f"  {name:14s} {tuple(s.shape)!s:18s} min {lo:+.4f} median {med:+.4f} "
              f"no-edge {int(torch.isinf(s).sum())}")
    return 0
