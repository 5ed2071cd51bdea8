"""The score store: cached parameter curvature scores of trained models.

The engine (:mod:`ncurv_lib.curvature`) computes; this module owns the artifacts it
produces. A :class:`ScoreConfig` (frozen) says exactly what was computed -- which
weights, which calibration examples, which convention and switches -- and its
:meth:`~ScoreConfig.key` names the file ``<cache_root>/curvature/<hash>.pt`` (with a
JSON sidecar). Pruning, the pipeline, the benchmark, the notebooks and the
``curvature`` CLI all go through :func:`cached_parameter_curvature`.

A parameter's score is a minimum over examples, so a large model's set is computed
in chunks of examples (:func:`chunk_size`: about ``CHUNK_EDGES`` edges per chunk, so
LeNet5's 100 examples stay one chunk and each VGG9 example is its own); after each
chunk the running minimum is saved in ``<hash>.partial.pt``, an interrupted run
resumes after the last finished chunk, and the merged (elementwise minimum) scores
are the same as one pass over every example.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import torch
from tqdm import tqdm

from .cache import (CacheError, artifact_path, atomic_torch_save, atomic_write_json,
                    config_hash, torch_load, torch_load_or_none)
from .curvature import CurvatureConfig, Stats, layer_chain, parameter_curvature
from .curvature import parameter_curvature_chunks

ENGINE_VERSION = 1
CHUNK_EDGES = 20_000_000
_RECOMPUTE = "pass --recompute (recompute=True) to compute them again"

__all__ = ["ENGINE_VERSION", "CHUNK_EDGES", "ScoreConfig", "cached_parameter_curvature",
           "chunk_size", "partial_path", "score_key", "check_calib_k"]


@dataclass(frozen=True)
class ScoreConfig:
    """Exactly what one set of cached scores was computed from.

    Parameters
    ----------
    model : str
        Configuration hash of the trained model (:func:`ncurv_lib.cache.config_hash`
        of its ``TrainConfig``).
    dataset : str
    calibration_ids : tuple of int
        Validation indices of the calibration examples, in order.
    convention, neural_distribution, neural_cost, mass_tol :
        The :class:`~ncurv_lib.curvature.CurvatureConfig` fields that change values.
    weights : str
        ``""`` for the cached model of ``model``; else the digest of the weights the
        scores were computed from (a checkpoint whose weights differ from the cached
        model's, :func:`ncurv_lib.train.load_checkpoint`).
    """

    model: str
    dataset: str
    calibration_ids: tuple
    convention: str = "paper"
    neural_distribution: bool = True
    neural_cost: bool = True
    mass_tol: float = 1e-12
    weights: str = ""

    def __post_init__(self):
        object.__setattr__(self, "calibration_ids",
                           tuple(int(i) for i in self.calibration_ids))
        if not self.calibration_ids:
            raise ValueError("a score set needs at least one calibration example")

    @classmethod
    def of(cls, train_cfg, calib_ids, cfg: CurvatureConfig, weights="") -> "ScoreConfig":
        """The score configuration of a trained model's config, ids and engine config."""
        return cls(config_hash(train_cfg), train_cfg.dataset, tuple(calib_ids),
                   cfg.convention, cfg.neural_distribution, cfg.neural_cost, cfg.mass_tol,
                   weights)

    def curvature_config(self) -> CurvatureConfig:
        return CurvatureConfig(convention=self.convention,
                               neural_distribution=self.neural_distribution,
                               neural_cost=self.neural_cost, mass_tol=self.mass_tol)

    def key(self) -> dict:
        """The cache key (a plain dict); keys of scores of cached models are those of
        every earlier version of the store (committed artifacts keep their names)."""
        key = {"kind": "parameter_curvature", "engine": ENGINE_VERSION,
               "model": self.model, "dataset": self.dataset,
               "calibration_ids": list(self.calibration_ids),
               "convention": self.convention, "neural_distribution": self.neural_distribution,
               "neural_cost": self.neural_cost, "mass_tol": self.mass_tol}
        if self.weights:
            key["weights"] = self.weights
        return key

    def path(self):
        """``<cache_root>/curvature/<hash>.pt``."""
        return artifact_path("curvature", self.key(), "pt")


def score_key(train_cfg, calib_ids, cfg: CurvatureConfig, weights="") -> dict:
    """The cache key (a plain dict) of one score computation."""
    return ScoreConfig.of(train_cfg, calib_ids, cfg, weights).key()


def check_calib_k(calib_k):
    """``calib_k`` as the store takes it: None for the paper's per-class count (None or
    0), else a positive int; ``ValueError`` for a negative one."""
    if calib_k is None or int(calib_k) == 0:
        return None
    if int(calib_k) < 0:
        raise ValueError(f"calib_k must be >= 1 calibration examples per class, or 0 for "
                         f"the paper's (10 on MNIST, 1 on CIFAR); got {calib_k}")
    return int(calib_k)


def _check_chunk(chunk):
    if chunk is not None and int(chunk) < 0:
        raise ValueError(f"chunk must be >= 0 (0: automatic), got {chunk}")


def chunk_size(model, x, chunk=None, workers=1) -> int:
    """Examples per chunk: ``chunk`` if given (> 0), else as many as keep a chunk
    within ``CHUNK_EDGES`` edges (at least one); at least ``workers`` (one example
    per worker process)."""
    _check_chunk(chunk)
    if chunk:
        return max(int(chunk), workers)
    stages = layer_chain(model).stages
    positions = _positions(model, x[:1], [s.module for s in stages])
    per_example = sum(int((s.module.weight != 0).sum()) * p for s, p in zip(stages, positions))
    return max(1, workers, CHUNK_EDGES // max(per_example, 1))


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


def partial_path(path):
    """The resumable partial file of the scores at ``path``."""
    return path.with_name(f"{path.stem}.partial.pt")


def _counters(stats):
    """The summed counters of ``stats`` as a dict (no per-layer detail)."""
    return {k: v for k, v in dataclasses.asdict(stats).items() if k != "per_layer"}


def _one_pass(model, x, cfg, progress, workers=1):
    """(scores, counters, seconds) of one parameter_curvature call."""
    stats = Stats()
    tic = time.perf_counter()
    scores = parameter_curvature(model, x, cfg, progress=progress, stats=stats,
                                 workers=workers)
    return scores, _counters(stats), time.perf_counter() - tic


def _chunked_scores(model, x, cfg, path, key, chunk, progress, workers=1):
    """Scores of ``x`` in chunks of examples, with one resumable partial file.

    Each chunk starts from the minimum of the chunks before it (``upper`` of
    :func:`parameter_curvature`), so it only evaluates edges that can still lower
    a score. After each chunk, ``<hash>.partial.pt`` holds that running minimum,
    the number of examples done and the summed counters, so an interrupted run
    resumes after the last finished chunk (whatever the chunk size was) and
    carrying one small file carries the whole progress. With ``workers`` > 1 a chunk
    holds at least that many examples, split over worker processes.
    Returns (scores, counters, seconds): the elementwise minimum over the chunks.
    """
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
    return part["scores"], {**part["stats"], "chunks": part["chunks"]}, part["seconds"]


def _read(path, key):
    """The cached (scores, info) at ``path``, or None if absent; :class:`CacheError` if
    the file is unreadable or is not the score set of ``key``."""
    saved = torch_load(path, "cached curvature scores", _RECOMPUTE)
    if saved is None:
        return None
    ok = (isinstance(saved, dict) and saved.get("key") == key
          and isinstance(saved.get("scores"), dict) and isinstance(saved.get("info"), dict)
          and all(isinstance(v, torch.Tensor) for v in saved["scores"].values()))
    if not ok:
        raise CacheError(f"cached curvature scores {path} do not hold the scores of their key; "
                         f"{_RECOMPUTE}")
    return saved["scores"], saved["info"]


def compute_or_read(model, x_calib, sc: ScoreConfig, *, progress=True, recompute=False,
                    chunk=None, workers=1):
    """Scores of ``model`` on ``x_calib`` (the examples ``sc.calibration_ids``): read
    from ``sc.path()`` or computed (resumably) and saved there atomically.

    Returns (scores, info); ``info["path"]`` is where the file is now.
    """
    _check_chunk(chunk)
    key, path = sc.key(), sc.path()
    got = None if recompute else _read(path, key)
    if got is None:
        if recompute:
            partial_path(path).unlink(missing_ok=True)
        scores, counters, seconds = _chunked_scores(model, x_calib, sc.curvature_config(), path,
                                                    key, chunk, progress, workers)
        info = {"key": key, "seconds": seconds, "examples": len(sc.calibration_ids),
                **counters}
        atomic_torch_save({"key": key, "scores": scores, "info": info}, path)
        atomic_write_json(path.with_suffix(".json"), info)
        partial_path(path).unlink(missing_ok=True)
        got = scores, info
    scores, info = got
    # the path is where the artifact is now, never stored: a committed artifact is read
    # in other checkouts (older ones stored theirs; it is replaced here)
    return scores, {**info, "path": str(path)}


def cached_parameter_curvature(train_cfg, convention="paper", neural_distribution=True,
                               neural_cost=True, calib_k=None, progress=True,
                               recompute=False, return_info=False, calib_classes=None,
                               chunk=None, workers=1, model=None, weights=""):
    """Parameter curvature of a trained model on its calibration set, cached.

    Parameters
    ----------
    train_cfg : ncurv_lib.train.TrainConfig
        The model's configuration.
    convention, neural_distribution, neural_cost :
        Fields of :class:`~ncurv_lib.curvature.CurvatureConfig`.
    calib_k : int, optional
        Correctly classified validation examples per class (None or 0: the paper's,
        10 for MNIST, 1 for CIFAR); negative values are refused.
    progress : bool
    recompute : bool
        Ignore (and replace) a cached result.
    return_info : bool
        Also return the sidecar dict (key, timing, counters, path).
    calib_classes : sequence of int, optional
        Only these classes (e.g. ``[0]``: the one-example set of Fig. 7).
    chunk : int, optional
        Examples per resumable chunk (default: :func:`chunk_size`'s choice); the
        scores do not depend on it.
    workers : int
        Processes each chunk's examples are split over; the scores do not depend on it.
    model : torch.nn.Sequential, optional
        The weights to score (a checkpoint's); default: the cached model of
        ``train_cfg``, trained first if it is not cached.
    weights : str
        With ``model``: ``""`` if it is the cached model of ``train_cfg``, else its
        weights' digest, which then enters the key
        (:class:`ncurv_lib.train.Checkpoint` gives both).

    Returns
    -------
    dict[str, torch.Tensor]
        ``"<module>.weight"`` -> scores of the weight's shape (float64); with
        ``return_info``, (scores, info).
    """
    from . import data, train
    calib_k = check_calib_k(calib_k)
    _check_chunk(chunk)
    if model is None:
        if weights:
            raise ValueError("weights names a checkpoint's weights: pass its model too")
        model, _ = train.load_or_train(train_cfg, progress=progress)
    ids = data.calibration_indices(model, train_cfg.dataset, calib_k, classes=calib_classes)
    cfg = CurvatureConfig(convention=convention, neural_distribution=neural_distribution,
                          neural_cost=neural_cost)
    sc = ScoreConfig.of(train_cfg, ids, cfg, weights)
    x = None
    if recompute or not sc.path().exists():
        x, _ = data.load_split(train_cfg.dataset, "val")
        x = x[ids]
    scores, info = compute_or_read(model, x, sc, progress=progress, recompute=recompute,
                                   chunk=chunk, workers=workers)
    return (scores, info) if return_info else scores
