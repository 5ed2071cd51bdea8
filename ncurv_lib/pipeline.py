"""The reproduction as a job plan: what a scale's config file asks for, expanded.

``config/<scale>.yaml`` is the one place that says what a scale runs: its models,
the curvature scores and pruning sweeps computed from them, and the book's
chapters. :func:`load_plan` validates such a file and expands it into jobs whose
output paths are the library's own content-addressed artifacts
(``<cache>/models/<hash>.pt``, ``<cache>/sweeps/<hash>.csv``) or small manifests
keyed by the hash of everything known before the job runs
(``<cache>/manifests/curvature/<hash>.json``, ``.../notebooks/<stem>-<hash>.json``).
A changed configuration therefore changes a path, and the workflow (``Snakefile``)
re-runs exactly what depends on it. The Snakefile only turns these jobs into rules.

>>> plan = load_plan("smoke")
>>> len(plan.models) == 13 and plan.scale == "smoke"
True
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .cache import config_hash
from .paths import repo_root
# ablation -> (neural_distribution, neural_cost); "baseline" is the graph with Lin-Lu-Yau
# curvature and weight-based distributions (Fig. 6)
from .pruning.runs import ABLATIONS
from .train import SCALES
RULES = ("train", "curvature", "sweep", "notebook", "book")
DEFAULT_RESOURCES = {
    "train": {"threads": 1, "mem_mb": 2000, "runtime": 30, "gpu": 0},
    "curvature": {"threads": 1, "mem_mb": 2000, "runtime": 30, "gpu": 0},
    "sweep": {"threads": 1, "mem_mb": 2000, "runtime": 30, "gpu": 0},
    "notebook": {"threads": 1, "mem_mb": 4000, "runtime": 30, "gpu": 0},
    "book": {"threads": 1, "mem_mb": 2000, "runtime": 15, "gpu": 0},
}
TOP_KEYS = ("scale", "about", "cache", "book_dir", "calib_k", "models", "curvature",
            "sweeps", "chapters", "resources")
MODEL_KEYS = ("name", "dataset", "model", "act", "scheme", "overrides")
CURVATURE_KEYS = ("models", "conventions", "ablations", "calib_k", "calib_classes")
SWEEP_KEYS = ("models", "methods", "per_layer", "grid", "test_limit", "calib_k",
              "convention", "ablations", "calib_classes")
CHAPTER_KEYS = ("scale", "needs")
RESOURCE_KEYS = ("threads", "mem_mb", "runtime", "gpu")
NEEDS = ("models", "curvature", "sweeps")


class PlanError(ValueError):
    """A scale config that cannot be expanded (unknown scale, key or name)."""


@dataclass(frozen=True)
class ModelJob:
    name: str
    train: object              # TrainConfig
    hash: str
    args: tuple                # flags of ``python -m ncurv_lib train``


@dataclass(frozen=True)
class CurvatureJob:
    model: str
    convention: str
    ablation: str
    calib_k: int               # per class; 0 = the paper's
    hash: str
    classes: tuple = ()        # calibration classes (empty: all)

    @property
    def args(self) -> tuple:
        nd, nc = ABLATIONS[self.ablation]
        args = ["--convention", self.convention,
                "--neural-distribution" if nd else "--no-neural-distribution",
                "--neural-cost" if nc else "--no-neural-cost"]
        args += ["--calib-k", str(self.calib_k)] if self.calib_k else []
        return tuple(args + (["--calib-classes", *map(str, self.classes)] if self.classes
                             else []))


@dataclass(frozen=True)
class SweepJob:
    model: str
    sweep: object              # SweepConfig
    hash: str
    curvature: str | None      # hash of the CurvatureJob a curvature sweep reads

    @property
    def args(self) -> tuple:
        s = self.sweep
        scorer, _, order = s.method.partition("-")
        args = ["--scorer", scorer, "--grid", s.grid,
                "--per-layer" if s.per_layer else "--no-per-layer"]
        if order:
            args += ["--order", order, "--convention", s.convention,
                     "--calib-k", str(s.calib_k), "--ablation", s.ablation]
            args += ["--calib-classes", *map(str, s.calib_classes)] if s.calib_classes else []
        if s.test_limit:
            args += ["--test-limit", str(s.test_limit)]
        return tuple(args)


@dataclass(frozen=True)
class ChapterJob:
    stem: str
    scale: str
    needs: tuple
    hash: str


@dataclass
class Plan:
    scale: str
    cache: Path
    book_dir: Path
    calib_k: int = 0                                # the scale's calibration set (0: paper's)
    models: dict = field(default_factory=dict)      # hash -> ModelJob
    curvature: dict = field(default_factory=dict)   # hash -> CurvatureJob
    sweeps: dict = field(default_factory=dict)      # hash -> SweepJob
    chapters: dict = field(default_factory=dict)    # stem -> ChapterJob
    resources: dict = field(default_factory=dict)   # rule -> {threads, mem_mb, ...}

    def rule_resources(self, rule: str) -> dict:
        """threads, mem_mb, runtime (min) and gpu of a rule: the config's, over defaults."""
        return {**DEFAULT_RESOURCES[rule], **self.resources.get(rule, {})}

    def model(self, name: str) -> ModelJob:
        return next(m for m in self.models.values() if m.name == name)

    def model_path(self, h: str) -> Path:
        return self.cache / "models" / f"{h}.pt"

    def curvature_path(self, h: str) -> Path:
        return self.cache / "manifests" / "curvature" / f"{h}.json"

    def sweep_path(self, h: str) -> Path:
        return self.cache / "sweeps" / f"{h}.csv"

    def chapter_path(self, stem: str) -> Path:
        return self.cache / "manifests" / "notebooks" / f"{stem}-{self.chapters[stem].hash}.json"

    def outputs(self, group: str) -> list[Path]:
        """Every output path of one group: models, curvature or sweeps."""
        jobs = {"models": (self.models, self.model_path),
                "curvature": (self.curvature, self.curvature_path),
                "sweeps": (self.sweeps, self.sweep_path)}[group]
        return [jobs[1](h) for h in jobs[0]]

    def rule_counts(self) -> dict:
        return {"train": len(self.models), "curvature": len(self.curvature),
                "sweep": len(self.sweeps), "notebook": len(self.chapters), "book": 1}


