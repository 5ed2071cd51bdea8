"""ReLU networks on a DAG, evaluated and trained for many independent runs at once.

Node :math:`v` computes :math:`h_v = \\sigma(\\sum_{(u,v) \\in E} \\theta_{uv} h_u)` with
:math:`\\sigma = \\mathrm{ReLU}` on hidden nodes and the identity on outputs; inputs
read the data, bias inputs the constant 1. Weights of ``R`` runs are one tensor of
shape (R, E); the loss of the batch of runs is the sum of the runs' losses, so one
backward pass gives every run its own gradient.
"""
from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from .graph import DAG
from .incidence import incidence_matrix
from .singular import neuron_edge_mask, nuclear_norm, singular_values

__all__ = ["DagNet", "init_theta", "run_losses", "regulariser", "train_dag", "pruning_curve"]

LOSSES = ("mse", "bce")
REGULARISERS = ("none", "l1", "l2", "nuclear")


class DagNet:
    """Forward pass of the ReLU network of ``G`` (vectorised over runs).

    Nodes are evaluated level by level (longest-path depth). A level's
    pre-activations are a sum over the earlier levels it reads from, each one
    batched matrix product with the weights scattered into a dense block over
    the source columns actually used.

    Examples
    --------
    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> net = DagNet(G)
    >>> net(torch.tensor([1.0, 1.0, 2.0]), torch.tensor([[1.0, 2.0], [-3.0, 1.0]]))
    tensor([[6.],
            [0.]])
    """

    def __init__(self, G: DAG):
        self.G = G
        level = G.levels
        n_levels = int(level.max(initial=0)) + 1
        members = [[v for v, lv in zip(G.nodes, level) if lv == d] for d in range(n_levels)]
        where = {v: (d, i) for d, vs in enumerate(members) for i, v in enumerate(vs)}
        data, bias = list(G.data_inputs), set(G.bias_inputs)
        self.n_data = len(data)
        # level-0 node -> column of [x, 1, 0] (outputs without in-edges read 0)
        self.src0 = torch.tensor([data.index(v) if v in data else self.n_data + (v not in bias)
                                  for v in members[0]], dtype=torch.long)
        self.out_where = [where[v] for v in G.outputs]
        ea = G.edge_array
        head = np.array([where[int(v)] for v in ea[:, 1]], dtype=np.int64).reshape(-1, 2)
        tail = np.array([where[int(u)] for u in ea[:, 0]], dtype=np.int64).reshape(-1, 2)
        outputs = set(G.outputs)
        self.blocks = []
        for d in range(1, n_levels):
            n = len(members[d])
            terms = []
            for src in range(d):
                eids = np.nonzero((head[:, 0] == d) & (tail[:, 0] == src))[0]
                if eids.size == 0:
                    continue
                used, local = np.unique(tail[eids, 1], return_inverse=True)
                cols = None if used.size == len(members[src]) else torch.from_numpy(used)
                flat = torch.from_numpy(head[eids, 1] * used.size + local)
                terms.append((src, cols, torch.from_numpy(eids), flat, int(used.size)))
            relu = torch.tensor([v not in outputs for v in members[d]])
            self.blocks.append((n, relu, terms))

    def __call__(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Outputs of shape (R, B, |outputs|) for theta (R, E), or (B, |outputs|) for theta (E,).

        ``x`` has shape (B, n_data) (shared by all runs) or (R, B, n_data).
        """
        theta = torch.as_tensor(theta)
        single = theta.dim() == 1
        theta = theta.reshape(-1, self.G.num_edges)
        R = theta.shape[0]
        x = torch.as_tensor(x).to(theta.dtype)
        if x.shape[-1] != self.n_data:
            raise ValueError(f"x must have {self.n_data} features (data inputs), got shape {tuple(x.shape)}")
        ones = x.new_ones(x.shape[:-1] + (1,))
        h = [torch.cat([x, ones, torch.zeros_like(ones)], -1)[..., self.src0]]
        for n, relu, terms in self.blocks:
            z = 0.0
            for src, cols, eids, flat, m in terms:
                inp = h[src] if cols is None else h[src][..., cols]
                W = theta.new_zeros(R, n * m).index_copy(1, flat, theta[:, eids]).view(R, n, m)
                z = z + inp @ W.transpose(1, 2)  # (B, m) or (R, B, m) -> (R, B, n)
            h.append(torch.where(relu, torch.relu(z), z))
        batch = x.shape[-2]
        cols = [h[d][..., i].expand(R, batch) for d, i in self.out_where]
        out = torch.stack(cols, -1) if cols else theta.new_zeros(R, batch, 0)
        return out[0] if single else out


def init_theta(G: DAG, runs: int = 1, seed: int = 0, gain: float = 2.0, dtype=torch.float64) -> torch.Tensor:
    """He-style initialisation: :math:`\\theta_{uv} \\sim N(0, \\text{gain} / \\deg^-(v))`, shape (runs, E).

    >>> G = DAG(edges=[(0, 2), (1, 2), (2, 3)], inputs=[0, 1], outputs=[3])
    >>> init_theta(G, runs=4, seed=0).shape
    torch.Size([4, 3])
    """
    ea = G.edge_array
    _, inverse, counts = np.unique(ea[:, 1], return_inverse=True, return_counts=True)
    std = torch.as_tensor(np.sqrt(gain / counts[inverse]), dtype=dtype)
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randn(runs, G.num_edges, generator=gen, dtype=dtype) * std


def run_losses(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Per-run mean loss, shape (R,): ``"mse"`` (mean squared error) or ``"bce"`` (logits vs 0/1).

    >>> run_losses(torch.zeros(2, 3, 1), torch.ones(3), "mse")
    tensor([1., 1.])
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    y = torch.as_tensor(y).to(out.dtype).reshape(out.shape[-2], -1).expand_as(out)
    if loss == "mse":
        return ((out - y) ** 2).mean(dim=(-2, -1))
    return torch.nn.functional.binary_cross_entropy_with_logits(out, y, reduction="none").mean(dim=(-2, -1))


def regulariser(G: DAG, theta: torch.Tensor, reg: str, incidence: torch.Tensor | None = None) -> torch.Tensor:
    """Per-run penalty, shape (R,): ``none``, ``l1`` (sum abs), ``l2`` (sum squares), ``nuclear``.

    >>> G = DAG(edges=[(0, 2), (2, 3)], inputs=[0], outputs=[3])
    >>> regulariser(G, torch.tensor([[3.0, -4.0]]), "l1")
    tensor([7.])
    """
    if reg not in REGULARISERS:
        raise ValueError(f"reg must be one of {REGULARISERS}, got {reg!r}")
    if reg == "none":
        return theta.new_zeros(theta.shape[:-1])
    if reg == "l1":
        return theta.abs().sum(-1)
    if reg == "l2":
        return (theta ** 2).sum(-1)
    return nuclear_norm(G, theta, incidence)


def _near_zero(G, theta, tol, incidence):
    h = len(G.hidden)
    if h == 0:
        return np.zeros(theta.shape[0], dtype=np.int64)
    sv = singular_values(G, theta.detach(), incidence)
    return (h - (sv >= tol).sum(-1)).numpy()


def train_dag(G: DAG, theta0, x, y, *, loss="mse", reg="none", lam=0.0, lr=1e-3, lr_final=None, epochs=100,
              batch_size=None, record_every=1, x_test=None, y_test=None, sv_tol=1e-3,
              keep_thetas=False, seed=0, threads=None, progress=None):
    """(Stochastic) gradient descent on R independent runs of the DAG network.

    Each step does :math:`\\theta \\leftarrow \\theta - \\text{lr}\\, \\nabla_\\theta
    (L(\\theta) + \\lambda\\, \\Omega(\\theta))` per run, with :math:`\\Omega` from
    ``regulariser``. Without regulariser, gradient flow conserves
    :math:`c = \\tilde B \\theta^2` and one step moves it by exactly
    :math:`\\text{lr}^2 \\tilde B (\\nabla L)^2`.

    Parameters
    ----------
    theta0 : tensor of shape (R, E)
        Initial weights (copied; dtype kept).
    reg, lam : str or sequence of R str; float or sequence of R floats
        Regulariser (``none``, ``l1``, ``l2``, ``nuclear``) and its weight, shared or per run.
    x, y : tensors of shape (N, n_data) and (N,) or (N, |outputs|)
    lr_final : float or None
        If given, the step size stays ``lr`` for the first three quarters of the
        epochs, then decays geometrically to ``lr_final`` at the last epoch;
        subgradient methods (L1, nuclear norm) then settle
        within :math:`O(\\text{lr}\\,\\lambda)` of their kinks.
    batch_size : int or None
        Mini-batch size (shuffled with ``seed``); None = full batch.
    record_every : int
        Record every this many epochs (and at epoch 0).
    threads : int or None
        Torch intra-op threads during training (restored afterwards); 1 is much
        faster for small networks on a busy machine. None keeps torch's setting.

    Returns
    -------
    dict of numpy arrays: ``epoch`` (K,), ``loss`` (K, R) (unregularised train
    loss), ``test_loss`` (K, R) if test data is given, ``c`` (K, R, |hidden|),
    ``near_zero`` (K, R) (number of singular values of :math:`J` below
    ``sv_tol``), ``theta`` (R, E) final weights, ``thetas`` (K, R, E) if
    ``keep_thetas``.
    """
    R = torch.as_tensor(theta0).reshape(-1, G.num_edges).shape[0]
    regs = (reg,) * R if isinstance(reg, str) else tuple(reg)
    lams = np.broadcast_to(np.asarray(lam, dtype=np.float64), (R,))
    if len(regs) != R or any(r not in REGULARISERS for r in regs):
        raise ValueError(f"reg must be one of {REGULARISERS} or a sequence of them, one per run")
    if (lams < 0).any() or lr <= 0 or epochs < 0 or (lr_final is not None and lr_final <= 0):
        raise ValueError("need lam >= 0, lr > 0, lr_final > 0 and epochs >= 0")
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        return _train(G, theta0, x, y, loss, regs, lams, lr, lr_final, epochs, batch_size, record_every, x_test, y_test,
                      sv_tol, keep_thetas, seed, progress)
    finally:
        torch.set_num_threads(before)


def _train(G, theta0, x, y, loss, regs, lams, lr, lr_final, epochs, batch_size, record_every, x_test, y_test, sv_tol,
           keep_thetas, seed, progress):
    net = DagNet(G)
    theta = torch.as_tensor(theta0).detach().clone().reshape(-1, G.num_edges)
    x = torch.as_tensor(x).to(theta.dtype)
    y = torch.as_tensor(y).to(theta.dtype)
    B = torch.as_tensor(incidence_matrix(G).toarray(), dtype=theta.dtype)
    gen = torch.Generator().manual_seed(int(seed))
    rec = {k: [] for k in ("epoch", "loss", "test_loss", "c", "near_zero", "thetas")}

    def record(ep):
        with torch.no_grad():
            rec["epoch"].append(ep)
            rec["loss"].append(run_losses(net(theta, x), y, loss).numpy())
            if x_test is not None:
                rec["test_loss"].append(run_losses(net(theta, x_test), y_test, loss).numpy())
            rec["c"].append((theta ** 2 @ B.T).numpy())
            rec["near_zero"].append(_near_zero(G, theta, sv_tol, B))
            if keep_thetas:
                rec["thetas"].append(theta.numpy().copy())

    weights = {}
    for kind in sorted(set(regs) - {"none"}):
        rows = np.nonzero(np.array(regs) == kind)[0]
        weights[kind] = (torch.from_numpy(rows), torch.as_tensor(lams[rows], dtype=theta.dtype))
    record(0)
    n = x.shape[0]
    bs = n if batch_size is None else int(batch_size)
    hold = (3 * epochs) // 4  # constant step, then geometric decay over the last quarter
    ratio = 1.0 if lr_final is None or epochs - hold < 2 else (lr_final / lr) ** (1.0 / (epochs - hold - 1))
    for ep in tqdm(range(1, epochs + 1), disable=None if progress is None else not progress, leave=False):
        step = lr * ratio ** max(0, ep - 1 - hold)
        perm = torch.randperm(n, generator=gen) if bs < n else torch.arange(n)
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            theta.requires_grad_(True)
            obj = run_losses(net(theta, x[idx]), y[idx], loss)
            for kind, (rows, weight) in weights.items():  # penalties only for the runs that use them
                obj = obj.index_add(0, rows, weight * regulariser(G, theta[rows], kind, B))
            (grad,) = torch.autograd.grad(obj.sum(), theta)
            theta = (theta - step * grad).detach()
        if ep % record_every == 0 or ep == epochs:
            record(ep)
    out = {k: np.asarray(v) for k, v in rec.items() if v}
    out["theta"] = theta.numpy()
    return out


def pruning_curve(G: DAG, theta, x, y, scores, loss="mse"):
    """Loss after pruning the k lowest-scored neurons of every run, for k = 0..|hidden|.

    Parameters
    ----------
    theta : array of shape (R, E)
    scores : array of shape (R, |hidden|)
        E.g. ``pruning_scores(G, theta)[0]`` (:math:`s_k`) or ``[1]`` (:math:`s'_k`);
        ties are broken by node order.

    Returns
    -------
    ndarray of shape (|hidden| + 1, R).

    >>> G = DAG(edges=[(0, 1), (1, 3), (0, 2), (2, 3)], inputs=[0], outputs=[3])
    >>> pruning_curve(G, [[1.0, 1.0, 1.0, 0.0]], [[1.0]], [1.0], [[1.0, 0.0]])[:, 0]
    array([0., 0., 1.])
    """
    theta = torch.as_tensor(np.asarray(theta, dtype=np.float64))
    scores = np.asarray(scores, dtype=np.float64)
    rank = np.argsort(np.argsort(scores, axis=-1, kind="stable"), axis=-1, kind="stable")
    net = DagNet(G)
    curve = []
    for k in range(len(G.hidden) + 1):
        mask = torch.as_tensor(neuron_edge_mask(G, rank < k))
        with torch.no_grad():
            curve.append(run_losses(net(theta * mask, x), y, loss).numpy())
    return np.asarray(curve)
