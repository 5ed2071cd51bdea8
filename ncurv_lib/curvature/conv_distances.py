"""Shortest paths through chains of convolutions, once per model (contract §5).

Between two unrolled Conv2d layers the two-hop length from an input neuron
:math:`p = (c_0, y_p, x_p)` to an output neuron :math:`v = (c_2, y_v, x_v)`
depends only on the channels and on the offset of :math:`p` relative to
:math:`v`'s receptive field -- provided the middle neurons of every such path
exist, which holds when the second convolution has no zero padding. So
instead of a table over all (p, v) pairs (billions of entries for VGG9), a
table over (c_2, c_0, offset) holds the best length, its middle neuron (as
channel and kernel offset) and the second best over the other middle
neurons; lookups decode node ids into channels and offsets. The same holds
for three hops when the last two convolutions have no padding.

Per spatial dimension, with strides s, dilations d, kernels k and the first
layer's padding :math:`P_X`:

.. math:: o = y_p + P_X - y_v s_Y s_X = a_Y d_Y s_X + a_X d_X,

so a two-hop offset lies in :math:`[0, (k_Y-1) d_Y s_X + (k_X-1) d_X]`.

>>> import torch, torch.nn as nn
>>> from .graph import transition
>>> torch.manual_seed(0) and None
>>> c1, c2 = nn.Conv2d(2, 3, 2), nn.Conv2d(3, 2, 2)
>>> t1, t2 = transition(c1, (2, 4, 4)), transition(c2, (3, 3, 3))
>>> from .distances import two_hop
>>> dense = two_hop(torch.arange(t1.n_in), t1.out_idx, t1.out_len, t2.out_idx, t2.out_len,
...                 t2.n_out)
>>> tab = ConvTwoHop(t1, t2)
>>> p, v = torch.arange(t1.n_in)[:, None], torch.arange(t2.n_out)[None, :]
>>> best, arg, second = tab.lookup(p, v)
>>> bool(torch.equal(best, dense.best) and torch.equal(second, dense.second))
True
"""
import math

import torch

INF = float("inf")


def two_hop_eligible(tr_x, tr_y) -> bool:
    """Whether :class:`ConvTwoHop` applies to transitions X then Y."""
    return tr_x.geom is not None and tr_y.geom is not None and tr_y.geom.padding == (0, 0)


def three_hop_eligible(tr_x, tr_y, tr_z) -> bool:
    """Whether :class:`ConvThreeHop` applies to transitions X, Y, Z."""
    return two_hop_eligible(tr_x, tr_y) and two_hop_eligible(tr_y, tr_z)


def _merge(cur, new):
    """Top-2 merge of (best, arg, second) over disjoint candidate sets."""
    (cb, ca, cs), (nb, na, ns) = cur, new
    win = nb < cb
    best = torch.where(win, nb, cb)
    arg = torch.where(win, na, ca)
    second = torch.where(win, torch.minimum(cb, ns), torch.minimum(cs, nb))
    return best, arg, second


def _min_top2(m, dim):
    """Best, argmin and second best (+inf if there is none) of ``m`` along ``dim``; among
    equal best ones any may be the argmin (the second then equals the best, so a
    lookup excluding it gives the same length)."""
    if m.shape[dim] < 2:
        b, i = m.min(dim=dim)
        return b, i, torch.full_like(b, INF)
    v, i = torch.topk(m, 2, dim=dim, largest=False, sorted=True)
    return v.select(dim, 0), i.select(dim, 0), v.select(dim, 1)


def _code_or_none(code, ok):
    """Middle-node codes, -2 (matches no table entry) where ``ok`` is False."""
    return torch.where(ok, code, torch.full_like(code, -2))


def _split(ids, shape):
    """(channel, y, x) of flat node ids in a (C, H, W) layer."""
    _, h, w = shape
    return ids // (h * w), (ids // w) % h, ids % w


