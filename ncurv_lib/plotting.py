"""One figure style for the whole book.

Notebooks call :func:`use_style` once and take colours from :data:`METHOD_COLORS`;
they never set styles themselves. Figures live in the executed notebooks; for a
stand-alone copy :func:`savefig` writes ``<cache_root>/figures/<name>.png``.
"""
import matplotlib as mpl

import numpy as np

from .paths import cache_root

METHOD_COLORS = {
    "curvature": "#c0392b",
    "curvature (positive-first)": "#c0392b",
    "curvature (negative-first)": "#2c7fb8",
    "magnitude": "#4d4d4d",
    "snip": "#e69f00",
    "synflow": "#009e73",
    "random": "#999999",
}
CURVATURE_CMAP = "coolwarm_r"  # negative curvature red, positive blue


def use_style():
    """Seaborn 'ticks' theme with the book's font sizes and a colour-blind palette."""
    import seaborn as sns
    sns.set_theme(context="notebook", style="ticks", palette="colorblind")
    mpl.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight",
                         "axes.spines.top": False, "axes.spines.right": False,
                         "legend.frameon": False, "figure.figsize": (6.4, 4.0)})


def savefig(fig, name: str):
    """Save ``fig`` as ``<cache_root>/figures/<name>.png`` and return the path."""
    if not name or "/" in name:
        raise ValueError(f"figure name must be a plain file stem, got {name!r}")
    out = cache_root() / "figures" / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def draw_graph(ax, pos, edges, values, cmap=CURVATURE_CMAP, vlim=None, labels=True):
    """Draw a graph with straight edges coloured by ``values`` and a colour bar.

    Parameters
    ----------
    ax : matplotlib Axes
    pos : array_like, shape (n_nodes, 2)
        Node positions.
    edges : sequence of (u, v)
    values : sequence of float, one per edge
    vlim : float, optional
        Colour scale is symmetric, ``[-vlim, vlim]`` (default: max |value|).
    """
    from matplotlib.collections import LineCollection
    pos = np.asarray(pos, dtype=float)
    values = np.asarray(values, dtype=float)
    vlim = vlim or float(np.nanmax(np.abs(values))) or 1.0
    norm = mpl.colors.Normalize(-vlim, vlim)
    segs = [(pos[u], pos[v]) for u, v in edges]
    lines = LineCollection(segs, cmap=cmap, norm=norm, linewidths=3, zorder=1)
    lines.set_array(values)
    ax.add_collection(lines)
    ax.scatter(pos[:, 0], pos[:, 1], s=260, c="white", edgecolors="black", zorder=2)
    if labels:
        for i, (x, y) in enumerate(pos):
            ax.text(x, y, str(i), ha="center", va="center", fontsize=9, zorder=3)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.figure.colorbar(lines, ax=ax, shrink=0.8, label="curvature")
    return lines


def _linear_weights(model):
    """(key, weight (out, in) float64 ndarray) of every Linear, in order; rejects others."""
    import torch.nn as nn
    out = []
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Conv2d):
            raise ValueError(f"draw_neural_graph draws Linear layers only; {name!r} is a Conv2d")
        if isinstance(mod, nn.Linear):
            out.append((f"{name}.weight", mod.weight.detach().double().numpy()))
    if not out:
        raise ValueError("the model has no Linear layer")
    return out


def neural_graph_layout(sizes):
    """Node positions of a layered graph: layer l at x = l, its nodes at unit spacing,
    centred at y = 0, the first node on top. Returns one (n_l, 2) array per layer.

    >>> [p[:, 1].tolist() for p in neural_graph_layout([2, 1])]
    [[0.5, -0.5], [0.0]]
    """
    return [np.c_[np.full(n, float(l)), (n - 1) / 2 - np.arange(n, dtype=float)]
            for l, n in enumerate(sizes)]


def draw_neural_graph(model, kappa, ax, example=0, vlim=None, colorbar=True, width_by_weight=True,
                      labels=True, inactive=None):
    """Draw an MLP's neural graph: one line per non-zero weight, coloured by curvature.

    Parameters
    ----------
    model : torch.nn.Sequential
        Linear layers (any activations in between); input neurons on the left.
    kappa : dict[str, tensor or ndarray]
        :func:`ncurv_lib.edge_curvature` output, ``key -> (N, out, in)``.
    ax : matplotlib Axes
    example : int
        Which example of ``kappa`` to draw.
    vlim : float, optional
        Symmetric colour range ``[-vlim, vlim]`` of the diverging :data:`CURVATURE_CMAP`
        (centred at 0); default: max |curvature| drawn.
    colorbar : bool
    width_by_weight : bool
        Line width grows with |W| (else constant).
    labels : bool
        Write each neuron's index (within its layer) on its node.
    inactive : sequence of bool arrays, optional
        One per node layer (input first); True nodes are filled grey (e.g. dead ReLUs).

    Returns
    -------
    matplotlib.collections.LineCollection
        One segment per non-zero weight, its array the edge curvatures.
    """
    from matplotlib.collections import LineCollection
    layers = _linear_weights(model)
    pos = neural_graph_layout([layers[0][1].shape[1]] + [w.shape[0] for _, w in layers])
    segs, vals, mags = [], [], []
    for l, (key, w) in enumerate(layers):
        k = np.asarray(kappa[key][example], dtype=float)
        j, i = np.nonzero(w)
        segs += [(pos[l][a], pos[l + 1][b]) for a, b in zip(i, j)]
        vals.append(k[j, i])
        mags.append(np.abs(w[j, i]))
    vals, mags = np.concatenate(vals), np.concatenate(mags)
    vlim = vlim or float(np.nanmax(np.abs(vals))) or 1.0
    lw = 0.6 + 2.4 * mags / mags.max() if width_by_weight else 1.5
    lines = LineCollection(segs, cmap=CURVATURE_CMAP, norm=mpl.colors.Normalize(-vlim, vlim),
                           linewidths=lw, zorder=1)
    lines.set_array(vals)
    ax.add_collection(lines)
    nodes = np.vstack(pos)
    grey = (np.zeros(len(nodes), bool) if inactive is None
            else np.concatenate([np.asarray(a, bool).reshape(-1) for a in inactive]))
    if grey.size != len(nodes):
        raise ValueError(f"inactive has {grey.size} entries for {len(nodes)} neurons")
    ax.scatter(nodes[:, 0], nodes[:, 1], s=200, c=np.where(grey, "0.7", "white"),
               edgecolors="black", zorder=2)
    if labels:
        for p in pos:
            for i, (px, py) in enumerate(p):
                ax.text(px, py, str(i), ha="center", va="center", fontsize=7, zorder=3)
    ax.set_xticks(range(len(pos)), ["input"] + [f"layer {l}" for l in range(1, len(pos))])
    ax.set_yticks([])
    ax.spines[["left", "bottom"]].set_visible(False)
    ax.tick_params(length=0)
    ax.margins(0.08)
    if colorbar:
        ax.figure.colorbar(lines, ax=ax, shrink=0.8, label="edge curvature")
    return lines
