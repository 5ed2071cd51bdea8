"""Independent reference for the neural curvature: the full alpha-lazy LP.

Nothing here is shared with ``ncurv_lib.curvature``. The neural graph is built
with explicit loops (neuron list, edge list) from the modules, node values come
from forward hooks on the model itself (eval mode, float64), ground distances
are Dijkstra shortest paths on the whole graph (``scipy.sparse.csgraph``) with
the edge under study re-weighted, and the transport is ``ot.emd2`` between the
complete lazy measures

    m_u = alpha * delta_u + (1 - alpha) * mu_u,   m_v = alpha * delta_v + (1 - alpha) * nu_v,

giving kappa_alpha / (1 - alpha) = (1 - W / D) / (1 - alpha). Only for tiny nets.
"""
import copy

import numpy as np
import ot
import torch
import torch.nn as nn
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.special import softmax


def _leaf_modules(model):
    out = []
    for child in model.children():
        if isinstance(child, nn.Sequential):
            out.extend(_leaf_modules(child))
        else:
            out.append(child)
    return out


def _hooked_values(model, x):
    """Per weighted module: (weight, module, z, value) of each example; plus input and output."""
    model = copy.deepcopy(model).double().eval()
    leaves = _leaf_modules(model)
    seen = {}
    hooks = [m.register_forward_hook(lambda mod, i, o, k=k: seen.__setitem__(k, o.detach()))
             for k, m in enumerate(leaves)]
    with torch.no_grad():
        final = model(x.double())
    for h in hooks:
        h.remove()
    groups = []
    for k, m in enumerate(leaves):
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            groups.append({"module": m, "z": seen[k], "value": seen[k], "act": None})
        elif groups and isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            groups[-1]["z"] = groups[-1]["value"] = seen[k]
        elif groups and isinstance(m, (nn.ReLU, nn.Tanh)):
            groups[-1]["value"] = seen[k]
            groups[-1]["act"] = "relu" if isinstance(m, nn.ReLU) else "tanh"
    groups[-1]["value"] = final
    return groups


class NeuralGraph:
    """Explicit neurons and edges of a small model on a batch of examples."""

    def __init__(self, model, x):
        self.groups = _hooked_values(model, x)
        n = x.shape[0]
        self.act = next((g["act"] for g in self.groups if g["act"]), "relu")
        values = [x.double().reshape(n, -1).numpy()] + [g["value"].reshape(n, -1).numpy()
                                                       for g in self.groups]
        self.values = values
        self.offsets = np.cumsum([0] + [v.shape[1] for v in values])
        self.layer_of = np.repeat(np.arange(len(values)), [v.shape[1] for v in values])
        self.num_layers = len(values)
        betas = [np.ones_like(values[0])]
        for k, g in enumerate(self.groups):
            z = g["z"].reshape(n, -1).numpy()
            if k == len(self.groups) - 1:
                betas.append(np.ones_like(z))
            elif g["act"] == "relu":
                betas.append((z > 0).astype(float))
            else:
                with np.errstate(invalid="ignore", divide="ignore"):
                    b = np.tanh(z) / z
                betas.append(np.where(z == 0, 1.0, b))
        self.beta = np.concatenate(betas, axis=1)
        self.x_act = np.concatenate([self._activity(v) for v in values], axis=1)
        self.edges = self._edges(x)   # list of (u, v, weight, key, index tuple)

    @staticmethod
    def _activity(v):
        a = np.abs(v)
        lo, hi = a.min(axis=1, keepdims=True), a.max(axis=1, keepdims=True)
        span = hi - lo
        return np.where(span > 0, (a - lo) / np.where(span > 0, span, 1.0), 0.0)

    def _edges(self, x):
        edges, shape = [], tuple(x.shape[1:])
        for k, g in enumerate(self.groups):
            m, w = g["module"], g["module"].weight.detach().double().numpy()
            key = f"{k}"
            o_in, o_out = self.offsets[k], self.offsets[k + 1]
            if isinstance(m, nn.Linear):
                for j in range(w.shape[0]):
                    for i in range(w.shape[1]):
                        if w[j, i] != 0:
                            edges.append((o_in + i, o_out + j, w[j, i], key, (j, i)))
                shape = (w.shape[0],)
                continue
            ci, h, wd = shape
            co, _, kh, kw = w.shape
            ho, wo = g["value"].shape[2], g["value"].shape[3]
            for oc in range(co):
                for ic in range(ci):
                    for a in range(kh):
                        for b in range(kw):
                            if w[oc, ic, a, b] == 0:
                                continue
                            for oy in range(ho):
                                iy = oy * m.stride[0] - m.padding[0] + a * m.dilation[0]
                                if not 0 <= iy < h:
                                    continue
                                for ox in range(wo):
                                    ix = ox * m.stride[1] - m.padding[1] + b * m.dilation[1]
                                    if 0 <= ix < wd:
                                        u = o_in + (ic * h + iy) * wd + ix
                                        v = o_out + (oc * ho + oy) * wo + ox
                                        edges.append((u, v, w[oc, ic, a, b], key,
                                                      (oc, ic, a, b, oy, ox)))
            shape = (co, ho, wo)
        return edges