class _OffsetTable:
    """best/arg/second over (c_dst, c_src, oy, ox); ``arg`` encodes the middle node."""

    def __init__(self, n_dst, n_src, size):
        shape = (n_dst, n_src, *size)
        self.best = torch.full(shape, INF, dtype=torch.float64)
        self.arg = torch.full(shape, -1, dtype=torch.int64)
        self.second = torch.full(shape, INF, dtype=torch.float64)
        self.size = size

    def update(self, oy, ox, best, arg, second):
        """Merge candidates at offsets ``oy`` (A,) x ``ox`` (B,) (values (Cd, Cs, A, B))."""
        iy, ix = oy[:, None], ox[None, :]
        cur = (self.best[:, :, iy, ix], self.arg[:, :, iy, ix], self.second[:, :, iy, ix])
        b, a, s = _merge(cur, (best, arg, second))
        self.best[:, :, iy, ix], self.arg[:, :, iy, ix], self.second[:, :, iy, ix] = b, a, s

    def flat_parts(self, src_shape, dst_shape, src_shift, dst_factor):
        """Per-node parts of the flat index: ``flat = h[src] + g[dst]`` where the
        offset is ``src_pos + src_shift - dst_pos * dst_factor`` (per dimension)."""
        (ny, nx), n_src = self.size, self.best.shape[1]
        c0, py, px = _split(torch.arange(src_shape[0] * src_shape[1] * src_shape[2]), src_shape)
        c2, vy, vx = _split(torch.arange(dst_shape[0] * dst_shape[1] * dst_shape[2]), dst_shape)
        h = (c0 * ny + py + src_shift[0]) * nx + px + src_shift[1]
        g = c2 * n_src * ny * nx - vy * dst_factor[0] * nx - vx * dst_factor[1]
        return h, g

    def flat(self):
        """The flat (best, arg, second)."""
        return self.best.reshape(-1), self.arg.reshape(-1), self.second.reshape(-1)

    def fetch_best(self, flat):
        return torch.take(self.best, flat.clamp(0, self.best.numel() - 1))

    def fetch_excluding(self, flat, code):
        """Best value at ``flat`` over middle nodes whose code is not ``code``."""
        flat = flat.clamp(0, self.best.numel() - 1)
        return torch.where(torch.take(self.arg, flat) == code, torch.take(self.second, flat),
                           torch.take(self.best, flat))

    def get(self, c_dst, c_src, oy, ox):
        """Values at broadcast indices; (inf, -1, inf) outside the offset range."""
        (ny, nx), n_src = self.size, self.best.shape[1]
        ok = (oy >= 0) & (oy < ny) & (ox >= 0) & (ox < nx)
        flat = ((c_dst * n_src + c_src) * ny + oy.clamp(0, ny - 1)) * nx + ox.clamp(0, nx - 1)
        inf = torch.full(flat.shape, INF, dtype=torch.float64)
        return (torch.where(ok, torch.take(self.best, flat), inf),
                torch.where(ok, torch.take(self.arg, flat), torch.full_like(flat, -1)),
                torch.where(ok, torch.take(self.second, flat), inf))


class _OffsetPaths:
    """Shared fast path of the offset tables: ``self.table`` plus per-node flat-index
    parts ``self.h`` (sources) and ``self.g`` (destinations)."""

    def best(self, src, dst):
        """Best lengths for broadcastable ids of node pairs joined by a path."""
        return self.table.fetch_best(self.h[src] + self.g[dst])


