"""Cached pruning sweeps of cached trained models (what the CLI and notebooks call).

A :class:`SweepConfig` names one trained model (a :class:`~ncurv_lib.train.TrainConfig`)
and one method; :func:`load_or_sweep` returns its sweep table from
``<cache_root>/sweeps/<hash>.csv`` (with a JSON sidecar holding the configuration, the
run time and the summary metrics) or computes and stores it atomically. Only the fields
that matter for the method enter the hash (changing SynFlow's ``iterations`` does not
invalidate a magnitude sweep).

Curvature scores of a model are cached by the engine under ``<cache_root>/curvature/``.
"""
from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass

import pandas as pd

from ncurv_lib.cache import CacheError

from .metrics import summarize
from .sweeps import GRIDS, global_sweep, layer_sweep, parse_method

# ablation -> (neural_distribution, neural_cost) of the curvature (Fig. 6)
ABLATIONS = {"full": (True, True), "cost": (False, True), "distribution": (True, False),
             "baseline": (False, False)}

__all__ = ["SweepConfig", "load_or_sweep", "compute_sweep", "load_or_curvature",
           "sweep_path", "cached_seconds"]


@dataclass(frozen=True)
class SweepConfig:
    """One sweep: a trained model, a method and the grid options.

    Parameters
    ----------
    train : TrainConfig
    method : str
        One of :data:`ncurv_lib.pruning.sweeps.METHODS`.
    grid : {"smoke", "default", "fine"}
    sign_aware : bool
        Curvature: add the authors' sign-aware grid.
    per_layer : bool
        Add per-layer sweeps (not for SynFlow).
    iterations : int
        SynFlow rounds; ``synflow_iterative`` False uses the single-shot order.
    per_class : int
        SNIP batch: training examples per class.
    convention : {"paper", "authors"}
        Curvature convention; ``calib_k`` calibration examples per class (0: paper's),
        of the classes ``calib_classes`` only (empty: every class).
    ablation : {"full", "cost", "distribution", "baseline"}
        Curvature: which neural modules are on (Fig. 6): both, the neural edge cost only,
        the neural distribution only, neither (Lin-Lu-Yau curvature on the neural graph).
    test_limit : int
        > 0: evaluate on a fixed subset of the test set (smoke runs only).
    weights : str
        ``""``: the cached model of ``train``; else the digest of a checkpoint's weights
        that differ from it (:class:`ncurv_lib.train.Checkpoint`), part of the key.
    """

    train: object
    method: str
    grid: str = "default"
    sign_aware: bool = True
    per_layer: bool = False
    iterations: int = 100
    synflow_iterative: bool = True
    per_class: int = 10
    convention: str = "paper"
    calib_k: int = 0
    test_limit: int = 0
    ablation: str = "full"
    calib_classes: tuple = ()
    weights: str = ""

    def __post_init__(self):
        parse_method(self.method)
        if self.grid not in GRIDS:
            raise ValueError(f"unknown grid {self.grid!r}; expected one of {GRIDS}")
        if self.iterations < 1 or self.per_class < 1 or self.calib_k < 0 or self.test_limit < 0:
            raise ValueError("iterations and per_class must be >= 1; calib_k, test_limit >= 0")
        from ncurv_lib.curvature import CONVENTIONS
        if self.convention not in CONVENTIONS:
            raise ValueError(f"unknown convention {self.convention!r}")
        if self.ablation not in ABLATIONS:
            raise ValueError(f"unknown ablation {self.ablation!r}; expected one of "
                             f"{', '.join(ABLATIONS)}")
        object.__setattr__(self, "calib_classes", tuple(int(c) for c in self.calib_classes))

    @property
    def scorer(self) -> str:
        return parse_method(self.method)[0]

    def cache_key(self) -> dict:
        """The fields that determine the table (the cache key)."""
        key = {"kind": "pruning-sweep", "version": 1,
               "train": dataclasses.asdict(self.train), "method": self.method,
               "grid": self.grid, "test_limit": self.test_limit,
               "per_layer": self.per_layer and self.scorer != "synflow"}
        if self.scorer == "snip":
            key["per_class"] = self.per_class
        if self.scorer == "synflow":
            key.update(iterations=self.iterations, synflow_iterative=self.synflow_iterative)
        if self.scorer == "curvature":
            key.update(sign_aware=self.sign_aware, convention=self.convention,
                       calib_k=self.calib_k)
            if self.ablation != "full":  # keys of earlier sweeps stay as they were
                key["ablation"] = self.ablation
            if self.calib_classes:
                key["calib_classes"] = list(self.calib_classes)
        if self.weights:  # keys of the cached models' sweeps stay as they were
            key["weights"] = self.weights
        return key


def sweep_path(cfg: SweepConfig):
    """``<cache_root>/sweeps/<hash>.csv`` for this configuration."""
    from ncurv_lib.cache import artifact_path
    return artifact_path("sweeps", cfg.cache_key(), "csv")


def load_or_curvature(model, train, convention="paper", calib_k=0, force=False,
                      progress=False, ablation="full", calib_classes=(), weights=""):
    """Per-parameter curvature of ``model`` (of configuration ``train``) on its
    calibration set, cached.

    Delegates to :func:`ncurv_lib.scores.cached_parameter_curvature` (one cache for
    curvature scores, ``<cache>/curvature/``); ``calib_k`` per class, 0 = the paper's k.
    ``weights``: ``""`` if ``model`` is the cached model of ``train``, else the digest
    of its weights (keyed by them).
    """
    from ncurv_lib.scores import cached_parameter_curvature
    nd, nc = ABLATIONS[ablation]
    return cached_parameter_curvature(train, convention=convention, neural_distribution=nd,
                                      neural_cost=nc, calib_k=calib_k or None,
                                      calib_classes=calib_classes or None,
                                      progress=progress, recompute=force, model=model,
                                      weights=weights)


