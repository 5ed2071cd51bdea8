# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Reproducibility appendix
#
# What this book was computed with and what it cost: the software environment, the
# machine, the wall time of every chapter and of every workflow job, the training time
# of every model, the checksums of the data, how to rerun any chapter, and what each
# scale preset changes. Nothing here is computed from scratch: the page reads what the
# workflow (`Snakefile`) and the library already recorded -- the executed chapters'
# metadata, the chapter manifests in `<cache>/manifests/notebooks/`, Snakemake's
# benchmark files in `<cache>/benchmarks/<rule>/`, the model sidecars in
# `<cache>/models/` -- and hashes the dataset files (a few seconds).
#
# **What the paper provides / what this appendix adds.** The paper describes its
# models and training (and its authors published their code); it gives no checksums,
# run times or environment. This page records them for this reproduction, so a
# reader can tell whether their rerun is the same computation.

# %% tags=["parameters"]
scale = "smoke"

# %%
import os

import matplotlib.pyplot as plt
import pandas as pd

from ncurv_lib import pipeline, plotting, report
from ncurv_lib.paths import data_root, repo_root

plotting.use_style()
print(f"executed at scale={scale!r}")


def rel(path):
    """A path relative to the repository when inside it."""
    r = os.path.relpath(path, repo_root())
    return path if r.startswith("..") else r


plans = pipeline.load_plans(scale)
plan = plans[scale]

# %%
# NBVAL_IGNORE_OUTPUT
print(f"cache: {rel(plan.cache)}   book folder: {rel(plan.book_dir)}   data: {data_root()}")

# %% [markdown]
# ## Environment
#
# The pinned versions are those of `requirements.txt` (`environment.yml` mirrors
# them); `make` installs exactly these into `.venv`.

# %%
# NBVAL_CHECK_OUTPUT
env = report.package_versions()
print("versions recorded of:", ", ".join(env.package))

# %%
# NBVAL_IGNORE_OUTPUT
print(env.to_string(index=False))
off = env[env.matches == False]  # noqa: E712  (None: not pinned)
print("every pinned package at its pin" if off.empty else
      f"differs from the pins: {', '.join(off.package)}")

# %% [markdown]
# ## Hardware

# %%
# NBVAL_IGNORE_OUTPUT
hw = report.hardware()
for k, v in hw.items():
    print(f"{k:>10}: {v}")

# %% [markdown]
# ## Wall time of every chapter
#
# From the executed notebooks in the book folder (`metadata.ncurv.wall_time_s`,
# written by `tools/run_notebooks.py`) and the workflow's manifests of the current
# configuration (a chapter runs at the scale `config/<scale>.yaml` gives it, so a
# `cpu` book may hold a chapter executed at `smoke`). A chapter not executed yet has
# no time; this page's own time is that of its previous execution.

# %%
# NBVAL_IGNORE_OUTPUT
chapters = report.chapter_times(plan.book_dir)
manifests = report.manifest_times(plan.cache, current=report.current_manifests(plan))
current = manifests[manifests.current.astype(bool)]
times = pd.DataFrame({"chapter": list(plan.chapters),
                      "runs at": [c.scale for c in plan.chapters.values()]})
times = (times.merge(chapters.rename(columns={"scale": "executed at", "wall_time_s": "notebook s"}),
                     on="chapter", how="left")
         .merge(current[["chapter", "wall_time_s"]].rename(columns={"wall_time_s": "manifest s"}),
                on="chapter", how="left"))
print(times.to_string(index=False, na_rep="-"))
print(f"total: {times['notebook s'].sum() / 60:.1f} min over {times['notebook s'].notna().sum()} "
      f"executed chapters; {len(current)} of {len(plan.chapters)} current manifests, "
      f"{len(manifests) - len(current)} stale")

# %%
done = times.dropna(subset=["notebook s"])
if len(done):
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(done) + 1.2))
    ax.barh(done["chapter"], done["notebook s"], color="C0")
    ax.invert_yaxis()
    ax.set_xlabel("wall time (s)")
    ax.set_title(f"executed chapters of the {scale} book", fontsize=10)

# %% [markdown]
# ## Workflow jobs
#
# Snakemake's `benchmark:` files, one per job (`s`: wall seconds, `max_rss`: peak
# resident memory in MB, `cpu_time`: CPU seconds). Only jobs this cache has run have a
# file: artifacts that came with the repository carry none. A file measures the job's
# last run, so a job that found its result already there (a chapter up to date, scores
# already cached) shows seconds, not what the computation cost: for that, see the
# chapter times above and the training times below. Files of superseded jobs (a
# chapter executed before its source changed, a sweep of an old configuration) are
# left out.

