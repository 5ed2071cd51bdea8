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