class ConvTwoHop(_OffsetPaths):
    """Two-hop lengths p -> q -> v through Conv2d X (p -> q) then Conv2d Y (q -> v).

    ``lookup(p, v)`` takes broadcastable node ids of X's input layer and Y's
    output layer and returns (best, middle node id or -1, second best), as
    :func:`.distances.two_hop` does for a dense table.
    """

    def __init__(self, tr_x, tr_y):
        if not two_hop_eligible(tr_x, tr_y):
            raise ValueError("ConvTwoHop needs two Conv2d transitions, the second unpadded")
        gx, gy = tr_x.geom, tr_y.geom
        self.gx, self.gy = gx, gy
        lx, ly = gx.lengths, gy.lengths                  # (C1, C0, kh, kw), (C2, C1, kh, kw)
        c2, c1, kyh, kyw = ly.shape
        _, c0, kxh, kxw = lx.shape
        size = tuple((ky - 1) * dy * sx + (kx - 1) * dx + 1 for ky, dy, sx, kx, dx in
                     zip((kyh, kyw), gy.dilation, gx.stride, (kxh, kxw), gx.dilation))
        self.table = _OffsetTable(c2, c0, size)
        oy_x = torch.arange(kxh) * gx.dilation[0]
        ox_x = torch.arange(kxw) * gx.dilation[1]
        for ah in range(kyh):
            for aw in range(kyw):
                # (C2, C1, 1, 1, 1) + (1, C1, C0, kxh, kxw) -> min over the middle channel
                m = ly[:, :, ah, aw][:, :, None, None, None] + lx[None]
                b, i, s = _min_top2(m, 1)                # (C2, C0, kxh, kxw)
                code = i * (kyh * kyw) + ah * kyw + aw
                self.table.update(ah * gy.dilation[0] * gx.stride[0] + oy_x,
                                  aw * gy.dilation[1] * gx.stride[1] + ox_x, b, code, s)

        self.h, self.g = self.table.flat_parts(
            gx.in_shape, gy.out_shape, gx.padding,
            (gy.stride[0] * gx.stride[0], gy.stride[1] * gx.stride[1]))
        # per-node parts of a middle node's code (decoded once, not per lookup)
        kyh, kyw = gy.lengths.shape[2:]
        c1, qy, qx = _split(torch.arange(math.prod(gy.in_shape)), gy.in_shape)
        _, vy, vx = _split(torch.arange(math.prod(gy.out_shape)), gy.out_shape)
        self._q = (c1 * (kyh * kyw), qy, qx)
        self._v = (vy * gy.stride[0], vx * gy.stride[1])

    def excluding(self, p, v, q, adjacent=False):
        """Best lengths p -> v over middle nodes other than ``q`` (X's outputs).

        With ``adjacent``, the caller guarantees an edge q -> v wherever the
        result is used (the range checks are skipped; elsewhere it is arbitrary).
        """
        gy = self.gy
        kyh, kyw = gy.lengths.shape[2:]
        qc, qy, qx = (t[q] for t in self._q)
        ry, rx = qy - self._v[0][v], qx - self._v[1][v]
        if gy.dilation == (1, 1) and adjacent:
            code = qc + ry * kyw + rx
        else:
            ah, aw = ry // gy.dilation[0], rx // gy.dilation[1]
            code = _code_or_none(qc + ah * kyw + aw,
                                 (ah >= 0) & (ah < kyh) & (aw >= 0) & (aw < kyw)
                                 & (ry % gy.dilation[0] == 0) & (rx % gy.dilation[1] == 0))
        return self.table.fetch_excluding(self.h[p] + self.g[v], code)

    def side_parts(self, v, q):
        """``excluding(p, v, q, adjacent=True)`` for every source p as separable flat
        indices (see :meth:`.distances.DenseTable.side_parts`); None unless Y has
        dilation 1."""
        if self.gy.dilation != (1, 1):
            return None
        kyw = self.gy.lengths.shape[3]
        qc, qy, qx = (t[q] for t in self._q)
        code = qc + (qy - self._v[0][v]) * kyw + (qx - self._v[1][v])
        return self.g[v], code, self.h, torch.zeros_like(self.h), self.table.flat()

    def dst_side_parts(self, p, q):
        """``excluding(p, s, q, adjacent=True)`` for every destination s, likewise."""
        if self.gy.dilation != (1, 1):
            return None
        kyw = self.gy.lengths.shape[3]
        qc, qy, qx = (t[q] for t in self._q)
        return (self.h[p], qc + qy * kyw + qx, self.g, self._v[0] * kyw + self._v[1],
                self.table.flat())

    def lookup(self, p, v):
        """(best, middle node or -1, second) for any broadcastable node ids."""
        gx, gy = self.gx, self.gy
        c0, py, px = _split(p, gx.in_shape)
        c2, vy, vx = _split(v, gy.out_shape)
        oy = py + gx.padding[0] - vy * gy.stride[0] * gx.stride[0]
        ox = px + gx.padding[1] - vx * gy.stride[1] * gx.stride[1]
        best, code, second = self.table.get(c2, c0, oy, ox)
        kyh, kyw = gy.lengths.shape[2:]
        c1, a = code // (kyh * kyw), code % (kyh * kyw)
        qy = vy * gy.stride[0] + (a // kyw) * gy.dilation[0]
        qx = vx * gy.stride[1] + (a % kyw) * gy.dilation[1]
        _, hb, wb = gy.in_shape
        mid = (c1 * hb + qy) * wb + qx
        return best, torch.where((code >= 0) & torch.isfinite(best), mid, -1), second


class ConvThreeHop(_OffsetPaths):
    """Three-hop lengths p -> q1 -> r -> s through Conv2d X, Y, Z (Y, Z unpadded).

    ``lookup(p, s)`` returns (best, q1 node id or -1, second best over the
    other q1), the top-2 being over the first middle node as in
    :func:`.distances.three_hop`. ``yz`` is the :class:`ConvTwoHop` of Y, Z.
    """

    def __init__(self, tr_x, yz):
        if tr_x.geom is None or yz.gx.padding != (0, 0):
            raise ValueError("ConvThreeHop needs Conv2d X and unpadded Conv2d Y, Z")
        gx = self.gx = tr_x.geom
        self.yz = yz
        lx = gx.lengths                                  # (C1, C0, kxh, kxw)
        t2 = yz.table.best                               # (C3, C1, O'y, O'x)
        c3, _, o2y, o2x = t2.shape
        _, c0, kxh, kxw = lx.shape
        size = ((o2y - 1) * gx.stride[0] + (kxh - 1) * gx.dilation[0] + 1,
                (o2x - 1) * gx.stride[1] + (kxw - 1) * gx.dilation[1] + 1)
        self.table = _OffsetTable(c3, c0, size)
        self.o2 = (o2y, o2x)
        ox_all = torch.arange(o2x) * gx.stride[1]
        for ah in range(kxh):
            for aw in range(kxw):
                for oy2 in range(o2y):
                    # (C3, C1, 1, O'x) + (1, C1, C0, 1) -> (C3, C1, C0, O'x)
                    m = t2[:, :, oy2, :][:, :, None, :] + lx[:, :, ah, aw][None, :, :, None]
                    b, i, s = _min_top2(m, 1)            # (C3, C0, O'x)
                    code = (i * o2y + oy2) * o2x + torch.arange(o2x)
                    self.table.update(torch.tensor([oy2 * gx.stride[0] + ah * gx.dilation[0]]),
                                      ox_all + aw * gx.dilation[1],
                                      b[:, :, None, :], code[:, :, None, :], s[:, :, None, :])

        gy, gz = yz.gx, yz.gy
        self.f = (gz.stride[0] * gy.stride[0], gz.stride[1] * gy.stride[1])
        self.h, self.g = self.table.flat_parts(
            gx.in_shape, gz.out_shape, gx.padding,
            (self.f[0] * gx.stride[0], self.f[1] * gx.stride[1]))
        o2y, o2x = self.o2
        c1, qy, qx = _split(torch.arange(math.prod(gy.in_shape)), gy.in_shape)
        _, sy, sx = _split(torch.arange(math.prod(gz.out_shape)), gz.out_shape)
        self._q = (c1 * (o2y * o2x), qy, qx)
        self._s = (sy * self.f[0], sx * self.f[1])

    def excluding(self, p, s, q, adjacent=False):
        """Best three-hop lengths over first middle nodes other than ``q``
        (``adjacent``: the caller guarantees a two-hop path q -> s where it is used)."""
        o2y, o2x = self.o2
        qc, qy, qx = (t[q] for t in self._q)
        oy, ox = qy - self._s[0][s], qx - self._s[1][s]
        code = qc + oy * o2x + ox
        if not adjacent:
            code = _code_or_none(code, (oy >= 0) & (oy < o2y) & (ox >= 0) & (ox < o2x))
        return self.table.fetch_excluding(self.h[p] + self.g[s], code)

    def flat_parts(self, p, s, q):
        """For (E, P) nodes ``p``, (E, S) nodes ``s`` and (E,) first middle nodes ``q``
        (each joined to every s by a two-hop path): row parts (E, P), column parts
        (E, S) of the flat index, codes (E, S) of ``q`` and the flat tables, as
        :meth:`.distances.DenseTable.flat_parts`."""
        o2x = self.o2[1]
        qc, qy, qx = (t[q][:, None] for t in self._q)
        code = qc + (qy - self._s[0][s]) * o2x + (qx - self._s[1][s])
        return self.h[p], self.g[s], code, self.table.flat()

    def lookup(self, p, s):
        """(best, first middle node or -1, second) for any broadcastable node ids."""
        gx, gy, gz = self.gx, self.yz.gx, self.yz.gy
        c0, py, px = _split(p, gx.in_shape)
        c3, sy, sx = _split(s, gz.out_shape)
        fy, fx = self.f
        oy = py + gx.padding[0] - sy * fy * gx.stride[0]
        ox = px + gx.padding[1] - sx * fx * gx.stride[1]
        best, code, second = self.table.get(c3, c0, oy, ox)
        o2y, o2x = self.o2
        c1, rest = code // (o2y * o2x), code % (o2y * o2x)
        qy = sy * fy + rest // o2x
        qx = sx * fx + rest % o2x
        _, hb, wb = gy.in_shape
        mid = (c1 * hb + qy) * wb + qx
        return best, torch.where((code >= 0) & torch.isfinite(best), mid, -1), second
