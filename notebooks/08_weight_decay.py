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
# # Weight decay
#
# *Reproduces the paper's Figs. 8 and 9.* VGG9 with ReLU trained with weight decay
# 1e-5, 1e-4 and 1e-3, and VGG9 with Tanh with 1e-5, 1e-4 and a mixed setting (1e-4 on
# the convolutions, 1e-5 on the linear layers: our reading of the paper's "1e-4/1e-5"),
# each pruned by curvature (positive-first) and by magnitude.
#
# **The paper's claim:** the stronger the weight decay, the more weights curvature
# removes before the accuracy drops, and the more clearly it beats magnitude.

# %% tags=["parameters"]
scale = "smoke"

# %%
import pandas as pd

from ncurv_lib import pipeline, plotting
from ncurv_lib.pruning import figures
from ncurv_lib.pruning.metrics import summarize

plotting.use_style()
print(f"executed at scale={scale!r}")
METHODS = ["curvature-positive", "magnitude"]

# %%
plan = pipeline.load_plan(scale)
study = sorted((m for m in plan.models.values() if m.train.model == "vgg9"
                and m.train.scheme == "wd" and m.train.dataset == "cifar10"),
               key=lambda m: (m.train.act, m.train.weight_decay_linear >= 0,
                              m.train.weight_decay))
table = pipeline.plan_sweeps(plan, methods=METHODS, per_layer=False,
                             models=[m.name for m in study])
done = [m for m in study if len(table)
        and set(METHODS) <= set(table.loc[table.name == m.name, "method"])]
act_name = {"relu": "ReLU", "tanh": "Tanh"}
describe = {m.name: f"{act_name[m.train.act]} wd {m.train.weight_decay:.0e}" + (
    f" (linear {m.train.weight_decay_linear:.0e})" if m.train.weight_decay_linear >= 0 else "")
    for m in study}
print("swept at this scale:", "; ".join(describe[m.name] for m in done) or "none")
print("not yet:", "; ".join(describe[m.name] for m in study if m not in done) or "none")

# %%
if done:
    fig, axes = figures.panel_grid(len(done), ncols=min(3, len(done)))
    for ax, m in zip(axes, done):
        figures.plot_curves(ax, table[table.name == m.name], METHODS, title=describe[m.name])
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()

# %%
swept = table[table.name.isin([m.name for m in done])] if len(table) else table
if len(swept):
    summary = summarize(swept[swept.grid == "common"])
    summary["setting"] = pd.Categorical(summary["model"].map(describe),
                                        [describe[m.name] for m in done], ordered=True)
    # NBVAL_CHECK_OUTPUT
    print(summary.pivot_table(index="setting", columns="method", observed=True,
                              values="max_removable_fraction").round(3).to_string())

# %% [markdown]
# **What this run shows.** At the `cpu` scale (VGG9 at half width, one calibration example
# per class) all six models are swept. For ReLU, curvature removes 0.20, 0.10 and 0.25 of
# the weights before a one-point drop for weight decay 1e-5, 1e-4 and 1e-3, magnitude 0.45
# for all three. So stronger weight decay does not order the curvature results
# monotonically here (1e-4 is the lowest), and curvature stays below magnitude at every
# setting; the largest decay does give curvature its best result, the direction the paper
# reports. For Tanh (test accuracy 76.8 %, 77.2 % and 77.4 % for 1e-5, 1e-4 and mixed),
# curvature removes 0.25, 0.25 and 0.20 against magnitude's 0.45, 0.45 and 0.35: weight
# decay changes neither, and curvature stays 0.15-0.20 behind. The claim is **not
# reproduced** at this scale, for either activation. (VGG9 Tanh's curvature takes about
# 3 h per model here at one thread, its neighbour supports being full since every neuron
# is active.)

# %%
assert all(m.train.weight_decay > 0 for m in study)
