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
# # The paper's claims at a glance
#
# One row per claim of the paper (Tan, Sia, Bogdan, Ivanov, *Analyzing Neural Network
# Information Flow Using Differential Geometry*, arXiv 2601.16366) and of the companion
# paper behind Part II, judged on the same cached sweeps the chapters plot, at the scale
# this page was executed at.
#
# **How to read a row.** Each row gives the sentence it judges, the models, the metric,
# and the rule, all before the result. Only the abstract of the paper could be read
# for this page. Its sentences are quoted in quotation marks. Every other claim is
# marked *(paraphrase)*: its wording comes from the chapter that reproduces the
# figure, not from the paper.
#
# Within a claim, each unit (a panel, a layer, a setting) is **better**, a **tie** or
# **worse**. Max removable, the largest fraction removed before the accuracy first
# drops more than the threshold, is read on the sweep's grid (steps of 0.05), so equal
# grid values are a tie. AUCs within 0.005 are a tie. For claims of similarity
# ("behaves similarly", "comparable"), one grid step (0.055, AUC 0.02) counts as
# similar. A claim is **reproduced**, **partly** reproduced, **not reproduced**, a
# **tie**, or **not computed** at this scale, and the row says why.
#
# The headline verdict is taken at a one-point drop. The same rule is also applied at
# two and five points and by AUC. A row whose verdict changes with the threshold is
# flagged *sensitive*. Part II rows rest on unit tests of the theorems, not on the
# chapters' experiments; they say so. The rules are in `ncurv_lib.verdicts`.
# `tests/test_verdicts.py` recomputes every verdict from the cached sweeps with code of
# its own.

# %% tags=["parameters"]
scale = "smoke"

# %%
import pandas as pd
from IPython.display import Markdown, display

from ncurv_lib import pipeline, verdicts

print(f"executed at scale={scale!r}")
report = verdicts.evaluate(pipeline.load_plan(scale))
claims, panels = report.claims, report.panels

# %% [markdown]
# ## Verdicts
#
# The headline verdict (one-point drop), the verdicts under the other metrics, and the
# tally at one point:

# %%
# NBVAL_IGNORE_OUTPUT
display(claims[["id", "figure", "chapter", "verdict", "2 pt", "5 pt", "AUC", "sensitive",
                "tally"]].style.hide(axis="index"))

# %% [markdown]
# ## The claims, one by one

# %%
for _, row in claims.iterrows():
    display(Markdown(verdicts.render_claim(row)))

# %% [markdown]
# ## Every judged curve at every threshold
#
# Max removable at one, two and five points of accuracy drop, and the area under the
# curve, for each curve a rule reads (*unit*: the panel, layer or setting; *arm*: the
# score, ablation, calibration set or model compared within it).

# %%
# NBVAL_IGNORE_OUTPUT
with pd.option_context("display.max_rows", 500):
    display(panels.round(3).style.hide(axis="index").format(precision=3))

# %% [markdown]
# The verdicts as plain text, one claim a line: the headline (one point), then two and
# five points and AUC (checked by nbval on every test run):

# %%
# NBVAL_CHECK_OUTPUT
print(claims[["id", "verdict", "2 pt", "5 pt", "AUC"]].rename(columns={"verdict": "1 pt"})
      .to_csv(sep="|", index=False), end="")

# %% [markdown]
# **What the `cpu` run shows** (VGG9 at half width; the exact verdicts and tallies are
# in the table above). Negative-first removal destroys every model at once (Fig. 4), as
# the paper says. The other half of Fig. 4 holds at one point only on LeNet5-small Tanh
# CE and WD. On LeNet5 ReLU the accuracy drops while the removed curvature is still 0.2
# to 0.35, above the 0.1 taken as "near zero". On VGG9 it drops at 0.5 to 2.0, long
# before the positive weights run out.
#
# Against the other scores (Fig. 3), curvature is strictly ahead on 4 of the 6
# LeNet5-small panels (ties on the other two) and on none of the 7 CIFAR panels. The
# ablation (Fig. 6, on LeNet5) does not put the full method first. Larger weight decay
# does not help magnitude at a one-point drop (Figs. 8, 9), and curvature stays below
# magnitude at every decay. Within single layers (Fig. 5), curvature and magnitude are
# similar at two and five points, but not on every layer at one point. Calibration
# (Fig. 7) is not monotone at one point: 5 examples do worse than 1.

# %%
assert set(claims.id) == {c.id for c in verdicts.CLAIMS}
assert set(claims[["verdict", "2 pt", "5 pt", "AUC"]].stack()) <= set(verdicts.VERDICTS)
assert panels[list(verdicts.DROPS)].stack().between(0, 1).all()