# ---------------------------------------------------------------- loading
def config_path(scale: str, root=None) -> Path:
    if scale not in SCALES:
        raise PlanError(f"unknown scale {scale!r}; valid scales: {', '.join(SCALES)}")
    return Path(root or repo_root() / "config") / f"{scale}.yaml"


def read_config(scale: str, root=None) -> dict:
    """The parsed ``config/<scale>.yaml`` with every key checked."""
    path = config_path(scale, root)
    spec = yaml.safe_load(path.read_text()) or {}
    _check_keys(spec, TOP_KEYS, str(path))
    if spec.get("scale") != scale:
        raise PlanError(f"{path}: 'scale' is {spec.get('scale')!r}, expected {scale!r}")
    for i, m in enumerate(spec.get("models", [])):
        _check_keys(m, MODEL_KEYS, f"{path}: models[{i}]")
    for key, allowed in (("curvature", CURVATURE_KEYS), ("sweeps", SWEEP_KEYS)):
        for i, entry in enumerate(spec.get(key, [])):
            _check_keys(entry, allowed, f"{path}: {key}[{i}]")
    for stem, ch in (spec.get("chapters") or {}).items():
        _check_keys(ch or {}, CHAPTER_KEYS, f"{path}: chapters.{stem}")
    for rule, res in (spec.get("resources") or {}).items():
        if rule not in RULES:
            raise PlanError(f"{path}: resources.{rule}: unknown rule; valid: {', '.join(RULES)}")
        _check_keys(res, RESOURCE_KEYS, f"{path}: resources.{rule}")
    return spec


