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
# # Ollivier-Ricci curvature in one picture
#
# *Reproduces the paper's Fig. 1.* Ollivier-Ricci curvature (ORC) compares how far
# apart two nodes are with how far apart their neighbourhoods are:
#
# $$\kappa_\alpha(u,v) = 1 - \frac{W_1(m_u^\alpha, m_v^\alpha)}{d(u,v)}, \qquad
#   m_u^\alpha = \alpha\,\delta_u + (1-\alpha)\,\frac{1}{\deg u}\sum_{w \sim u}\delta_w ,$$
#
# where $W_1$ is the earth mover's distance under the shortest-path metric $d$.
# Edges inside a dense cluster have positive curvature (the neighbourhoods overlap);
# an edge that is the only route between two clusters -- a *bridge* -- has negative
# curvature (its neighbourhoods are far apart). **The paper's claim:** two cliques
# joined by a bridge, unit weights and $\alpha = 0$: the bridge has curvature
# $-0.933$. The neural curvature of the later chapters carries this idea to the
# graph a network induces on one input.

# %% tags=["parameters"]
scale = "smoke"
n1 = 3          # size of the left clique
n2 = 5          # size of the right clique
alpha = 0.0     # idleness of the random walk

# %%
import numpy as np
import matplotlib.pyplot as plt

from ncurv_lib import orc, plotting

plotting.use_style()
print(f"executed at scale={scale!r}")

# %%
adj = orc.two_cliques(n1, n2)
kappa = orc.ollivier_ricci(adj, alpha=alpha)
bridge = (n1 - 1, n1)

# %%
# NBVAL_CHECK_OUTPUT
print(f"bridge {bridge}: curvature {kappa[bridge]:.4f}")
for edge, value in sorted(kappa.items()):
    if edge != bridge:
        print(f"edge {edge}: curvature {value:.4f}")

# %% [markdown]
# The graph, edges coloured by their curvature (red: negative, blue: positive).

# %%
angles1 = 2 * np.pi * (np.arange(n1) - (n1 - 1)) / n1      # bridge end on the right
angles2 = np.pi + 2 * np.pi * np.arange(n2) / n2            # bridge end on the left
pos = np.vstack([np.c_[np.cos(angles1) - 2.2, np.sin(angles1)],
                 np.c_[np.cos(angles2) + 2.2, np.sin(angles2)]])
fig, ax = plt.subplots(figsize=(7, 3.2))
plotting.draw_graph(ax, pos, list(kappa), list(kappa.values()))
ax.set_title(f"Two cliques K{n1}, K{n2} joined by a bridge ($\\alpha$ = {alpha})");

# %% [markdown]
# **Idleness.** With $\alpha > 0$ each walk stays put with probability $\alpha$;
# $\kappa_\alpha$ shrinks linearly and $\kappa_\alpha/(1-\alpha)$ tends to the
# Lin-Lu-Yau curvature as $\alpha \to 1$. The neural curvature is defined through
# this limit.

# %%
alphas = np.linspace(0, 0.95, 20)
k_bridge = np.array([orc.ollivier_ricci(adj, alpha=a)[bridge] for a in alphas])
fig, ax = plt.subplots()
ax.plot(alphas, k_bridge, "o-", label=r"$\kappa_\alpha$")
ax.plot(alphas, k_bridge / (1 - alphas), "s-", label=r"$\kappa_\alpha/(1-\alpha)$")
ax.set_xlabel(r"idleness $\alpha$")
ax.set_ylabel("bridge curvature")
ax.legend();

# %%
# NBVAL_CHECK_OUTPUT
print(f"kappa_alpha/(1-alpha) at alpha=0.5: {k_bridge[alphas >= 0.5][0] / (1 - alphas[alphas >= 0.5][0]):.4f}")

# %% [markdown]
# **What this run shows.** The bridge is the only negatively curved edge, and its
# value matches the paper's $-0.933$ exactly ($-14/15$).

# %%
if (n1, n2, alpha) == (3, 5, 0.0):
    assert abs(kappa[bridge] - (-14 / 15)) < 1e-9
assert kappa[bridge] < 0 and all(v > 0 for e, v in kappa.items() if e != bridge)
