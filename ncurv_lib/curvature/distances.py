"""Shortest directed path lengths in the layered graph (contract §5).

In a layered graph a path from layer :math:`a` to layer :math:`a+k` has
exactly :math:`k` hops, so shortest paths are min-plus products

.. math:: M_2(p, v) = \\min_q \\, w(p, q) + w(q, v), \\qquad
          M_3(p, s) = \\min_{q_1} \\, w(p, q_1) + M_2(q_1, s).

They are shared by every edge of a layer. To exclude the edge under study
(the paper convention re-weights it), each product also keeps its minimiser
and the best value over the other middle nodes (``second``).

>>> import torch
>>> inf = float("inf")
>>> idx1, len1 = torch.tensor([[0, 1]]), torch.tensor([[1., 2.]])
>>> idx2, len2 = torch.tensor([[0], [0]]), torch.tensor([[5.], [1.]])
>>> t = two_hop(torch.tensor([0]), idx1, len1, idx2, len2, 1)
>>> t.best.tolist(), t.arg.tolist(), t.second.tolist()
([[3.0]], [[1]], [[6.0]])
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from .kernels import jit

CHUNK = 1 << 22


@dataclass(frozen=True)
class Top2:
    """Per (row, column): ``best`` value, ``arg`` middle node (-1 if none),
    ``second`` best over the other middle nodes (inf if none)."""

    best: torch.Tensor
    arg: torch.Tensor
    second: torch.Tensor


def _scatter_top2(key, val, mid, size):
    inf = torch.full((size,), float("inf"), dtype=val.dtype)
    best = inf.clone().scatter_reduce_(0, key, val, "amin")
    big = torch.iinfo(torch.int64).max
    isb = val == best[key]
    arg = torch.full((size,), big, dtype=torch.int64).scatter_reduce_(
        0, key[isb], mid[isb], "amin")
    other = torch.where(mid != arg[key], val, torch.full_like(val, float("inf")))
    second = inf.scatter_reduce_(0, key, other, "amin")
    arg = torch.where(arg == big, torch.full_like(arg, -1), arg)
    return best, arg, second


def _two_hop_py(rows, idx1, len1, idx2, len2, best, arg, second):
    """Streaming top-2 of :func:`two_hop` into (R, n_cols) arrays (inf, -1, inf on entry):
    ties keep the smaller middle node, ``second`` the best over the other middle nodes."""
    for r in range(rows.size):
        p = rows[r]
        for i in range(idx1.shape[1]):
            q = idx1[p, i]
            if q < 0:
                continue
            l1 = len1[p, i]
            for j in range(idx2.shape[1]):
                v = idx2[q, j]
                if v < 0:
                    continue
                val = l1 + len2[q, j]
                b, a = best[r, v], arg[r, v]
                if val < b or (val == b and q < a):
                    if q != a:
                        second[r, v] = b
                    best[r, v], arg[r, v] = val, q
                elif q != a and val < second[r, v]:
                    second[r, v] = val


TWO_HOP = jit(_two_hop_py)


def _two_hop_compiled(rows, idx1, len1, idx2, len2, n_cols):
    """:func:`two_hop` by :data:`TWO_HOP` (numba must be there)."""
    shape = (rows.numel(), n_cols)
    best, second = np.full(shape, np.inf), np.full(shape, np.inf)
    arg = np.full(shape, -1, dtype=np.int64)
    args = [np.ascontiguousarray(z.numpy()) for z in (rows, idx1, len1, idx2, len2)]
    TWO_HOP(*args, best, arg, second)
    best_t, arg_t = torch.from_numpy(best), torch.from_numpy(arg)
    arg_t = torch.where(torch.isfinite(best_t), arg_t, torch.full_like(arg_t, -1))
    return Top2(best_t, arg_t, torch.from_numpy(second))


def two_hop(rows, idx1, len1, idx2, len2, n_cols) -> Top2:
    """Two-hop min-plus product from ``rows`` to every column node.

    Parameters
    ----------
    rows : (R,) int64
        Start nodes.
    idx1, len1 : (n_start, K1)
        Padded first-hop lists (start -> middle), -1 / inf padding.
    idx2, len2 : (n_mid, K2)
        Padded second-hop lists (middle -> column).
    n_cols : int

    Returns
    -------
    Top2 with tensors of shape (R, n_cols).
    """
    if TWO_HOP is None:
        return _two_hop_torch(rows, idx1, len1, idx2, len2, n_cols)
    return _two_hop_compiled(rows, idx1, len1, idx2, len2, n_cols)


def _two_hop_torch(rows, idx1, len1, idx2, len2, n_cols) -> Top2:
    """:func:`two_hop` as batched tensors (without numba)."""
    k1, k2 = idx1.shape[1], idx2.shape[1]
    step = max(1, CHUNK // max(1, k1 * k2))
    parts = []
    for lo in range(0, rows.numel(), step):
        r = rows[lo:lo + step]
        c = r.numel()
        q, l1 = idx1[r], len1[r]                              # (c, K1)
        qc = q.clamp_min(0)
        v, l2 = idx2[qc], len2[qc]                            # (c, K1, K2)
        ok = (q >= 0)[:, :, None] & (v >= 0)
        val = (l1[:, :, None] + l2)[ok]
        key = (torch.arange(c)[:, None, None] * n_cols + v)[ok]
        mid = q[:, :, None].expand(-1, -1, k2)[ok]
        parts.append([t.view(c, n_cols) for t in _scatter_top2(key, val, mid, c * n_cols)])
    if not parts:
        empty = torch.empty((0, n_cols), dtype=torch.float64)
        return Top2(empty, empty.to(torch.int64), empty)
    return Top2(*(torch.cat([p[i] for p in parts]) for i in range(3)))


def three_hop(rows, idx1, len1, table) -> Top2:
    """Three-hop product :math:`\\min_{q_1} w(p, q_1) + T(q_1, s)` for ``rows``.

    Parameters
    ----------
    rows : (R,) int64
    idx1, len1 : (n_start, K1)
        Padded first-hop lists.
    table : (n_mid, S) float64
        Best two-hop values from each middle node to each column.

    Returns
    -------
    Top2 with tensors of shape (R, S). Where several middle nodes tie for the best,
    ``arg`` is one of them (``second`` then equals ``best``, so the value excluding
    any middle node is the same).
    """
    if TWO_HOP is None:
        return _three_hop_torch(rows, idx1, len1, table)
    n_mid, n_cols = table.shape
    every = torch.arange(n_cols).expand(n_mid, n_cols).contiguous()   # the table as lists
    return _two_hop_compiled(rows, idx1, len1, every, table, n_cols)


def _three_hop_torch(rows, idx1, len1, table) -> Top2:
    """:func:`three_hop` as batched tensors (without numba)."""
    k1, s = idx1.shape[1], table.shape[1]
    step = max(1, CHUNK // max(1, k1 * s))
    best, arg, second = [], [], []
    for lo in range(0, rows.numel(), step):
        r = rows[lo:lo + step]
        q, l1 = idx1[r], len1[r]
        val = l1[:, :, None] + table[q.clamp_min(0)]          # (c, K1, S)
        val = torch.where((q >= 0)[:, :, None], val, torch.full_like(val, float("inf")))
        b, pos = val.min(dim=1)
        val.scatter_(1, pos[:, None, :], float("inf"))
        best.append(b)
        second.append(val.min(dim=1).values)
        a = torch.gather(q, 1, pos)
        arg.append(torch.where(torch.isfinite(b), a, torch.full_like(a, -1)))
    if not best:
        empty = torch.empty((0, s), dtype=torch.float64)
        return Top2(empty, empty.to(torch.int64), empty)
    return Top2(torch.cat(best), torch.cat(arg), torch.cat(second))


@dataclass(frozen=True)
class DenseTable:
    """A :class:`Top2` over (rows, cols), with optional node -> row / column maps.

    ``lookup(r, c)`` takes broadcastable node ids and returns (best, arg,
    second) at those entries; :class:`.conv_distances.ConvTwoHop` offers the
    same lookup without a dense table.
    """

    top: Top2
    row_loc: Optional[torch.Tensor] = None
    col_loc: Optional[torch.Tensor] = None

    def _lin(self, rows, cols):
        r = rows if self.row_loc is None else self.row_loc[rows]
        c = cols if self.col_loc is None else self.col_loc[cols]
        return r * self.top.best.shape[1] + c

    def lookup(self, rows, cols):
        lin = self._lin(rows, cols)
        return (torch.take(self.top.best, lin), torch.take(self.top.arg, lin),
                torch.take(self.top.second, lin))

    def best(self, rows, cols):
        return torch.take(self.top.best, self._lin(rows, cols))

    def excluding(self, rows, cols, mid, adjacent=False):
        """Best value over middle nodes other than ``mid`` (all broadcast together;
        ``adjacent`` is accepted for the offset tables' sake and changes nothing)."""
        lin = self._lin(rows, cols)
        return torch.where(torch.take(self.top.arg, lin) == mid, torch.take(self.top.second, lin),
                           torch.take(self.top.best, lin))

    def side_parts(self, cols, mid):
        """``excluding(k, cols, mid)`` for every row node k as separable flat indices:
        (x_e, c_e, y_node, c_node, flat tables) with the entry at ``x_e + y_node[k]``
        and the excluded code ``c_e - c_node[k]`` (see :func:`.kernels.side_sums`)."""
        n_rows, n_cols = self.top.best.shape
        rows = torch.arange(n_rows) if self.row_loc is None else self.row_loc
        x = cols if self.col_loc is None else self.col_loc[cols]
        top = self.top
        return (x, mid, rows * n_cols, torch.zeros_like(rows),
                (top.best.reshape(-1), top.arg.reshape(-1), top.second.reshape(-1)))

    def flat_parts(self, rows, cols, mid):
        """For (E, P) ``rows``, (E, S) ``cols`` and (E,) middle nodes: row parts h (E, P)
        and column parts g (E, S) of the flat index, the codes (E, S) that ``arg``
        holds for ``mid``, and the flat (best, arg, second) -- what
        :func:`.kernels.edge_bounds` needs for ``excluding(rows, cols, mid)``."""
        r = rows if self.row_loc is None else self.row_loc[rows]
        g = cols if self.col_loc is None else self.col_loc[cols]
        code = mid[:, None].expand(g.shape)
        top = self.top
        return r * top.best.shape[1], g, code, (top.best.reshape(-1), top.arg.reshape(-1),
                                                top.second.reshape(-1))


@dataclass(frozen=True)
class Transposed:
    """A table looked up with its two node arguments swapped."""

    inner: object

    def lookup(self, rows, cols):
        return self.inner.lookup(cols, rows)

    def best(self, rows, cols):
        return self.inner.best(cols, rows)

    def excluding(self, rows, cols, mid, adjacent=False):
        return self.inner.excluding(cols, rows, mid, adjacent)

    def side_parts(self, cols, mid):
        """As :meth:`DenseTable.side_parts`, the row nodes being the inner table's
        columns (None where the inner table has no such form)."""
        part = getattr(self.inner, "dst_side_parts", None)
        return None if part is None else part(cols, mid)
