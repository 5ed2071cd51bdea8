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
# # L1 against the nuclear norm: edges or neurons?
#
# *Part II, after the companion paper's Figs. 12-13.* Both the L1 penalty and the
# nuclear norm $\|J\|_*$ of the balance Jacobian produce exact zeros, but of
# different kinds. L1 acts on each weight separately, so whole neurons go silent only
# when all their in-edges (or all their out-edges) happen to vanish together. The
# nuclear norm acts on the singular values of $J$, which by Theorem 2 vanish when
# neurons are cut off -- it removes neurons as units.
#
# **Null model.** If each edge were zero independently with probability $p$, a
# hidden neuron with in-degree $d^-_k$ and out-degree $d^+_k$ would be disconnected
# with probability $p^{d^-_k} + p^{d^+_k} - p^{d^-_k + d^+_k}$
# (``null_model_disconnected``). For each trained network we set $p$ to its observed
# fraction of weights below $10^{-3}$ and compare the observed number of disconnected
# neurons with the null expectation. We also compare the magnitudes of the weights
# on disconnected and on active neurons.
#
# **Data.** The paper uses ViT features of a cat/dog task and FaceNet features of
# CelebA; neither can be obtained offline here. We use the Breast Cancer data
# (ships with scikit-learn) with an MLP of two hidden layers of 32 plus bias, binary
# cross-entropy, full-batch gradient descent (step held for 3/4 of training, then
# decayed 100-fold). ``cpu`` scale: 5 seeds x 4 strengths per regulariser, 2000
# epochs (about 3.5 minutes on this project's 2-core machine, measured);
# ``smoke``: 1 seed x 3 strengths, 400 epochs.

# %% tags=["parameters"]
scale = "smoke"
seed = 0
lr = 0.05
tol = 1e-3

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ncurv_lib import dag, plotting

plotting.use_style()
cfg = {"smoke": dict(seeds=1, epochs=400, l1=[0.003, 0.01, 0.02], nuclear=[0.03, 0.04, 0.05]),
       "cpu": dict(seeds=5, epochs=2000, l1=[0.002, 0.005, 0.01, 0.02], nuclear=[0.02, 0.03, 0.04, 0.05]),
       "paper": dict(seeds=30, epochs=5000, l1=[0.002, 0.005, 0.01, 0.02], nuclear=[0.02, 0.03, 0.04, 0.05])}[scale]
print(f"executed at scale={scale!r}: {cfg}")

# %%
xtr, ytr, xte, yte = dag.breast_cancer_split(seed=seed)
G = dag.mlp_dag([30, 32, 32, 1], bias=True)
settings = [("l1", lam) for lam in cfg["l1"]] + [("nuclear", lam) for lam in cfg["nuclear"]]
kinds = [k for k, _ in settings for _ in range(cfg["seeds"])]
lams = [lam for _, lam in settings for _ in range(cfg["seeds"])]
theta0 = dag.init_theta(G, runs=cfg["seeds"], seed=seed).repeat(len(settings), 1)
res = dag.train_dag(G, theta0, xtr, ytr, loss="bce", reg=kinds, lam=lams, lr=lr, lr_final=lr / 100,
                    epochs=cfg["epochs"], record_every=cfg["epochs"], x_test=xte, y_test=yte, threads=1, seed=seed)
theta = res["theta"]

# %%
p_zero = (np.abs(theta) < tol).mean(-1)
observed = dag.disconnected_neurons(G, theta, tol=tol).sum(-1)
expected = dag.null_model_disconnected(G, p_zero)
runs = pd.DataFrame(dict(reg=kinds, lam=lams, p_zero=p_zero, n_observed=observed, n_null=expected,
                         test_loss=res["test_loss"][-1]))

# %%
# NBVAL_CHECK_OUTPUT
summary = runs.groupby(["reg", "lam"]).mean().round(2)
print(summary[["p_zero", "n_observed", "n_null"]].to_string())

# %%
print(summary.to_string())

# %%
fig, ax = plt.subplots()
for reg, marker in (("l1", "o"), ("nuclear", "s")):
    sel = runs[runs.reg == reg]
    ax.scatter(sel.n_null, sel.n_observed, marker=marker, label=reg)
top = max(runs.n_observed.max(), runs.n_null.max(), 1) + 1
ax.plot([0, top], [0, top], color="gray", ls=":")
ax.set_xlabel("disconnected neurons expected under independent edge dropping")
ax.set_ylabel("observed disconnected neurons")
ax.legend();

# %% [markdown]
# ## Weight magnitudes on disconnected and active neurons

# %%
dead = dag.disconnected_neurons(G, theta, tol=tol)
a_in, a_out = dag.in_out_matrices(G)
touch = (a_in + a_out).T.toarray() > 0  # (E, H)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
bins = np.linspace(-12, 1, 40)
medians = {}
for ax, reg in zip(axes, ("l1", "nuclear")):
    rows = np.nonzero(np.array(kinds) == reg)[0]
    on_dead = (touch[None] & dead[rows, None, :]).any(-1)
    mags = np.log10(np.abs(theta[rows]) + 1e-12)
    medians[reg] = (np.median(mags[on_dead]) if on_dead.any() else np.nan, np.median(mags[~on_dead]))
    ax.hist(mags[~on_dead], bins=bins, alpha=0.6, density=True, label="edges of active neurons")
    if on_dead.any():
        ax.hist(mags[on_dead], bins=bins, alpha=0.6, density=True, label="edges of disconnected neurons")
    ax.set_title(reg)
    ax.set_xlabel(r"$\log_{10} |\theta_e|$")
axes[0].set_ylabel("density")
axes[1].legend(fontsize=8);

# %%
# NBVAL_CHECK_OUTPUT
totals = runs.groupby("reg")[["n_observed", "n_null"]].sum()
ratio = totals.n_observed / totals.n_null.clip(lower=1e-9)
for reg in ("l1", "nuclear"):
    print(f"{reg:8s} observed / null-model disconnected neurons: {ratio[reg]:.1f}; median log10|theta| "
          f"on disconnected vs active neurons: {medians[reg][0]:.1f} vs {medians[reg][1]:.1f}")

# %% [markdown]
# **What this run shows.** Under L1 many weights vanish, but neurons are disconnected
# no more often than if the zeros had fallen independently (the ratio to the null
# model is about 1 or below: L1 spreads its zeros over many neurons). Under the
# nuclear norm, at the same fraction of zero weights, clearly more neurons are
# disconnected than the null model predicts: the weights vanish neuron by neuron, and
# the weights of disconnected neurons sit orders of magnitude below those of active
# ones (further below than under L1).

# %%
assert ratio["nuclear"] > ratio["l1"]
assert totals.n_observed["nuclear"] > 0
assert medians["nuclear"][0] < medians["nuclear"][1] - 2
assert medians["nuclear"][0] < medians["l1"][0]
