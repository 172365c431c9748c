"""Kernel rules of the layout-transformed convolutions ConvNCHWc and ConvNHWC (the -O3 path of
convolution networks; compiler/ops/layout.py defines them): TVM's x86 direct-conv schedule.

Output channels are cut into vectors (an NCHW{o}c block, or L lanes of the NHWC channel axis),
the output into register tiles of P vectors x T pixels of one row. The P*T accumulators (local
buffers read and written only as whole vectors: LLVM keeps them in registers) start from the
bias and run over the whole reduction (input channels x kernel rows x kernel columns); per input
lane every weight vector and every input value is loaded once (a broadcast scalar, or in lane
mode one input vector: conv_layout_depthwise.py) and each accumulator takes one fma. Every
output element is stored once, through the fused epilogue (conv + bias + add + relu).

No access leaves its buffer: kernel rows outside the input are skipped by an `if`; interior
pixels (every kernel column inside the input) run in tiles; border pixels run one at a time,
testing each kernel column. One `parallel` loop covers (batch, group, vector chunk, row).
Input lanes past the last one with a nonzero constant weight (the zero-padded lanes of a
3-channel stem in NCHW8c) are not visited: they add exactly 0 for finite inputs. How each
layout indexes its tensors is in conv_layout_access.py."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from compiler.loop import Broadcast, call, cast, const, select

from ..registry import kernel
from .conv_layout_access import NCHWc, NHWC, fold, lanes
from .conv_layout_depthwise import window_taps, window_tile_pixels, x_lanes

PARALLEL_MIN_MACS = 1 << 18        # below this a thread team costs more than it saves
MAX_TILE = 28                      # pixels per register tile
MAX_LETS = 128                     # let nesting of one group of unrolled lanes
STATIC = "static"                  # a border tile whose out-of-input columns are known statically


@dataclass(frozen=True)
class Schedule:
    P: int                  # output vectors per register tile
    regs: int               # vector registers of the machine
    hw_lanes: int           # lanes of one register for the accumulator dtype

    def rv(self, widths) -> int:
        """Registers of one pixel's vectors."""
        return sum(-(-w // self.hw_lanes) for w in widths)

    def tile_pixels(self, widths, lane_mode: bool) -> int:
        """Pixels per tile so accumulators, weights and an input fit in the registers."""
        rv = self.rv(widths)
        budget = self.regs - rv - (2 if lane_mode else 1)
        return max(1, min(MAX_TILE, budget // rv))


def choose_schedule(kc, lay, acc_dtype) -> Schedule:
    t = kc.target
    regs = 32 if ("avx512f" in t.features or t.lanes_f32 >= 16) else 16
    hw = kc.lanes(acc_dtype)
    V, want = len(lay.widths), (4 if regs >= 32 else 2)
    # P = want vectors (measured best: 4 x 6 pixels with 32 registers, 2 x 6 with 16), or a
    # divisor of V close to it (no tail chunk); lane mode loads an input per vector: P = 1
    divisors = [p for p in range(min(want, V), max(2, want // 2) - 1, -1) if V % p == 0]
    P = 1 if lay.lane_mode else (divisors[0] if divisors else min(want, V))
    return Schedule(P, regs, hw)


class ConvEmitter:
    def __init__(self, kc, lay):
        self.kc, self.b, self.lay, self.g = kc, kc.b, lay, lay.g
        self.out = kc.outputs[0]
        dt = lay.x.dtype
        self.acc_dt = dt if dt.name == "f64" else "f32"      # f16/bf16 accumulate in f32
        self.convert = dt.name not in ("f32", "f64")
        self.s = choose_schedule(kc, lay, self.acc_dt)
        g = self.g
        self.row_guard = g.ph > 0 or (g.OH - 1) * g.sh - g.ph + (g.KH - 1) * g.dh >= g.H
        # interior columns [lo, hi): every kernel column of the pixel is inside the input
        self.lo = min(g.OW, -(-g.pw // g.sw))
        hi = (g.W - 1 + g.pw - (g.KW - 1) * g.dw) // g.sw + 1
        self.hi = max(self.lo, min(g.OW, hi))

    def load(self, e):
        return cast(self.acc_dt, e) if self.convert else e

    # ---- one register tile: P vectors x T pixels from ow0 --------------------------------------
    def tile(self, n, gi, vecs, oh, ow0, T: int, border):
        """border: True for a one-pixel tile whose kernel columns may leave the input (tested
        each); STATIC for a tile at a constant ow0 whose pixels' columns outside the input are
        left out when the code is generated."""
        b, g, lay, kc = self.b, self.g, self.lay, self.kc
        accs = [[b.alloc(kc.fresh("acc"), self.acc_dt, (v.width,)) for _ in range(T)]
                for v in vecs]
        for v, row in zip(vecs, accs):
            bias = lay.bias(v)
            init = self.load(bias) if bias is not None else const(0.0, self.acc_dt)
            if bias is None and v.width > 1:
                init = Broadcast(init, v.width)
            for acc in row:
                b.store(acc, (lanes(0, v.width),), init)
        with b.for_(kc.fresh("co"), lay.red[0]) as co:
            with b.for_(kc.fresh("kh"), g.KH) as kh:
                ih = b.let(kc.fresh("ih"), oh * g.sh + kh * g.dh - g.ph)
                with maybe_if(b, ih.ge(0).logical_and(ih.lt(g.H)) if self.row_guard else None):
                    if lay.lane_mode and not border:
                        window_taps(self, n, vecs, accs, co, kh, ih, ow0, T)
                    else:
                        self.columns(n, gi, vecs, accs, co, kh, ih, ow0, T, border)
        for v, row in zip(vecs, accs):
            for t, acc in enumerate(row):
                val = acc[lanes(0, v.width)]
                if val.dtype != self.out.dtype:
                    val = cast(self.out.dtype, val)
                b.emit(self.out.store(lay.out_idx(n, v, oh, ow0 + t), val))

    def columns(self, n, gi, vecs, accs, co, kh, ih, ow0, T, border):
        """The kernel columns of one kernel row (a loop), each tested when `border`."""
        b, g, kc = self.b, self.g, self.kc
        if border is STATIC:
            for kw in range(g.KW):
                first = ow0.value * g.sw + kw * g.dw - g.pw
                inside = [t for t in range(T) if 0 <= first + t * g.sw < g.W]
                if inside:
                    with b.scope():
                        self.lane_steps(n, gi, vecs, accs, co, kh, const(kw), ih, const(first),
                                        T, inside)
            return
        with b.for_(kc.fresh("kw"), g.KW) as kw:
            iw = b.let(kc.fresh("iw"), ow0 * g.sw + kw * g.dw - g.pw)
            with maybe_if(b, iw.ge(0).logical_and(iw.lt(g.W)) if border else None):
                self.lane_steps(n, gi, vecs, accs, co, kh, kw, ih, iw, T)

    def lane_steps(self, n, gi, vecs, accs, co, kh, kw, ih, iw, T, pixels=None):
        """The unrolled input lanes of one kernel tap, lane by lane (so LLVM schedules the
        loads and fmas of a lane together): the accumulators are loaded, updated as lets (one
        fma each per lane; inputs and weights let-bound, read once each) and stored back once
        per group of c lanes (an `unrolled` loop over the groups keeps the lets of a group at
        most MAX_LETS deep; the stores and loads between groups vanish in registers)."""
        b, lay = self.b, self.lay
        P, used = len(vecs), lay.lanes_used
        if used == 0:
            return
        per_lane = P + P * T + (P * T if lay.lane_mode else T)
        c = max([d for d in range(1, used + 1) if used % d == 0 and d * per_lane <= MAX_LETS]
                or [1])
        with maybe_loop(b, self.kc.fresh("ig"), used // c) as ig:
            vals = [[acc[lanes(0, v.width)] for acc in row] for v, row in zip(vecs, accs)]
            for j in range(c):
                self.step(n, gi, vecs, vals, co, kh, kw, fold(ig * c + j), ih, iw, T, pixels)
            for v, row, vrow in zip(vecs, accs, vals):
                for acc, val in zip(row, vrow):
                    b.store(acc, (lanes(0, v.width),), val)

    def step(self, n, gi, vecs, vals, co, kh, kw, i, ih, iw, T, pixels=None):
        """One input lane: every accumulator value of the tile (of `pixels` if given) gets one
        more fma."""
        b, g, lay, kc = self.b, self.g, self.lay, self.kc
        wv = [b.let(kc.fresh("w"), self.load(lay.w_vec(v, co, i, kh, kw))) for v in vecs]
        for t in (range(T) if pixels is None else pixels):
            cw = iw + t * g.sw
            if lay.lane_mode:
                xs = [b.let(kc.fresh("x"), self.load(x_lanes(lay, n, v, co, i, ih, cw)))
                      for v in vecs]
            else:
                x = b.let(kc.fresh("x"), self.load(lay.x_bcast(n, gi, co, i, ih, cw)))
                xs = [Broadcast(x, v.width) if v.width > 1 else x for v in vecs]
            for p in range(len(vecs)):
                vals[p][t] = b.let(kc.fresh("a"), call("fma", xs[p], wv[p], vals[p][t]))

    # ---- one output row of a chunk of vectors --------------------------------------------------
    def row(self, n, gi, vecs, oh):
        """Interior pixels in tiles of T (and one narrower tile for the rest); the border
        pixels (left and right) one at a time in one loop."""
        b, g, lo, hi = self.b, self.g, self.lo, self.hi
        widths = [v.width for v in vecs]
        T = window_tile_pixels(self, widths) if self.lay.lane_mode else \
            self.s.tile_pixels(widths, False)
        plan = None if self.lay.lane_mode else static_border_tiles(g.OW, lo, hi, T)
        if plan is not None:
            # the border pixels go in full tiles at constant positions, their columns outside
            # the input left out statically, instead of one tested pixel at a time
            left, (a, z), right = plan
            for ow0, width in left:
                self.tile(n, gi, vecs, oh, const(ow0), width,
                          STATIC if ow0 < lo or ow0 + width > hi else False)
            self.interior(n, gi, vecs, oh, a, z, T)
            for ow0, width in right:
                self.tile(n, gi, vecs, oh, const(ow0), width,
                          STATIC if ow0 < lo or ow0 + width > hi else False)
            return
        self.interior(n, gi, vecs, oh, lo, hi, T)
        nb = lo + g.OW - hi
        if nb:
            with b.for_(self.kc.fresh("bw"), nb) as j:
                ow = j if lo == nb else (j + (hi - lo) if lo == 0 else
                                         select(j.lt(lo), j, j + (hi - lo)))
                self.tile(n, gi, vecs, oh, ow, 1, True)

    def interior(self, n, gi, vecs, oh, lo: int, hi: int, T: int):
        """Pixels [lo, hi), every kernel column inside the input, in tiles of about T."""
        if hi <= lo:
            return
        T = _fit(T, hi - lo)
        ntiles, rem = divmod(hi - lo, T)
        if ntiles == 1:
            self.tile(n, gi, vecs, oh, const(lo), T, False)
        elif ntiles > 1:
            with self.b.for_(self.kc.fresh("tw"), ntiles) as tw:
                self.tile(n, gi, vecs, oh, tw * T + lo, T, False)
        if rem:
            self.tile(n, gi, vecs, oh, const(lo + ntiles * T), rem, False)

    # ---- the whole convolution ------------------------------------------------------------------
    def run(self):
        b, g, lay, kc, P = self.b, self.g, self.lay, self.kc, self.s.P
        widths = lay.widths
        uniform = len(widths) if widths[-1] == widths[0] else len(widths) - 1
        nfull = uniform // P
        tail = list(range(nfull * P, len(widths)))
        nchunks = nfull + (1 if tail else 0)
        Go = lay.groups_outer
        extent = g.N * Go * nchunks * g.OH
        macs = g.N * g.M * g.OH * g.OW * g.Cg * g.KH * g.KW
        t = kc.target
        par = t.parallel and t.num_threads != 1 and extent > 1 and macs >= PARALLEL_MIN_MACS
        with b.for_(kc.fresh("r"), extent, kind="parallel" if par else "serial") as r:
            rest, idx = r, []
            for name, ext in (("oh", g.OH), ("ch", nchunks), ("gi", Go), ("n", g.N)):
                last_dim = name == "n"
                idx.append(const(0) if ext == 1 else
                           b.let(kc.fresh(name), rest if last_dim else rest % ext))
                rest = rest // ext
            oh, ch, gi, n = idx

            def full():
                self.row(n, gi, [lay.vec(gi, ch * P + p, widths[p]) for p in range(P)], oh)

            def last():
                self.row(n, gi, [lay.vec(gi, j, widths[j]) for j in tail], oh)
            if nfull and tail:
                with b.if_(ch.lt(nfull)):
                    full()
                with b.else_():
                    last()
            elif nfull:
                full()
            else:
                last()


@contextmanager
def maybe_if(b, cond):
    if cond is None:
        yield
    else:
        with b.if_(cond):
            yield


@contextmanager
def maybe_loop(b, name, extent):
    """An `unrolled` loop when extent > 1, else just the index 0."""
    if extent == 1:
        yield const(0)
    else:
        with b.for_(name, extent, kind="unrolled") as v:
            yield v


def static_border_tiles(OW: int, lo: int, hi: int, T: int):
    """(left tiles, interior [a, z), right tiles) for a row with border pixels (outside
    [lo, hi)) of at most 3 tiles: all of it in tiles at constant positions, of balanced widths
    <= T, or None. Wider rows keep their border pixels one at a time: a few percent of their
    pixels, not worth the larger code (compile time) of static border tiles."""
    if (lo == 0 and hi == OW) or OW > 3 * T:
        return None
    k = -(-OW // T)
    base, extra = divmod(OW, k)
    widths = [base + (1 if j < extra else 0) for j in range(k)]
    starts = [sum(widths[:j]) for j in range(k)]
    return list(zip(starts, widths)), (0, 0), []


def _fit(T: int, span: int) -> int:
    """A tile width near T that divides the interior span (no remainder tile) if one is close."""
    if span <= T:
        return max(1, span)
    for c in range(T, max(1, (2 * T) // 3) - 1, -1):
        if span % c == 0:
            return c
    return T


@kernel("ConvNCHWc", "ConvNHWC")
def conv_layout(kc):
    ConvEmitter(kc, NCHWc(kc) if kc.node.op == "ConvNCHWc" else NHWC(kc)).run()
