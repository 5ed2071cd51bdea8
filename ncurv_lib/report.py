"""What a run of the reproduction cost and what it ran on: tables for the appendix.

Everything here only reads what the workflow and the library already wrote:

* the executed chapters (``<book_dir>/NN_*.ipynb``, ``metadata.ncurv.wall_time_s``)
  and the workflow's chapter manifests (``<cache>/manifests/notebooks/<stem>-<hash>.json``);
* Snakemake's ``benchmark:`` files, ``<cache>/benchmarks/<rule>/<job>.tsv``
  (columns ``s``, ``max_rss`` in MB, ``cpu_time`` ...);
* the model sidecars ``<cache>/models/<hash>.json`` (``info.train_time_s``,
  ``info.test_acc``);
* the dataset files under the dataset root, hashed with SHA-256;
* the environment (package versions) and the machine (CPU, memory, GPU).

>>> {"cpu", "cores", "memory_gib", "gpu"} <= set(hardware())
True
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
from importlib import metadata
from pathlib import Path

import pandas as pd

PACKAGES = ("torch", "torchvision", "POT", "numpy", "scipy", "pandas", "snakemake",
            "jupyter-book", "papermill")
BENCHMARK_COLUMNS = ("s", "max_rss", "max_vms", "io_in", "io_out", "mean_load", "cpu_time")


# ---------------------------------------------------------------- environment, machine
def package_versions(packages=PACKAGES, requirements=None) -> pd.DataFrame:
    """Installed version of each package (and of Python), with its pin.

    Parameters
    ----------
    packages : sequence of str
        Distribution names as pip spells them.
    requirements : path, optional
        A ``requirements.txt`` whose ``name==version`` pins fill the ``pinned``
        column (default: the repository's).

    Returns
    -------
    pandas.DataFrame
        Columns ``package``, ``installed`` (missing: NA), ``pinned``, ``matches``
        (the installed version is the pin, or a release of it: 3.11.7 of 3.11).
    """
    pins = read_pins(requirements)
    rows = [dict(package="python", installed=platform.python_version(), pinned="3.11")]
    for name in packages:
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        rows.append(dict(package=name, installed=installed, pinned=pins.get(name.lower())))
    for r in rows:
        r["matches"] = _matches(r["installed"], r["pinned"])
    return pd.DataFrame(rows)


def _matches(installed, pinned):
    """``installed`` is ``pinned`` or a release of it (3.11.7 of 3.11); ``None``: no pin."""
    if pinned is None:
        return None
    return installed is not None and (installed == pinned or installed.startswith(pinned + "."))


def read_pins(path=None) -> dict:
    """``{name (lower case): version}`` of the ``name==version`` lines of a requirements file."""
    from .paths import repo_root
    path = Path(path or repo_root() / "requirements.txt")
    pins = {}
    if not path.exists():
        return pins
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def cpu_model(cpuinfo="/proc/cpuinfo") -> str:
    """The ``model name`` line of ``/proc/cpuinfo`` (else :func:`platform.processor`)."""
    try:
        for line in Path(cpuinfo).read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def memory_gib(meminfo="/proc/meminfo") -> float | None:
    """Total memory in GiB (``MemTotal`` of ``/proc/meminfo``); ``None`` if unknown."""
    try:
        for line in Path(meminfo).read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def gpu_names() -> list:
    """Names of the CUDA devices torch sees (empty without one)."""
    import torch
    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def hardware() -> dict:
    """The machine: CPU model, cores, memory (GiB), GPUs, OS and architecture."""
    gpus = gpu_names()
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "memory_gib": memory_gib(),
            "gpu": ", ".join(gpus) if gpus else "none",
            "os": f"{platform.system()} {platform.release()}", "arch": platform.machine()}


# ---------------------------------------------------------------- run times
def chapter_times(book_dir) -> pd.DataFrame:
    """Wall time of every executed chapter in ``book_dir`` (its notebook metadata).

    Returns
    -------
    pandas.DataFrame
        One row per ``NN_*.ipynb`` with ``metadata.ncurv``: ``chapter``, ``scale``,
        ``wall_time_s``; sorted by chapter. Unexecuted notebooks are left out.
    """
    rows = []
    for path in sorted(Path(book_dir).glob("[0-9][0-9]_*.ipynb")):
        meta = json.loads(path.read_text()).get("metadata", {}).get("ncurv")
        if not meta:
            continue
        rows.append(dict(chapter=path.stem, scale=meta.get("parameters", {}).get("scale"),
                         wall_time_s=meta.get("wall_time_s")))
    return pd.DataFrame(rows, columns=["chapter", "scale", "wall_time_s"])


def manifest_times(cache, current=None) -> pd.DataFrame:
    """The workflow's chapter manifests, ``<cache>/manifests/notebooks/<stem>-<hash>.json``.

    Parameters
    ----------
    cache : path
        The artifact cache of a scale.
    current : collection of str, optional
        The manifest stems (``<stem>-<hash>``) of the current configuration (e.g.
        from :func:`current_manifests`); fills the ``current`` column.

    Returns
    -------
    pandas.DataFrame
        ``chapter``, ``hash``, ``scale``, ``wall_time_s``, ``notebook``, ``current``;
        one row per manifest (a chapter executed under several configurations has
        several).
    """
    rows = []
    for path in sorted((Path(cache) / "manifests" / "notebooks").glob("*.json")):
        stem, _, h = path.stem.rpartition("-")
        m = json.loads(path.read_text())
        rows.append(dict(chapter=stem, hash=h, scale=m.get("parameters", {}).get("scale"),
                         wall_time_s=m.get("wall_time_s"), notebook=m.get("notebook"),
                         current=None if current is None else path.stem in current))
    return pd.DataFrame(rows, columns=["chapter", "hash", "scale", "wall_time_s", "notebook",
                                       "current"])


def current_manifests(plan) -> set:
    """``<stem>-<hash>`` of every chapter manifest a plan (from ``load_plans``) expects."""
    return {f"{stem}-{ch.hash}" for stem, ch in plan.chapters.items()}


def benchmark_table(cache, names=None, named_only=False) -> pd.DataFrame:
    """Snakemake's benchmark files ``<cache>/benchmarks/<rule>/<job>.tsv``, one row each.

    Parameters
    ----------
    cache : path
        The artifact cache of a scale.
    names : dict, optional
        ``{job: label}`` (e.g. :func:`job_names`); fills the ``name`` column.
    named_only : bool
        Keep only the jobs ``names`` lists: the files of superseded jobs (a chapter
        executed before its source changed, a sweep of an old configuration) stay in
        the cache but are not current.

    Returns
    -------
    pandas.DataFrame
        ``rule``, ``job`` (the file's stem), ``name`` and the columns of
        :data:`BENCHMARK_COLUMNS` that the files have (``s`` in seconds, memory
        in MB); a file with several measurements (``repeat``) gives their mean.
    """
    rows = []
    for path in sorted((Path(cache) / "benchmarks").glob("*/*.tsv")):
        df = pd.read_csv(path, sep="\t", na_values=["-", "NA"])
        if df.empty:
            continue
        stats = {c: float(df[c].mean()) for c in BENCHMARK_COLUMNS if c in df}
        job = path.stem
        if named_only and job not in (names or {}):
            continue
        rows.append(dict(rule=path.parent.name, job=job,
                         name=(names or {}).get(job, job), **stats))
    return pd.DataFrame(rows, columns=["rule", "job", "name", *BENCHMARK_COLUMNS])


def rule_totals(bench: pd.DataFrame) -> pd.DataFrame:
    """Per rule of a :func:`benchmark_table`: jobs, total and longest seconds, peak RSS."""
    g = bench.groupby("rule")
    return pd.DataFrame({"jobs": g.size(), "total_s": g["s"].sum(), "max_s": g["s"].max(),
                         "peak_rss_mb": g["max_rss"].max()}).reset_index()


def job_names(plan) -> dict:
    """``{benchmark job stem: readable label}`` for the jobs of a pipeline plan."""
    names = {h: j.name for h, j in plan.models.items()}
    for h, j in plan.curvature.items():
        names[h] = f"{j.model} {j.convention} {j.ablation} k={j.calib_k}"
    for h, j in plan.sweeps.items():
        names[h] = f"{j.model} {j.sweep.method}" + (" per-layer" if j.sweep.per_layer else "")
    for stem, ch in plan.chapters.items():
        names[f"{stem}-{ch.hash}"] = stem
    return names


def training_table(cache, names=None) -> pd.DataFrame:
    """Training time and test accuracy of every model sidecar ``<cache>/models/*.json``.

    Returns
    -------
    pandas.DataFrame
        ``hash``, ``name`` (from ``names``, else NA), ``dataset``, ``model``,
        ``act``, ``scheme``, ``width``, ``epochs``, ``train_time_s``, ``test_acc``,
        ``device``; sorted by dataset, model, act, scheme.
    """
    rows = []
    for path in sorted((Path(cache) / "models").glob("*.json")):
        side = json.loads(path.read_text())
        cfg, info = side.get("config", {}), side.get("info", {})
        rows.append(dict(hash=path.stem, name=(names or {}).get(path.stem),
                         **{k: cfg.get(k) for k in ("dataset", "model", "act", "scheme",
                                                    "width", "epochs")},
                         train_time_s=info.get("train_time_s"), test_acc=info.get("test_acc"),
                         device=info.get("device")))
    cols = ["hash", "name", "dataset", "model", "act", "scheme", "width", "epochs",
            "train_time_s", "test_acc", "device"]
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(["dataset", "model", "act", "scheme"], ignore_index=True)


# ---------------------------------------------------------------- data provenance
def dataset_files(root=None) -> list:
    """The dataset files the project reads under the dataset root, relative paths.

    MNIST: the four IDX files (``.gz`` or not) in ``MNIST/raw/``; CIFAR-10/100: the
    local mirror's ``<dataset>/{train,test}.zip`` (torchvision's pickled layout, when
    that is what is there, is not listed).
    """
    from . import data
    from .paths import data_root
    root = Path(root or data_root())
    files = []
    for split in ("train", "test"):
        files += data.find_mnist(root, split) or []
    for dataset in ("cifar10", "cifar100"):
        files += [root / dataset / f"{s}.zip" for s in ("train", "test")
                  if (root / dataset / f"{s}.zip").exists()]
    return sorted(p.relative_to(root).as_posix() for p in files)


def sha256_file(path, chunk=1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def read_sha256sums(path) -> dict:
    """``{relative path: digest}`` of a ``sha256sum`` listing; empty if missing."""
    path = Path(path)
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            out[parts[1].lstrip("*").strip()] = parts[0]
    return out


def dataset_checksums(root=None, files=None) -> pd.DataFrame:
    """SHA-256 and size of the dataset files, checked against ``<root>/SHA256SUMS``.

    Returns
    -------
    pandas.DataFrame
        ``file``, ``bytes``, ``sha256``, ``listed`` (``True``/``False`` when the
        root has a ``SHA256SUMS`` naming the file, else ``None``).
    """
    from .paths import data_root
    root = Path(root or data_root())
    files = dataset_files(root) if files is None else files
    sums = read_sha256sums(root / "SHA256SUMS")
    rows = []
    for rel in files:
        digest = sha256_file(root / rel)
        rows.append(dict(file=rel, bytes=(root / rel).stat().st_size, sha256=digest,
                         listed=(sums[rel] == digest) if rel in sums else None))
    return pd.DataFrame(rows, columns=["file", "bytes", "sha256", "listed"])


# ---------------------------------------------------------------- scales
def scale_table(scales=None) -> pd.DataFrame:
    """What each scale preset trains, and its job count per workflow rule.

    One row per scale: LeNet5-small and VGG9 width and epochs (ReLU CE), the
    training-set limit (0: the full split), PGD steps of adversarial training
    (MNIST / CIFAR) and the number of jobs of each rule of ``config/<scale>.yaml``.
    """
    from . import pipeline
    from .train import TrainConfig
    rows = []
    for s in scales or pipeline.SCALES:
        le = TrainConfig.preset("mnist", "lenet5", "relu", "ce", s)
        vg = TrainConfig.preset("cifar10", "vgg9", "relu", "ce", s)
        at_m = TrainConfig.preset("mnist", "lenet5", "relu", "at", s)
        at_c = TrainConfig.preset("cifar10", "vgg9", "relu", "at", s)
        rows.append(dict(scale=s, lenet5_width=le.width, lenet5_epochs=le.epochs,
                         vgg9_width=vg.width, vgg9_epochs=vg.epochs,
                         train_limit=f"{le.train_limit} / {vg.train_limit}",
                         pgd_steps=f"{at_m.adv_steps} / {at_c.adv_steps}",
                         at_epochs=f"{at_m.epochs} / {at_c.epochs}",
                         **pipeline.load_plan(s).rule_counts()))
    return pd.DataFrame(rows)
