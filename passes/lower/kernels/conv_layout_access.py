"""How the layout-transformed convolutions index their tensors: the static sizes of one
convolution (Geom), and per layout (NCHWc: NCHW{k}c input/output, OIHW{i}i{o}o weights; NHWC:
NHWC input/output, HWIO weights) the output vectors a tile computes, their weight vectors, bias,
output indices and input elements. conv_layout.py builds the loop nest from these."""
from __future__ import annotations

from dataclasses import dataclass

from compiler.loop import Ramp, as_expr, simplify
from compiler.ops.window import get_auto_pad, get_pads, out_dim, spatial_ints

from .conv_layout_depthwise import lanes_mode


class Geom:
    """Static sizes of one convolution (channel counts include padded lanes)."""

    def __init__(self, N, C, H, W, M, OH, OW, KH, KW, sh, sw, dh, dw, ph, pw, G):
        self.N, self.C, self.H, self.W, self.M, self.OH, self.OW = N, C, H, W, M, OH, OW
        self.KH, self.KW, self.sh, self.sw, self.dh, self.dw = KH, KW, sh, sw, dh, dw
        self.ph, self.pw, self.G, self.Cg, self.Mg = ph, pw, G, C // G, M // G


@dataclass(frozen=True)
class Vec:
    """One output vector: output channels m0 .. m0 + width - 1 (blk: its NCHWc block)."""
    m0: object
    width: int
    blk: object = None


def fold(e):
    """An index with its constant parts folded (`0 * 2 + 1` -> 1: readable IR)."""
    return simplify(as_expr(e))


def lanes(base, width: int):
    return Ramp(base, 1, width) if width > 1 else base


class _AttrView:
    """What compiler.ops.window's attribute helpers need of a call."""

    def __init__(self, kc):
        self.attrs, self.error = kc.attrs, kc.error


def geometry(kc, N, C, H, W, M, KH, KW) -> Geom:
    a = _AttrView(kc)
    strides, dil = spatial_ints(a, "strides", 2, 1, 1), spatial_ints(a, "dilations", 2, 1, 1)
    pads, auto = get_pads(a, 2), get_auto_pad(a)
    G = int(kc.attrs.get("group", 1))
    if G < 1 or C % G or M % G:
        raise kc.error(f"group={G} does not divide {C} input and {M} output channels")
    outs, begins = [], []
    for ax, (size, k) in enumerate(((H, KH), (W, KW))):
        o, (pb, _) = out_dim(a, ax, size, (k - 1) * dil[ax] + 1, strides[ax], pads[ax],
                             pads[2 + ax], auto)
        outs.append(o)
        begins.append(pb)
    return Geom(N, C, H, W, M, outs[0], outs[1], KH, KW, strides[0], strides[1], dil[0], dil[1],
                begins[0], begins[1], G)


# ---- the two layouts ---------------------------------------------------------------------------

class _Layout:
    """What the emitter asks of a data layout; `unit` is the width of an output vector."""

    def __init__(self, kc, g: Geom, cg_w: int, lane_mode: bool, unit: int):
        self.x, self.w = kc.inputs[0], kc.inputs[1]
        self.b = kc.inputs[2] if len(kc.inputs) > 2 else None
        if cg_w != g.Cg:
            raise kc.error(f"W has {cg_w} input channels per group, X has {g.C} channels with "
                           f"group={g.G}")
        self.g, self.lane_mode, self.unit = g, lane_mode, unit
        self.groups_outer = 1 if lane_mode else g.G      # vectors lie in one group or span many
        span = g.M if lane_mode else g.Mg
        self.widths = [min(unit, span - k) for k in range(0, span, unit)]

    def m0(self, gi, j):
        return fold((gi * self.g.Mg if self.groups_outer > 1 else 0) + j * self.unit)