# %%
# NBVAL_IGNORE_OUTPUT
names = {}
for p in plans.values():
    names.update(report.job_names(p))
jobs = report.benchmark_table(plan.cache, names=names, named_only=True)
if jobs.empty:
    print("no benchmark files in", rel(plan.cache / "benchmarks"))
else:
    print(report.rule_totals(jobs).to_string(index=False, float_format="{:.1f}".format))
    print()
    print(jobs[["rule", "name", "s", "max_rss", "cpu_time"]]
          .to_string(index=False, float_format="{:.1f}".format))

# %% [markdown]
# ## Training times
#
# Every model sidecar in the cache (`<cache>/models/<hash>.json`): its configuration,
# the wall time of its training on the machine that trained it, and its accuracy on
# the full official test set.

# %%
# NBVAL_IGNORE_OUTPUT
model_names = {h: j.name for p in plans.values() for h, j in p.models.items()}
trained = report.training_table(plan.cache, names=model_names)
print(trained.drop(columns=["hash"]).to_string(index=False, na_rep="-", float_format="{:.4g}".format))
print(f"{len(trained)} models, {trained.train_time_s.sum() / 60:.1f} min of training in all; "
      f"{sum(h in trained.hash.values for h in plan.models)} of the {len(plan.models)} "
      f"models of config/{scale}.yaml are trained")

# %% [markdown]
# ## Data provenance
#
# The dataset files the project reads under `$NCURV_DATA` (`ncurv_lib.data`: the
# MNIST IDX files and the CIFAR-10/100 zips of the local mirror), with their SHA-256.
# `listed` says whether the digest matches the mirror's own `SHA256SUMS` (`-`: no such
# listing). Decoded arrays are cached under `<cache>/datasets/` and never committed.

# %%
# NBVAL_IGNORE_OUTPUT
sums = report.dataset_checksums()
print(sums.to_string(index=False, na_rep="-", formatters={"bytes": "{:,}".format}))

# %% [markdown]
# ## Rerunning a chapter
#
# Any chapter, at any scale, with any of its parameters (the `parameters` cell of its
# source in `notebooks/`); the executed copy goes to the scale's book folder:
#
# ```bash
# make notebook NB=01_orc_primer PARAMS="-p n1 4 -p n2 4"
# make notebook NB=91_model_zoo SCALE=smoke
# ```
#
# or with papermill directly (any output file):
#
# ```bash
# jupytext --to ipynb notebooks/01_orc_primer.py -o - | papermill - out.ipynb -p scale smoke
# ```
#
# Run through the workflow instead (`make book`, `snakemake -j2 all --config
# scale=cpu`), a chapter re-executes only when its source, scale or the artifacts it
# reads changed. The command for each chapter of this book:

# %%
# NBVAL_IGNORE_OUTPUT
for stem, ch in plan.chapters.items():
    print(f"make notebook NB={stem} SCALE={scale}    # runs at {ch.scale}")

# %% [markdown]
# ## What each scale changes
#
# `config/<scale>.yaml` says what a scale runs; the training settings come from
# `TrainConfig.preset` (`ncurv_lib/train.py`). Per scale: LeNet5-small and VGG9 widths
# and epochs, the training-set limit (MNIST / CIFAR, 0 = the full split), the PGD steps
# and epochs of adversarial training (MNIST / CIFAR), and the number of jobs of each
# workflow rule. (The chapter list and the job counts follow the repository's
# notebooks and configs, which change without re-executing this page, so they are
# not compared by the notebook tests.)

# %%
# NBVAL_IGNORE_OUTPUT
scales = report.scale_table()
print(scales.to_string(index=False))
for s in pipeline.SCALES:
    spec = pipeline.read_config(s)
    print(f"{s}: {spec.get('about', '')} (cache {spec.get('cache')}, book {spec.get('book_dir')})")

# %% [markdown]
# **What this run shows.** The tables above are this machine's record of the book at
# the scale it was built at; a rerun that matches the pinned versions and the data
# checksums computes the same artifacts (each is keyed by a hash of its full
# configuration), and its times can be compared with these.

# %%
assert env.set_index("package").loc[["torch", "numpy", "POT", "pandas"], "installed"].notna().all()
assert hw["cores"] >= 1
assert (chapters.wall_time_s > 0).all() and set(chapters.chapter) <= set(plan.chapters)
assert len(sums) >= 4 and sums.sha256.str.len().eq(64).all()
assert not (sums.listed == False).any(), "a dataset file differs from SHA256SUMS"  # noqa: E712
assert {k: int(v) for k, v in scales.set_index("scale").loc[scale, list(plan.rule_counts())]
        .items()} == plan.rule_counts()
if not jobs.empty:
    assert (jobs.s >= 0).all()