def _check_keys(d: dict, allowed, where: str):
    if not isinstance(d, dict):
        raise PlanError(f"{where}: expected a mapping, got {type(d).__name__}")
    unknown = sorted(set(d) - set(allowed))
    if unknown:
        raise PlanError(f"{where}: unknown keys {unknown}; valid keys: {', '.join(allowed)}")


def cache_dir(spec: dict) -> Path:
    """``$NCURV_CACHE`` if set, else the config's ``cache`` (relative to the repository)."""
    env = os.environ.get("NCURV_CACHE")
    return Path(env).resolve() if env else repo_root() / spec.get("cache", "data/cache")


def load_plan(scale: str, root=None, chapter_sources=None) -> Plan:
    """Validate ``config/<scale>.yaml`` and expand it into jobs.

    ``chapter_sources`` maps notebook stems to their source files (default: the
    ``notebooks/NN_*.py`` of the repository); a chapter's manifest hash covers its
    source, its scale, its parameters and the output folder.
    """
    spec = read_config(scale, root)
    plan = Plan(scale=scale, cache=cache_dir(spec),
                book_dir=repo_root() / spec.get("book_dir", "book"),
                calib_k=int(spec.get("calib_k", 0)),
                resources=spec.get("resources") or {})
    _add_models(plan, spec.get("models", []))
    names = {m.name for m in plan.models.values()}
    for entry in spec.get("curvature", []):
        _add_curvature(plan, entry, names)
    for entry in spec.get("sweeps", []):
        _add_sweeps(plan, entry, names)
    _add_chapters(plan, spec.get("chapters") or {}, chapter_sources)
    return plan


def _add_models(plan: Plan, entries):
    from .train import TrainConfig
    for i, m in enumerate(entries):
        try:
            cfg = TrainConfig.preset(m["dataset"], m["model"], m["act"], m["scheme"],
                                     plan.scale, **(m.get("overrides") or {}))
        except (KeyError, ValueError, TypeError) as err:
            raise PlanError(f"config/{plan.scale}.yaml: models[{i}]: {err}") from None
        flags = []
        for k, v in sorted((m.get("overrides") or {}).items()):
            flags += [f"--{k.replace('_', '-')}", str(v)]
        args = ("--dataset", cfg.dataset, "--model", cfg.model, "--act", cfg.act,
                "--scheme", cfg.scheme, "--scale", plan.scale, *flags)
        name = m.get("name") or f"{cfg.model}-{cfg.dataset}-{cfg.act}-{cfg.scheme}"
        if any(j.name == name for j in plan.models.values()):
            raise PlanError(f"config/{plan.scale}.yaml: duplicate model name {name!r}")
        h = config_hash(cfg)
        plan.models[h] = ModelJob(name, cfg, h, args)


def _names(entry, names, where):
    chosen = entry.get("models", "all")
    chosen = sorted(names) if chosen == "all" else list(chosen)
    unknown = sorted(set(chosen) - names)
    if unknown:
        raise PlanError(f"{where}: unknown models {unknown}; defined: {', '.join(sorted(names))}")
    return chosen


def _curvature_job(plan, model, convention, ablation, calib_k, classes=()) -> CurvatureJob:
    from .curvature import CONVENTIONS
    if convention not in CONVENTIONS or ablation not in ABLATIONS:
        raise PlanError(f"config/{plan.scale}.yaml: curvature: convention {convention!r} "
                        f"or ablation {ablation!r} unknown; conventions: "
                        f"{', '.join(CONVENTIONS)}; "
                        f"ablations: {', '.join(ABLATIONS)}")
    from .scores import ENGINE_VERSION
    classes = tuple(int(c) for c in classes)
    key = {"kind": "curvature-job", "engine": ENGINE_VERSION, "model": plan.model(model).hash,
           "convention": convention, "ablation": ablation, "calib_k": int(calib_k)}
    if classes:  # keys of jobs over every class stay as they were
        key["calib_classes"] = list(classes)
    h = config_hash(key)
    plan.curvature.setdefault(h, CurvatureJob(model, convention, ablation, int(calib_k), h,
                                              classes))
    return plan.curvature[h]


