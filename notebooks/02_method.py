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
# # Method walk-through
#
# *The paper's Defs. 5-8, step by step, on a network small enough to see
# whole.* For one input $x$, a network induces a weighted directed graph, the
# **neural graph**: one node per neuron, one edge per non-zero weight, of length
# $w(e) = 1/|W_e|$ (Def. 5). The neural curvature of an edge $(u,v)$ is an
# Ollivier-Ricci curvature on this graph (chapter 1) with two changes that make it
# depend on $x$:
#
# * the **neural distribution** (Def. 6): $u$ spreads its mass over its in-neighbours
#   $p$, and $v$ over its out-neighbours $s$, in proportion to $\exp(-1/x_k^2)$, where
#   $x_k \in [0,1]$ is the neighbour's activity on this input, normalised per layer;
#   silent neurons get no mass;
# * the **neural edge cost** (Def. 7): the edge costs $D = w/\min(\beta_u, \beta_v)$
#   (ReLU) or $w/\beta_v$ (Tanh), with $\beta(z) = \sigma(z)/z$ the fraction of the
#   pre-activation a neuron passes on; an edge into or out of a dead ReLU costs
#   $D = \infty$.
#
# The curvature is the limit of the idle walk (Def. 8),
#
# $$\kappa(u,v,x) = \lim_{\alpha\to 1} \frac{\kappa_\alpha}{1-\alpha}, \qquad
#   \kappa_\alpha = 1 - \frac{W_1(m_u^\alpha, m_v^\alpha)}{D}, \qquad
#   m_u^\alpha = \alpha\,\delta_u + (1-\alpha)\,\mu_u ,$$
#
# with the special values $\kappa = 1$ (input/output edges) and $2$ (hidden edges)
# where $D = \infty$. **The paper's claim:** the limit exists for every edge, so each
# edge has one well-defined curvature on each input; its Fig. 6 ablates the two
# changes. This chapter shows the graph of a 4-6-5-3 ReLU MLP on one input,
# checks the limit against the complete $\alpha$-lazy transport problem, and shows
# what each of the two changes does. The model is seeded, not trained: the
# definitions do not need training, and the later chapters use trained networks.

# %% tags=["parameters"]
scale = "smoke"
seed = 1               # initialisation of the MLP
convention = "paper"   # or "authors" (see the spec, contract §4-§6)

# %%
import time

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import torch

import ncurv_lib as nc
from ncurv_lib import plotting
from ncurv_lib.curvature.lazy import lazy_edge_curvature
from ncurv_lib.models import mlp

plotting.use_style()
alpha_step = {"smoke": 0.1, "cpu": 0.025, "paper": 0.01}[scale]
print(f"executed at scale={scale!r}: idleness grid step {alpha_step}, convention {convention!r}")

# %% [markdown]
# ## The network and its input
#
# Hidden neurons with pre-activation $z \le 0$ are dead on this input ($\beta = 0$).

# %%
sizes = [4, 6, 5, 3]
torch.manual_seed(seed)
model = mlp(sizes, "relu").double().eval()
x = torch.tensor([[0.8, -0.4, 1.2, 0.3]], dtype=torch.float64)
cfg = nc.CurvatureConfig(convention=convention)
with torch.no_grad():
    hidden = [model[:2](x)[0], model[:4](x)[0]]
    logits = model(x)[0]


def alive(layer, neuron):
    """Input and output neurons always count as alive; hidden ones when their value is > 0."""
    return layer in (0, len(sizes) - 1) or bool(hidden[layer - 1][neuron] > 0)


weights = [m.weight.detach() for m in model[::2]]
touch_dead = sum(int(w[j, i] != 0) for l, w in enumerate(weights) for j, i in np.ndindex(*w.shape)
                 if not (alive(l, i) and alive(l + 1, j)))

