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
# # How many calibration examples?
#
# *Reproduces the paper's Fig. 7.* A weight's score is the minimum of its edges'
# curvature over the calibration examples (correctly classified validation images,
# the first ones of each class). The paper uses 100 MNIST examples (10 per class) and
# compares 1 example (of label 0), 5 (labels 0-4), 10, 20, 50 and 100.
#
# **The paper's claim:** a handful of examples already gives nearly the full pruning
# performance; a single example of one class is clearly worse.

# %% tags=["parameters"]
scale = "smoke"
featured = "lenet5-relu-ce"

# %%
import matplotlib.pyplot as plt

from ncurv_lib import pipeline, plotting
from ncurv_lib.pruning import figures
from ncurv_lib.pruning.metrics import summarize

plotting.use_style()
print(f"executed at scale={scale!r}")

# %%
plan = pipeline.load_plan(scale)
table = pipeline.plan_sweeps(plan, methods=["curvature-positive"], per_layer=False,
                             models=[featured], calib=True)
table = figures.calibration_sets(table[(table.grid == "common")])
sets = table.drop_duplicates("set").sort_values("examples")["set"].tolist()
print(f"{featured}: calibration sets {', '.join(sets)}")

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.8))
cmap = plt.get_cmap("viridis", len(sets))
for i, name in enumerate(sets):
    c = table[table.set == name].sort_values("removed_fraction")
    ax.plot(c.removed_fraction, c.accuracy, marker="o", ms=3, color=cmap(i), label=name)
ax.set(xlabel="fraction of weights removed", ylabel="test accuracy", ylim=(0, 1),
       title=f"{featured}: curvature (positive-first)")
ax.legend(title="calibration examples", fontsize=8, loc="lower left");

# %%
summary = summarize(table.assign(model=table.set))
summary = summary.set_index("model").loc[sets, ["max_removable_fraction", "auc"]].round(3)
summary.index.name = "calibration set"
# NBVAL_CHECK_OUTPUT
print(summary.to_string())

# %% [markdown]
# **What this run shows.** The table lists max removable (one-point drop) and AUC per
# calibration set, computed from the cached sweeps; compare the first rows (one class
# only) with the paper's full set in the last row.

# %%
assert len(sets) >= 1 and summary.max_removable_fraction.between(0, 1).all()