def _add_curvature(plan, entry, names):
    for model in _names(entry, names, f"config/{plan.scale}.yaml: curvature"):
        for conv in entry.get("conventions", ["paper"]):
            for abl in entry.get("ablations", ["full"]):
                for k in entry.get("calib_k", [plan.calib_k]):
                    _curvature_job(plan, model, conv, abl, k, entry.get("calib_classes", ()))


def _add_sweeps(plan, entry, names):
    from .pruning.runs import SweepConfig
    where = f"config/{plan.scale}.yaml: sweeps"
    for model in _names(entry, names, where):
        mj = plan.model(model)
        for method in entry.get("methods", []):
            for per_layer in entry.get("per_layer", [False]):
                for ablation in entry.get("ablations", ["full"]):
                    _add_sweep(plan, model, method, per_layer, ablation, entry, where)


def _add_sweep(plan, model, method, per_layer, ablation, entry, where):
    from .pruning.runs import SweepConfig
    try:
        cfg = SweepConfig(train=plan.model(model).train, method=method,
                          grid=entry.get("grid", "default"), per_layer=per_layer,
                          convention=entry.get("convention", "paper"),
                          calib_k=entry.get("calib_k", plan.calib_k), test_limit=entry.get("test_limit", 0),
                          ablation=ablation, calib_classes=tuple(entry.get("calib_classes", ())))
    except ValueError as err:
        raise PlanError(f"{where}: {err}") from None
    if cfg.scorer != "curvature" and (ablation != "full" or cfg.calib_classes):
        return  # the other scorers have no ablation or calibration set
    curv = None
    if cfg.scorer == "curvature":
        curv = _curvature_job(plan, model, cfg.convention, cfg.ablation, cfg.calib_k,
                              cfg.calib_classes).hash
    h = config_hash(cfg.cache_key())
    plan.sweeps.setdefault(h, SweepJob(model, cfg, h, curv))


def notebook_sources() -> dict:
    return {p.stem: p for p in sorted((repo_root() / "notebooks").glob("[0-9][0-9]_*.py"))}


def _add_chapters(plan, chapters, sources):
    sources = notebook_sources() if sources is None else sources
    unknown = sorted(set(chapters) - set(sources))
    if unknown:
        raise PlanError(f"config/{plan.scale}.yaml: chapters {unknown} have no notebook; "
                        f"notebooks: {', '.join(sources)}")
    for stem, src in sources.items():
        ch = chapters.get(stem) or {}
        scale = ch.get("scale", plan.scale)
        needs = tuple(ch.get("needs", ()))
        if scale not in SCALES or set(needs) - set(NEEDS):
            raise PlanError(f"config/{plan.scale}.yaml: chapters.{stem}: scale must be one of "
                            f"{', '.join(SCALES)}, needs a subset of {', '.join(NEEDS)}")
        digest = hashlib.sha256(Path(src).read_bytes()).hexdigest()
        key = {"kind": "notebook", "stem": stem, "source_sha256": digest, "scale": scale,
               "book_dir": os.path.relpath(plan.book_dir, repo_root())}
        plan.chapters[stem] = ChapterJob(stem, scale, needs, config_hash(key))


def load_plans(scale: str, root=None) -> dict:
    """The plan of ``scale`` and of every scale its chapters run at: ``{scale: Plan}``.

    A chapter's manifest hash then also covers the names of the artifacts it reads, so
    a changed model configuration re-executes the chapters that show it.
    """
    plans = {scale: load_plan(scale, root)}
    main = plans[scale]
    for ch in main.chapters.values():
        if ch.scale not in plans:
            plans[ch.scale] = load_plan(ch.scale, root)
    for stem, ch in main.chapters.items():
        names = sorted(p.name for p in chapter_inputs(main, stem, plans))
        h = config_hash({"chapter": ch.hash, "reads": names})
        main.chapters[stem] = dataclasses.replace(ch, hash=h)
    return plans