# %%
# NBVAL_CHECK_OUTPUT
for l, h in enumerate(hidden, start=1):
    print(f"hidden layer {l}: values {np.round(h.numpy(), 4).tolist()}, dead {int((h == 0).sum())}")
print(f"logits {np.round(logits.numpy(), 4).tolist()}")
print(f"edges touching a dead neuron: {touch_dead} of {sum(int((w != 0).sum()) for w in weights)}")

# %% [markdown]
# ## The neural graph, coloured by curvature
#
# `edge_curvature` gives one value per edge and input; below, every non-zero weight is
# a line (thicker for larger $|W|$), red for negative and blue for positive curvature;
# dead neurons are grey, and each neuron carries its index within its layer.

# %%
tic = time.perf_counter()
ec = nc.edge_curvature(model, x, cfg)
seconds_engine = time.perf_counter() - tic
edges = [(key, idx) for key, k in ec.items() for idx in np.ndindex(*k.shape[1:])
         if not torch.isnan(k[0][idx])]
kappa = np.array([ec[key][(0,) + idx].item() for key, idx in edges])

# %%
# NBVAL_CHECK_OUTPUT
for key, k in ec.items():
    v = k[0][~torch.isnan(k[0])].numpy()
    print(f"{key}: {v.size} edges, {np.mean(v < 0):.1%} negative, "
          f"min {v.min():.4f}, mean {v.mean():.4f}, max {v.max():.4f}")

# %%
fig, ax = plt.subplots(figsize=(7, 4.2))
dead = [np.zeros(sizes[0], bool)] + [(h == 0).numpy() for h in hidden] + [np.zeros(sizes[-1], bool)]
lines = plotting.draw_neural_graph(model, ec, ax, inactive=dead)
ax.set_title(f"Neural curvature of a {'-'.join(map(str, sizes))} ReLU MLP on one input");

# %% [markdown]
# ## Idleness: the limit $\alpha \to 1$ is reached at $\alpha = 1/2$
#
# `lazy_edge_curvature` solves the complete transport problem between
# $m_u^\alpha$ and $m_v^\alpha$ (every neighbour, the full ground-cost matrix of
# shortest paths, POT's exact `ot.emd2`) and returns $\kappa_\alpha/(1-\alpha)$.
# First every edge, at $\alpha = 0$, $1/2$ and $0.9$:

# %%
tic = time.perf_counter()
all_lazy = lazy_edge_curvature(model, x, edges, [0.0, 0.5, 0.9], cfg)[0]
seconds_all = time.perf_counter() - tic
dev_all = np.abs(all_lazy[:, 1:] - kappa[:, None]).max()
departs = np.abs(all_lazy[:, 0] - kappa) > 1e-6

# %%
# NBVAL_CHECK_OUTPUT
print(f"{len(edges)} edges: max |full LP - engine| < 1e-9 at alpha 0.5 and 0.9: {bool(dev_all < 1e-9)}")
print(f"edges whose full LP at alpha = 0 differs from the limit: {int(departs.sum())}")

# %% [markdown]
# Then the whole curve for a few edges between the two hidden layers, both ends alive
# (the most negative one and the one that departs most below 1/2), and one edge of the
# first and of the last layer (the input and output neurons keep all their mass, so
# one side is a point mass).

# %%
layer_of = {key: t for t, key in enumerate(ec)}
regular = [k for k, (key, (j, i)) in enumerate(edges)
           if alive(layer_of[key], i) and alive(layer_of[key] + 1, j)]
middle = [k for k in regular if edges[k][0] == "2.weight"]
picked = [min(middle, key=lambda k: kappa[k]),
          max(middle, key=lambda k: abs(all_lazy[k, 0] - kappa[k])),
          next(k for k in regular if edges[k][0] == "0.weight"),
          next(k for k in regular if edges[k][0] == "4.weight")]