class NCHWc(_Layout):
    """x [N, C/xb, H, W, xb], w [M/ob, Cg/iw, KH, KW, iw, ob], b [M/ob, ob], y [N, M/ob, ., ., ob]."""

    def __init__(self, kc):
        n, cb, h, wd, self.xb = kc.inputs[0].shape
        mb, self.Ib, kh, kw, self.iw, self.ob = kc.inputs[1].shape
        g = geometry(kc, n, cb * self.xb, h, wd, mb * self.ob, kh, kw)
        super().__init__(kc, g, self.Ib * self.iw, g.Mg % self.ob != 0, self.ob)
        self.red = (self.Ib, self.iw)           # runtime outer x unrolled inner input channels
        # input lanes past the last one with a nonzero constant weight add nothing (the
        # zero-padded lanes of a 3-channel stem): the reduction stops there
        w = kc.const(1)
        used = [i for i in range(self.iw) if w is None or w[:, :, :, :, i, :].any()]
        self.lanes_used = used[-1] + 1 if used else 0

    def vec(self, gi, j, width):
        m0 = self.m0(gi, j)
        return Vec(m0, width, fold(m0 // self.ob))

    def w_vec(self, v, co, i, kh, kw):
        return self.w[v.blk, co, kh, kw, i, lanes(0, self.ob)]

    def bias(self, v):
        return None if self.b is None else self.b[v.blk, lanes(0, self.ob)]

    def out_idx(self, n, v, oh, ow):
        return (n, v.blk, oh, ow, lanes(0, self.ob))

    def x_at(self, n, c, ih, iw):
        return self.x[n, c // self.xb, ih, iw, c % self.xb]

    def x_bcast(self, n, gi, co, i, ih, iw):
        xb, Cg, u = self.xb, self.g.Cg, self.iw
        if Cg % xb == 0 and u == xb:
            return self.x[n, gi * (Cg // xb) + co, ih, iw, i]
        if Cg % xb == 0 and xb % u == 0:
            q = xb // u
            return self.x[n, gi * (Cg // xb) + co // q, ih, iw, (co % q) * u + i]
        return self.x_at(n, gi * Cg + co * u + i, ih, iw)

    def x_contig(self, n, v, ih, iw):
        """Input channels m0 .. m0 + width - 1 as one vector load, if they are one block."""
        return self.x[n, v.blk, ih, iw, lanes(0, self.ob)] if self.xb == self.ob else None


class NHWC(_Layout):
    """x [N, H, W, C], w [KH, KW, Cg, M], b [M], y [N, OH, OW, M]."""

    def __init__(self, kc):
        n, h, wd, c = kc.inputs[0].shape
        kh, kw, cg, m = kc.inputs[1].shape
        g = geometry(kc, n, c, h, wd, m, kh, kw)
        L = kc.lanes(kc.inputs[0].dtype)
        super().__init__(kc, g, cg, lanes_mode(g.Mg, L), L)
        u = next(d for d in (8, 7, 6, 5, 4, 3, 2, 1) if cg % d == 0)
        self.red, self.lanes_used = (cg // u, u), u

    def vec(self, gi, j, width):
        return Vec(self.m0(gi, j), width)

    def w_vec(self, v, co, i, kh, kw):
        return self.w[kh, kw, co * self.red[1] + i, lanes(v.m0, v.width)]

    def bias(self, v):
        return None if self.b is None else self.b[lanes(v.m0, v.width)]

    def out_idx(self, n, v, oh, ow):
        return (n, oh, ow, lanes(v.m0, v.width))

    def x_at(self, n, c, ih, iw):
        return self.x[n, ih, iw, c]

    def x_bcast(self, n, gi, co, i, ih, iw):
        return self.x[n, ih, iw, gi * self.g.Cg + co * self.red[1] + i]

    def x_contig(self, n, v, ih, iw):
        return self.x[n, ih, iw, lanes(v.m0, v.width)]


# ---- schedule ----------------------------------------------------------------------------------
