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
# # Conservation laws and a disconnected learning space
#
# *Part II, after the companion paper "Topology and geometry of the learning space of
# ReLU networks: connectivity and singularities" (Nurisso, Leroy, Petri, Vaccarino;
# its Fig. 2d).* For a ReLU network on a DAG, gradient flow conserves the balance of
# every hidden neuron,
#
# $$c_v = \sum_{e \to v} \theta_e^2 - \sum_{v \to e} \theta_e^2, \qquad
#   c = \tilde B\,\theta^{2},$$
#
# so training never leaves the invariant set $H_G(c) = \{\theta : \tilde B\theta^2 = c\}$.
# When $H_G(c)$ is disconnected, some weight can never change sign. Theorem 1 says
# which: an out-bottleneck $u$ (a neuron with a single out-edge) freezes the sign of
# that edge as soon as some set $S$ of its pure ancestors that is stable by forward
# edges has $\sum_{v \in S} c_v < 0$.
#
# The toy DAG below has inputs 0, 1, hidden neurons 2, 3, 4 and output 5; neuron 4
# is an out-bottleneck with pure ancestors $\{2, 3, 4\}$. The target
# $f(x_1, x_2) = -(x_1 + x_2)$ on $[0, 1]^2$ needs a **negative** output weight
# $\theta_{45}$; we start every run with all weights positive and vary only
# $\theta_{45}$. The theorem gives a threshold $a^*$ (``sign_flip_threshold``):
# the sign can flip iff $\theta_{45} \le a^*$. Above it the output stays
# non-negative, so the loss can never go below $\mathbb{E}[y^2]$.

# %% tags=["parameters"]
scale = "smoke"
seed = 0
lr = 0.02

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from ncurv_lib import dag, plotting

plotting.use_style()
# cpu: about 80 s on this project's 2-core machine (measured)
runs, epochs, n_points = {"smoke": (40, 800, 100), "cpu": (1000, 5000, 200), "paper": (2000, 10000, 500)}[scale]
print(f"executed at scale={scale!r}: {runs} runs, {epochs} full-batch epochs, lr={lr}")

# %%
G = dag.toy_bottleneck_dag()
out_edge = G.num_edges - 1
x = dag.uniform_square(n_points, seed=seed)
y = -x.sum(1)
floor = float((y ** 2).mean())  # loss of any network whose output is >= 0
print("edges:", G.edges)
print("in-bottlenecks:", dag.in_bottlenecks(G), " out-bottlenecks:", dag.out_bottlenecks(G))
print("pure ancestors of 4:", dag.pure_ancestors(G, 4))

# %% [markdown]
# ## Two initialisations that differ only in the output weight
#
# Same positive weights everywhere; the output weight is half (inside) or 1.5 times
# (outside) the threshold $a^*$.