def _inputs(cfg: SweepConfig, model, progress=False):
    """Test set, pruning batch and method options for one sweep."""
    from ncurv_lib import data as D
    ds = cfg.train.dataset
    x, y = D.load_split(ds, "test", limit=cfg.test_limit or None)
    scorer, order = parse_method(cfg.method)
    data, opts = None, {}
    if scorer == "snip":
        data = D.pruning_batch(ds, per_class=cfg.per_class)
    if scorer == "synflow":
        opts = {"input_shape": D.input_shape(ds), "iterations": cfg.iterations,
                "synflow_iterative": cfg.synflow_iterative}
    if scorer == "curvature":
        opts = {"order": order, "sign_aware": cfg.sign_aware,
                "scores": load_or_curvature(model, cfg.train, cfg.convention, cfg.calib_k,
                                            ablation=cfg.ablation,
                                            calib_classes=cfg.calib_classes,
                                            progress=progress, weights=cfg.weights)}
    return x, y, data, opts


def compute_sweep(cfg: SweepConfig, model, progress=True, batch_size=1000) -> pd.DataFrame:
    """The sweep table of ``cfg`` for an already loaded ``model`` (no caching)."""
    x, y, data, opts = _inputs(cfg, model, progress)
    scorer = cfg.scorer
    tables = [global_sweep(model, x, y, scorer, data, grid=cfg.grid, batch_size=batch_size,
                           progress=progress, **opts)]
    if cfg.per_layer and scorer != "synflow":
        opts.pop("sign_aware", None)
        tables.append(layer_sweep(model, x, y, scorer, data, grid=cfg.grid,
                                  batch_size=batch_size, progress=progress, **opts))
    table = pd.concat(tables, ignore_index=True)
    t = cfg.train
    return table.assign(dataset=t.dataset, arch=t.model, act=t.act, scheme=t.scheme,
                        model=f"{t.model}-{t.dataset}-{t.act}-{t.scheme}")


def load_or_sweep(cfg: SweepConfig, progress=True, force=False, batch_size=1000,
                  model=None) -> pd.DataFrame:
    """The sweep table of ``cfg``: from the cache, or computed and cached atomically.

    ``model`` may be given to skip loading it (it must be the one ``cfg.train`` trains,
    or the checkpoint's whose digest is ``cfg.weights``). A cached table that fails
    :func:`read_table`'s checks is recomputed, with a warning that says why.
    """
    from ncurv_lib.cache import atomic_write_csv, atomic_write_json
    path = sweep_path(cfg)
    if path.exists() and not force:
        try:
            return read_table(path)
        except CacheError as err:
            warnings.warn(f"{err}; recomputing it", stacklevel=2)
    if model is None:
        if cfg.weights:
            raise ValueError("a sweep of a checkpoint's weights needs its model")
        from ncurv_lib.train import load_or_train
        model, _ = load_or_train(cfg.train, progress=progress)
    start = time.perf_counter()
    table = compute_sweep(cfg, model, progress, batch_size)
    seconds = time.perf_counter() - start
    atomic_write_csv(table, path)
    atomic_write_json(path.with_suffix(".json"), {
        "config": cfg.cache_key(), "seconds": seconds, "rows": len(table),
        "columns": list(table.columns), "summary": summarize(table).to_dict(orient="records")})
    return table


# columns every sweep table holds (the sidecars of older tables do not list theirs)
COLUMNS = ("method", "scorer", "order", "layer", "grid", "removed_count", "removed_fraction",
           "n_weights", "accuracy", "last_score", "dataset", "arch", "act", "scheme", "model")


def read_table(path) -> pd.DataFrame:
    """A cached sweep table, checked against its JSON sidecar.

    Raises :class:`~ncurv_lib.cache.CacheError` (naming the file and the fix) when the
    sidecar is missing (the run that wrote the table did not finish), the CSV cannot be
    parsed, a column is missing, the row count differs from the one recorded when it
    was written, or an accuracy is missing or outside [0, 1].
    """
    import json
    from pathlib import Path
    path = Path(path)
    fix = "delete it or pass --force to recompute it"
    side = path.with_suffix(".json")
    try:
        meta = json.loads(side.read_text())
        table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except FileNotFoundError as err:
        raise CacheError(f"cached sweep {path}: {Path(err.filename).name} is missing "
                         f"(an unfinished write); {fix}") from err
    except (ValueError, OSError) as err:  # pandas' parser and empty-data errors, bad JSON
        raise CacheError(f"cached sweep {path} cannot be read "
                         f"({' '.join(str(err).split())}); {fix}") from err
    columns = meta.get("columns", COLUMNS)
    missing = [c for c in columns if c not in table.columns]
    problem = (f"lacks columns {missing}" if missing
               else f"has {len(table)} rows, {meta.get('rows')} were written"
               if len(table) != meta.get("rows") else
               "has accuracies missing or outside [0, 1]"
               if not table["accuracy"].between(0, 1).all() else None)
    if problem:
        raise CacheError(f"cached sweep {path} {problem}; {fix}")
    return table


def cached_seconds(cfg: SweepConfig) -> float | None:
    """Run time recorded in the JSON sidecar of a cached sweep (None if absent)."""
    import json
    side = sweep_path(cfg).with_suffix(".json")
    return json.loads(side.read_text())["seconds"] if side.exists() else None