def chapter_inputs(plan: Plan, stem: str, plans: dict) -> list[Path]:
    """The artifacts one chapter reads, from the plan of the scale it runs at."""
    ch = plan.chapters[stem]
    source = plans[ch.scale]
    return [p for group in ch.needs for p in source.outputs(group)]


def plan_models(plan: Plan):
    """Every model a plan lists, read from its cache (nothing is trained): one row per
    model with its name, configuration summary, test accuracy and training time, or
    ``status`` "not trained yet" (and no numbers) where its file is missing.

    Returns
    -------
    pandas.DataFrame
        Columns ``name, dataset, model, act, scheme, width, weight_decay, epochs,
        test_acc, best_epoch, train_time_s, status, key``.
    """
    import pandas as pd
    from .train import read_model_file
    rows = []
    for h, job in plan.models.items():
        t = job.train
        saved = read_model_file(plan.model_path(h), t)
        info = saved["info"] if saved is not None else {}
        rows.append(dict(name=job.name, dataset=t.dataset, model=t.model, act=t.act,
                         scheme=t.scheme, width=t.width, weight_decay=t.weight_decay,
                         epochs=t.epochs, test_acc=info.get("test_acc"),
                         best_epoch=info.get("best_epoch"),
                         train_time_s=info.get("train_time_s"),
                         status="trained" if info else "not trained yet", key=h))
    return pd.DataFrame(rows)


def plan_sweeps(plan: Plan, methods=None, per_layer=None, models=None, convention="paper",
                progress=False, ablation="full", calib=False) -> "pd.DataFrame":
    """The sweep tables a plan lists, concatenated, with ``model`` and ``name`` set to the
    model's name in the config (unique, unlike the sweep's own label, kept as
    ``model_label``: models that differ only in overrides share it). Filters:
    ``methods``, ``per_layer`` (True / False / None: both), ``models`` (names);
    curvature sweeps of ``convention`` and ``ablation`` (None: any) and, unless
    ``calib`` is True, only those on the scale's calibration set. Tables come
    from the cache (computed when missing); curvature sweeps get ``ablation``,
    ``convention``, ``calib_k`` and ``calib_classes`` columns."""
    import pandas as pd
    from .pruning.runs import load_or_sweep
    tables = []
    for job in plan.sweeps.values():
        s = job.sweep
        layered = bool(s.cache_key()["per_layer"])
        if ((methods is not None and s.method not in methods)
                or (per_layer is not None and layered != per_layer)
                or (models is not None and job.model not in models)
                or (s.scorer == "curvature"
                    and not _wanted(s, convention, ablation, calib or plan.calib_k))):
            continue
        _say_if_missing(s, job.model)
        table = load_or_sweep(s, progress=progress)
        tables.append(table.assign(model_label=table["model"], model=job.model,
                                   name=job.model, convention=s.convention,
                                   ablation=s.ablation, calib_k=s.calib_k,
                                   calib_classes=",".join(map(str, s.calib_classes))))
    if not tables:
        return pd.DataFrame()
    return pd.concat(tables, ignore_index=True)


def _say_if_missing(s, name) -> None:
    """A line on stderr before a sweep is computed in place: at cpu or paper scale that can
    take minutes to hours."""
    import sys
    from .pruning.runs import sweep_path
    if not sweep_path(s).exists():
        print(f"ncurv: sweep {name} / {s.method} is not cached, computing it now "
              f"(`make workflow SCALE=...` computes every sweep ahead, in parallel)", file=sys.stderr)


def _wanted(s, convention, ablation, calib) -> bool:
    """``calib``: True (any calibration set), or the scale's calib_k (0: the paper's)."""
    return ((convention is None or s.convention == convention)
            and (ablation is None or s.ablation == ablation)
            and (calib is True or (s.calib_k == calib and not s.calib_classes)))


def describe(plan: Plan) -> str:
    """A few lines: the job count per rule."""
    counts = plan.rule_counts()
    return f"scale {plan.scale}: " + ", ".join(f"{v} {k}" for k, v in counts.items())

