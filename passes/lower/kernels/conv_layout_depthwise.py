"""Lane mode of the layout-transformed convolutions (conv_layout.py): when an output vector spans
several groups (depthwise convolutions, group == channels; or few output channels per group),
lane j of the vector reads its own input channel instead of one broadcast value.

Output channel m belongs to group m // Mg and reads input channels (m // Mg) * Cg + ci. For a
depthwise conv (Mg = Cg = 1) that is channel m itself, so the input of a whole vector is one
contiguous load (the same NCHW{k}c block, or the same NHWC pixel); other groupings gather the
lanes one by one (correct, slower)."""
from __future__ import annotations

from compiler.loop import Ramp, call


def lanes_mode(Mg: int, L: int) -> bool:
    """NHWC: vectorise across groups when a group has fewer than half a vector of outputs."""
    return Mg < max(1, L // 2)


def x_lanes(lay, n, v, co, i, ih, iw):
    """The input values the lanes of output vector `v` multiply at reduction step (co, i)."""
    g = lay.g
    if g.Mg == 1 and g.Cg == 1:
        contig = lay.x_contig(n, v, ih, iw)
        if contig is not None:
            return contig
    ci = co * lay.red[1] + i
    m = Ramp(v.m0, 1, v.width) if v.width > 1 else v.m0
    c = (m // g.Mg) * g.Cg + ci if g.Mg > 1 else m * g.Cg + ci
    return lay.x_at(n, c, ih, iw)


def window_tile_pixels(em, widths) -> int:
    """Pixels per interior lane-mode tile: T accumulators, the KW weights and a sliding window
    of KW input columns in registers, and the lets of one lane (weights, input columns,
    accumulator updates) at most MAX_LETS deep."""
    from .conv_layout import MAX_LETS, MAX_TILE      # (conv_layout imports this module)
    s, g, P = em.s, em.g, len(widths)
    rv = s.rv(widths)
    T = max(1, min(MAX_TILE, (s.regs - 2 * g.KW * rv) // rv))
    while T > 1 and P * (g.KW + _columns(g, T) + T * g.KW) > MAX_LETS:
        T -= 1
    return T


def _columns(g, T: int) -> int:
    """Distinct input columns a tile of T pixels reads in one kernel row."""
    return len({t * g.sw + kw * g.dw for t in range(T) for kw in range(g.KW)})


def window_taps(em, n, vecs, accs, co, kh, ih, ow0, T):
    """One kernel row of an interior lane-mode tile with the kernel columns unrolled: pixel by
    pixel, so each input column (t * stride + kw * dilation) is loaded once and reused by
    every (pixel, kw) that reads it while it is in the window (stride 1: KW uses per load)."""
    from .conv_layout import fold, lanes, maybe_loop
    b, g, lay, kc = em.b, em.g, em.lay, em.kc
    with maybe_loop(b, kc.fresh("i"), lay.lanes_used) as i:
        i = fold(i)
        vals = [[acc[lanes(0, v.width)] for acc in row] for v, row in zip(vecs, accs)]
        wv = [[b.let(kc.fresh("w"), em.load(lay.w_vec(v, co, i, kh, kw))) for kw in range(g.KW)]
              for v in vecs]
        cols: dict = {}
        for t in range(T):
            for kw in range(g.KW):
                col = t * g.sw + kw * g.dw
                for p, v in enumerate(vecs):
                    if (p, col) not in cols:
                        cw = ow0 * g.sw + (col - g.pw)
                        cols[p, col] = b.let(kc.fresh("x"),
                                             em.load(x_lanes(lay, n, v, co, i, ih, cw)))
                    vals[p][t] = b.let(kc.fresh("a"),
                                       call("fma", cols[p, col], wv[p][kw], vals[p][t]))
        for v, row, vrow in zip(vecs, accs, vals):
            for acc, val in zip(row, vrow):
                b.store(acc, (lanes(0, v.width),), val)