def _masses(graph, nbrs, n, convention, neural):
    """Neighbour distribution as {node: mass}; {} means a point mass."""
    if not nbrs:
        return {}
    nodes = np.array([q for q, _ in nbrs])
    if not neural:
        w = np.array([abs(wt) for _, wt in nbrs])
        return dict(zip(nodes.tolist(), (w / w.sum()).tolist()))
    xk = graph.x_act[n, nodes]
    on = xk > 0
    if not on.any():
        return {}
    if convention == "paper":
        p = softmax(-1.0 / xk[on] ** 2)
        return dict(zip(nodes[on].tolist(), p.tolist()))
    e = torch.exp(-(1.0 / torch.tensor(xk[on], dtype=torch.float32)) ** 2).double().numpy()
    if e.sum() <= 1e-7:
        e = np.ones_like(e)
    return dict(zip(nodes[on].tolist(), (e / e.sum()).tolist()))


def reference_curvature(model, x, convention="paper", neural_distribution=True,
                        neural_cost=True, alphas=(0.9, 0.5)):
    """Edge curvature of every edge and example by the full lazy LP.

    Returns
    -------
    list of dict(key=layer index str, index=weight/edge index tuple, n=example,
    values={alpha: kappa_alpha / (1 - alpha)}).
    """
    g = NeuralGraph(model, x)
    n_nodes, last = g.offsets[-1], g.num_layers - 1
    rows = [e[0] for e in g.edges]
    cols = [e[1] for e in g.edges]
    lens = np.array([1.0 / abs(e[2]) for e in g.edges])
    ins = {v: [] for v in range(n_nodes)}
    outs = {u: [] for u in range(n_nodes)}
    for u, v, wt, _, _ in g.edges:
        ins[v].append((u, wt))
        outs[u].append((v, wt))
    results = []
    for n in range(x.shape[0]):
        for pos, (u, v, wt, key, index) in enumerate(g.edges):
            lu, lv = g.layer_of[u], g.layer_of[v]
            w = 1.0 / abs(wt)
            bu, bv = g.beta[n, u], g.beta[n, v]
            hidden_u, hidden_v = lu > 0, lv < last
            if not neural_cost:
                d = w
            elif convention == "paper":
                den = min(bu, bv) if g.act == "relu" else bv
                d = w / den if den > 0 else np.inf
            elif g.act == "relu":
                d = w
            else:
                d = w / (min(bu, bv) if (hidden_u and hidden_v) else bv)
            border = lu == 0 or lv == last
            if convention == "paper" and not np.isfinite(d):
                results.append(dict(key=key, index=index, n=n,
                                    values={a: 1.0 if border else 2.0 for a in alphas}))
                continue
            if (convention == "authors" and g.act == "relu" and neural_cost
                    and ((hidden_v and g.x_act[n, v] == 0) or (hidden_u and g.x_act[n, u] == 0))):
                raw = {a: 1.0 for a in alphas}
            else:
                mu = _masses(g, ins[u], n, convention, neural_distribution) if hidden_u else {}
                nu = _masses(g, outs[v], n, convention, neural_distribution) if hidden_v else {}
                data = lens.copy()
                if convention == "paper":
                    data[pos] = d
                graph = csr_matrix((data, (rows, cols)), shape=(n_nodes, n_nodes))
                src = [u] + list(mu)
                dist = dijkstra(graph, directed=True, indices=src)
                tgt = [v] + list(nu)
                cost = dist[:, tgt]
                cost[0, 0] = d
                big = 10.0 * (cost[np.isfinite(cost)].max() + d)
                cost = np.where(np.isfinite(cost), cost, big)
                raw = {}
                for a in alphas:
                    ma = np.array([1.0] if not mu else [a] + [(1 - a) * m for m in mu.values()])
                    mb = np.array([1.0] if not nu else [a] + [(1 - a) * m for m in nu.values()])
                    ma, mb = ma / ma.sum(), mb / mb.sum()
                    wdist = ot.emd2(ma, mb, cost - cost.min(), numItermax=10_000_000) + cost.min()
                    raw[a] = (1.0 - wdist / d) / (1.0 - a)
            if convention == "authors" and g.act == "relu" and neural_cost and hidden_u and hidden_v:
                raw = {a: (2.0 if abs(k - 1.0) <= 1e-6 else k) for a, k in raw.items()}
            results.append(dict(key=key, index=index, n=n, values=raw))
    return results