alphas = np.round(np.arange(0.0, 0.95 + 1e-9, alpha_step), 6)
assert 0.5 in alphas
tic = time.perf_counter()
curves = lazy_edge_curvature(model, x, [edges[k] for k in picked], alphas, cfg)[0]
seconds_lazy = time.perf_counter() - tic
upper = alphas >= 0.5
dev_upper = np.abs(curves[:, upper] - kappa[picked][:, None]).max()

# %%
fig, ax = plt.subplots(figsize=(7.5, 4.0))
ax.axvspan(0.5, 1.0, color="0.93", zorder=0, label=r"$\alpha \geq 1/2$")
for c, k, marker in zip(curves, picked, "osD^"):
    key, (j, i) = edges[k]
    t = layer_of[key]
    line, = ax.plot(alphas, c, marker + "-", ms=3.5,
                    label=f"layer {t} neuron {i} $\\to$ layer {t + 1} neuron {j}")
    ax.axhline(kappa[k], color=line.get_color(), ls=":", lw=1)
ax.plot([], [], "k:", lw=1, label="engine (alpha-free)")
ax.set_xlim(0, 1)
ax.set_xlabel(r"idleness $\alpha$")
ax.set_ylabel(r"$\kappa_\alpha / (1-\alpha)$ (full LP)")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1));

# %%
# NBVAL_CHECK_OUTPUT
for c, k in zip(curves, picked):
    key, (j, i) = edges[k]
    print(f"{key} (neuron {i} -> {j}): engine {kappa[k]:.4f}, full LP at alpha=0: {c[0]:.4f}, "
          f"at alpha=0.5: {c[alphas == 0.5][0]:.4f}")
print(f"flat on [1/2, 1) and equal to the engine to 1e-9: {bool(dev_upper < 1e-9)}")

# %%
# NBVAL_IGNORE_OUTPUT
print(f"engine: {seconds_engine * 1e3:.1f} ms for all {len(edges)} edges; full LP: "
      f"{seconds_all * 1e3:.1f} ms for all edges x 3 alphas, {seconds_lazy * 1e3:.1f} ms for "
      f"{len(picked)} edges x {alphas.size} alphas; "
      f"max deviation on [1/2, 1): {max(dev_upper, dev_all):.1e}")

# %% [markdown]
# ## What the neural distribution and the neural edge cost each change
#
# Switching each change off (`CurvatureConfig(neural_distribution=..., neural_cost=...)`)
# gives the paper's ablation (its Fig. 6): *baseline* is the Lin-Lu-Yau curvature of the
# weighted graph, masses proportional to $|W|$ and cost $D = w$; *cost only* keeps the
# activity-based cost; *distribution only* the activity-based masses.

# %%
variants = {"full": (True, True), "cost only": (False, True),
            "distribution only": (True, False), "baseline": (False, False)}
by_variant = {}
for name, (nd, ncost) in variants.items():
    cv = nc.CurvatureConfig(convention=convention, neural_distribution=nd, neural_cost=ncost)
    by_variant[name] = nc.edge_curvature(model, x, cv)
values = {name: np.array([e[key][(0,) + idx].item() for key, idx in edges])
          for name, e in by_variant.items()}
table = pd.DataFrame({
    "neural distribution": [variants[n][0] for n in values],
    "neural cost": [variants[n][1] for n in values],
    "negative share": [np.mean(v < 0) for v in values.values()],
    "mean": [v.mean() for v in values.values()],
    "min": [v.min() for v in values.values()],
    "max": [v.max() for v in values.values()],
    "edges at exactly 1 or 2": [int(np.isin(v, (1.0, 2.0)).sum()) for v in values.values()],
}, index=list(values)).round(4)

# %%
live = np.isin(np.arange(len(edges)), regular)    # both ends alive
gap = {name: np.abs(v - values["full"]) for name, v in values.items()}