# %%
base = dag.positive_init(G, runs=1, seed=seed)[0]
a_star = dag.sign_flip_threshold(G, base.numpy(), out_edge)
pair = base.repeat(2, 1)
pair[:, out_edge] = torch.tensor([0.5 * a_star, 1.5 * a_star], dtype=pair.dtype)
res_pair = dag.train_dag(G, pair, x, y, lr=lr, epochs=epochs, record_every=max(1, epochs // 100),
                         threads=1, seed=seed)

# %%
# NBVAL_CHECK_OUTPUT
print(f"threshold a* = {a_star:.3f}; loss floor for non-negative outputs E[y^2] = {floor:.3f}")
for r, name in enumerate(["0.5 a*", "1.5 a*"]):
    c0 = dag.balances(G, pair[r])
    frozen = sorted({v.edge for v in dag.balance_violations(G, c0)})
    print(f"theta_45 = {name}: H_G(c) connected = {dag.invariant_set_connected(G, c0)}, "
          f"frozen-sign edges = {frozen}, output sign can flip = {out_edge not in frozen}, "
          f"final loss = {res_pair['loss'][-1, r]:.3f}")

# %%
fig, ax = plt.subplots()
for r, name in enumerate([r"$\theta_{45} = 0.5\,a^*$ (connected)", r"$\theta_{45} = 1.5\,a^*$ (disconnected)"]):
    ax.semilogy(res_pair["epoch"], res_pair["loss"][:, r], label=name)
ax.axhline(floor, color="gray", ls=":", label=r"$\mathbb{E}[y^2]$")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss (MSE)")
ax.legend();

# %% [markdown]
# ## Many initialisations: the threshold is sharp
#
# Every run draws new positive weights and sets $\theta_{45} = \rho\, a^*$ with
# $\rho$ from 0.2 to 2. Runs are trained together (one weight tensor of shape
# (runs, edges)). The balances drift only through the discretisation: one step
# moves $c$ by exactly $\mathrm{lr}^2 \tilde B (\nabla L)^2$.

# %%
theta0 = dag.positive_init(G, runs=runs, seed=seed + 1)
thresholds = np.array([dag.sign_flip_threshold(G, t, out_edge) for t in theta0.numpy()])
rho = np.linspace(0.2, 2.0, runs)
theta0[:, out_edge] = torch.from_numpy(rho * thresholds)
can_flip = np.array([out_edge not in {v.edge for v in dag.balance_violations(G, dag.balances(G, t))}
                     for t in theta0.numpy()])
res = dag.train_dag(G, theta0, x, y, lr=lr, epochs=epochs, record_every=max(1, epochs // 20), threads=1, seed=seed)
final = res["loss"][-1]
drift = np.abs(res["c"][-1] - res["c"][0]).max(-1)
learned = final < 0.05 * floor
far = np.abs(rho - 1) > 1e-6  # at rho = 1 exactly, rounding decides

# %%
# NBVAL_CHECK_OUTPUT
print(f"runs whose output sign can flip (Theorem 1): {can_flip.sum()} / {runs}")
print(f"  of these, learned (loss < 5% of E[y^2]): {learned[can_flip].sum()}")
print(f"runs with a frozen sign: {(~can_flip).sum()}, learned: {learned[~can_flip].sum()}, "
      f"stuck at E[y^2] (within 1%, SGD is not exact gradient flow): "
      f"{(final[~can_flip] >= 0.99 * floor).sum()}")
print(f"theorem agrees with rho <= 1: {bool(np.array_equal(can_flip[far], rho[far] <= 1))}")

# %%
print(f"median balance drift over training: {np.median(drift):.2e} (max {drift.max():.2e})")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].scatter(rho[can_flip], final[can_flip], s=14, label="sign can flip")
axes[0].scatter(rho[~can_flip], final[~can_flip], s=14, label="sign frozen")
axes[0].axvline(1.0, color="gray", ls="--")
axes[0].axhline(floor, color="gray", ls=":")
axes[0].set_yscale("symlog", linthresh=1e-3)
axes[0].set_xlabel(r"$\theta_{45} / a^*$ at initialisation")
axes[0].set_ylabel("final training loss")
axes[0].legend()
axes[1].scatter(np.abs(theta0.numpy()).max(1), drift, s=14)
axes[1].set_xscale("log")
axes[1].set_yscale("log")
axes[1].set_xlabel(r"$\max_e |\theta_e|$ at initialisation")
axes[1].set_ylabel(r"$\max_v |c_v(T) - c_v(0)|$")
axes[1].set_title(f"balance drift, lr = {lr}");

# %% [markdown]
# **What this run shows.** Theorem 1's prediction splits the runs exactly at
# $\rho = 1$. Runs whose output sign is frozen stay at $\mathbb{E}[y^2]$ (their
# output is $\ge 0$); most runs below the threshold learn the target, a few near
# $\rho \approx 1$ are still slow (the theorem allows the sign flip, it does not
# promise gradient descent takes it). The balances move only by the
# $O(\mathrm{lr}^2)$ per-step discretisation error -- but over thousands of steps
# that error can add up: at the `cpu` scale (1000 runs, 5000 epochs) one frozen run
# of 555 drifted far enough to escape and learn. The theorem is about gradient
# flow; gradient descent with a finite step obeys it only approximately.

# %%
assert np.array_equal(can_flip[far], rho[far] <= 1)
# Theorem 1 is about gradient flow; a discrete step can (rarely) break conservation enough
# to escape: at cpu scale 1 run of 555 frozen ones did (lr 0.02, 5000 epochs).
assert (final[~can_flip] >= 0.99 * floor).mean() >= 0.99
assert learned[can_flip].mean() > 0.6
assert res_pair["loss"][-1, 0] < 0.05 * floor and res_pair["loss"][-1, 1] >= 0.99 * floor