def orc_plain(adj, x, y, alpha=0.0):
    """Ollivier-Ricci curvature of edge (x, y) of an unweighted undirected graph.

    m_z = alpha * delta_z + (1 - alpha) * uniform(neighbours of z); distances are
    hop counts (Floyd-Warshall); kappa = 1 - W1(m_x, m_y) / d(x, y).
    """
    adj = np.asarray(adj, dtype=float)
    n = len(adj)
    d = np.where(adj > 0, 1.0, np.inf)
    np.fill_diagonal(d, 0.0)
    for k in range(n):
        d = np.minimum(d, d[:, [k]] + d[[k], :])

    def m(z):
        nb = np.nonzero(adj[z])[0]
        out = np.zeros(n)
        out[nb] = (1 - alpha) / len(nb)
        out[z] += alpha
        return out
    return 1.0 - ot.emd2(m(x), m(y), d) / d[x, y]


# ---------------------------------------------------------------- small test networks
def randomise_norm(m, gen):
    """Give a BatchNorm non-trivial running statistics and affine parameters."""
    c = m.num_features
    with torch.no_grad():
        m.running_mean.copy_(torch.randn(c, generator=gen) * 0.3)
        m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
        m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
        m.bias.copy_(torch.randn(c, generator=gen) * 0.2)
    return m


def tiny_mlp(act="relu", seed=0):
    """4-5-6-3 MLP (float32) with one zero weight, and 3 inputs."""
    torch.manual_seed(seed)
    a = nn.ReLU if act == "relu" else nn.Tanh
    model = nn.Sequential(nn.Linear(4, 5), a(), nn.Linear(5, 6), a(), nn.Linear(6, 3))
    with torch.no_grad():
        model[2].weight[1, 2] = 0.0
    return model.eval(), torch.randn(3, 4)


def wide_tanh(seed):
    """8-12-10-9-4 Tanh MLP (float64), every node active: wide supports, and 4 inputs."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 12), nn.Tanh(), nn.Linear(12, 10), nn.Tanh(),
                          nn.Linear(10, 9), nn.Tanh(), nn.Linear(9, 4)).double().eval()
    return model, torch.randn(4, 8, dtype=torch.float64)


def tiny_cnn(act="relu", seed=1):
    """Conv (stride 2, padding) + BN -> conv (dilation, padding) -> Linear + BN -> Linear -> Softmax.

    Nested Sequential, Dropout, Identity and Flatten included; two zero weights.
    """
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    a = nn.ReLU if act == "relu" else nn.Tanh
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, stride=2, padding=1), randomise_norm(nn.BatchNorm2d(3), gen), a(),
        nn.Sequential(nn.Conv2d(3, 2, 2, padding=1, dilation=2), a()),
        nn.Dropout(0.3), nn.Flatten(),
        nn.Linear(2 * 2 * 2, 4), randomise_norm(nn.BatchNorm1d(4), gen), a(), nn.Identity(),
        nn.Linear(4, 3), nn.Softmax(dim=1)).double().eval()
    with torch.no_grad():
        model[0].weight[0, 1, 1, 1] = 0.0
        model[6].weight[1, :3] = 0.0
    return model, torch.randn(2, 2, 4, 4, generator=gen, dtype=torch.float64)


def tiny_conv_chain(act="relu", seed=2):
    """Four convs -> Linear -> Linear for the translation-invariant path tables:
    conv2 is padded (dense two-hop into it, conv three-hop fallback after it),
    conv3 and conv4 are not (offset tables for two and three hops, a padded and
    strided first layer among them); conv4 -> Linear is dense. One zero weight."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    a = nn.ReLU if act == "relu" else nn.Tanh
    model = nn.Sequential(
        nn.Conv2d(1, 2, 2, padding=1), a(),                                      # 5x5 -> 6x6
        nn.Conv2d(2, 2, 2, stride=2, padding=1), randomise_norm(nn.BatchNorm2d(2), gen), a(),  # 4x4
        nn.Conv2d(2, 2, 2), a(),                                                 # -> 3x3
        nn.Conv2d(2, 3, 2, dilation=2), a(),                                     # -> 1x1
        nn.Flatten(), nn.Linear(3, 3), a(), nn.Linear(3, 2)).double().eval()
    with torch.no_grad():
        model[2].weight[1, 0, 0, 1] = 0.0
    return model, torch.randn(2, 1, 5, 5, generator=gen, dtype=torch.float64)