# %%
# NBVAL_CHECK_OUTPUT
print(table.to_string())
print(f"\n{int(live.sum())} edges with both ends alive, {int((~live).sum())} touching a dead neuron")
for name in ("cost only", "distribution only", "baseline"):
    print(f"{name:>17}: |difference to full| on live edges max {gap[name][live].max():.4f}, "
          f"mean {gap[name][live].mean():.4f}; on dead edges mean {gap[name][~live].mean():.4f}")

# %%
vlim = max(np.abs(v).max() for v in values.values())
fig, axes = plt.subplots(2, 2, figsize=(10, 6.5))
for ax, (name, e) in zip(axes.flat, by_variant.items()):
    plotting.draw_neural_graph(model, e, ax, vlim=vlim, colorbar=False, inactive=dead)
    ax.set_title(name)
fig.colorbar(axes.flat[0].collections[0], ax=axes, shrink=0.6, label="edge curvature");

# %%
fig, ax = plt.subplots()
styles = {"baseline": dict(marker="o", s=18), "distribution only": dict(marker="s", s=18),
          "cost only": dict(marker="D", s=40, facecolors="none", edgecolors="C2", linewidths=1.2)}
for name, style in styles.items():
    ax.scatter(values["full"], values[name], alpha=0.85, label=name, **style)
lim = [min(v.min() for v in values.values()) - 0.1, vlim + 0.1]
ax.plot(lim, lim, color="0.6", lw=1, zorder=0)
ax.axhline(0, color="0.8", lw=0.8, zorder=0)
ax.axvline(0, color="0.8", lw=0.8, zorder=0)
ax.set_xlabel("curvature, full neural curvature")
ax.set_ylabel("curvature, ablation")
ax.legend();

# %% [markdown]
# **What this run shows.** On this input one neuron of the first hidden layer and two
# of the second are dead. For ReLU, $\beta = 1$ on a live neuron, so the neural cost
# changes exactly the edges that touch a dead neuron. On the live edges *distribution
# only* equals *full*, and on the dead edges the neural cost gives $D = \infty$ and
# the Def. 8 values 1 and 2, where the variants without it find mostly negative
# curvature. The neural distribution moves mass onto the most active neighbours. It
# changes the live edges' values by up to the maximum printed above (*cost only*
# and *baseline* against *full*). Without the neural cost, most edges are negatively
# curved and the mean curvature is negative (table above); the weighted graph alone
# looks like a web of bottlenecks, also where the network sends nothing through.
#
# The idleness plot confirms the definition the engine implements. On $[1/2, 1)$ the
# complete $\alpha$-lazy LP gives $\kappa_\alpha/(1-\alpha)$ equal to the engine's value,
# for every edge, to machine precision: the limit $\alpha\to 1$ is already reached at
# $\alpha = 1/2$ (contract §6). Below $1/2$ some edges depart (their count is printed
# above). There the mass $1-\alpha$ on $u$'s neighbours exceeds the mass $\alpha$ that $v$
# keeps, so the optimal plan cannot send all of it to $v$, and the identity
# $W = \alpha D + (1-\alpha) R$ fails. Edges of the first and last layer are flat for
# every $\alpha$: one side is a point mass, and then $W$ is linear in $\alpha$.

# %%
assert dev_upper < 1e-6 and dev_all < 1e-6
assert len(lines.get_segments()) == len(edges) == sum(int((w != 0).sum()) for w in weights)
assert np.abs(curves[2:, :] - kappa[picked[2:]][:, None]).max() < 1e-6   # point-mass sides: flat
assert set(table.index) == set(variants)
if convention == "paper":   # D = w on live edges, D = inf exactly on the others
    assert gap["distribution only"][live].max() < 1e-9
    assert table.loc["full", "edges at exactly 1 or 2"] == touch_dead
    assert table.loc["cost only", "edges at exactly 1 or 2"] == touch_dead
if (seed, convention) == (1, "paper"):
    assert abs(curves[1, 0] - kappa[picked[1]]) > 1e-3   # departs below 1/2
    assert table.loc["baseline", "negative share"] > table.loc["full", "negative share"]
