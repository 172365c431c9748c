"""Kernel rules of the windowed pools: MaxPool (with its optional Indices output),
AveragePool and LpPool, N-d, in NCHW and in the NCHW{k}c / NHWC layouts (semantics:
compiler/ops/pool.py and layout.py; padded taps never take part in a max, count in an average
only with count_include_pad, and contribute |0|^p = 0 to an Lp norm).

Schedule: one flattened loop (parallel when big) over (batch, channel, every output spatial
dim but the last); the last output dim is split into a left border, an interior and a right
border. In the interior every tap of the last dim is inside the input, so no test is needed and
NCHW vectorises over the output width (a Ramp of `w` output columns; stride-s input loads);
the blocked and NHWC layouts vectorise over the channel lanes instead. Border outputs and taps
of the outer dims are guarded by `if`s (only where padding or ceil_mode can reach them).
AveragePool divides by the number of counted taps, computed per output from the geometry."""
from __future__ import annotations

import math
from dataclasses import dataclass

from compiler.ir import dtypes as D
from compiler.loop import Ramp, call, cast, max_, min_, select
from compiler.loop.expr import IntImm

from ..registry import kernel
from ._reduce_lines import (Acc, combine, convert, flat_loop, identity, nest, op_call,
                            pick_lanes, powf, work_dtype)

POOLS = ("MaxPool", "AveragePool", "LpPool")
UNROLL_TAPS = 16          # the innermost tap loop is unrolled up to this many taps


@dataclass(frozen=True)
class Dim:
    """One spatial dim of the window: input length, kernel, stride, dilation, pads, output."""
    L: int
    K: int
    s: int
    d: int
    pb: int
    pe: int
    O: int

    def interior(self) -> tuple:
        """[lo, hi): outputs whose every tap is inside [0, L)."""
        lo = -(-self.pb // self.s)
        hi = (self.L - 1 + self.pb - (self.K - 1) * self.d) // self.s + 1
        lo, hi = min(max(lo, 0), self.O), min(max(hi, 0), self.O)
        return (lo, hi) if lo < hi else (0, 0)

    @property
    def full(self) -> bool:
        return self.interior() == (0, self.O)

    def pos(self, o, k):
        return o * self.s - self.pb + k * self.d

    def count(self, o, include_pad: bool):
        """Number of taps of output o inside [0, L) (or [-pb, L + pe) with include_pad)."""
        lo, hi = (-self.pb, self.L + self.pe) if include_pad else (0, self.L)
        base = o * self.s - self.pb
        kmin = -((base - lo) // self.d)                       # ceil((lo - base) / d)
        kmax = (hi - 1 - base) // self.d
        return max_(min_(kmax, self.K - 1) - max_(kmin, 0) + 1, 0)


def _geometry(kc, spatial) -> list:
    from compiler.ops.window import get_auto_pad, get_flag, get_pads, out_dim, spatial_ints
    c = op_call(kc)
    n = len(spatial)
    kernel_ = [int(k) for k in c.attrs["kernel_shape"]]
    if len(kernel_) != n or any(k < 1 for k in kernel_):
        raise kc.error(f"kernel_shape {kernel_} does not fit {n} spatial dims")
    strides = spatial_ints(c, "strides", n, 1, 1)
    dil = spatial_ints(c, "dilations", n, 1, 1)
    pads, auto = get_pads(c, n), get_auto_pad(c)
    ceil_mode = get_flag(c, "ceil_mode")
    dims = []
    for i in range(n):
        o, (pb, pe) = out_dim(c, i, spatial[i], (kernel_[i] - 1) * dil[i] + 1, strides[i],
                              pads[i], pads[n + i], auto, ceil_mode)
        dims.append(Dim(spatial[i], kernel_[i], strides[i], dil[i], pb, pe, o))
    return dims


class PoolKernel:
    def __init__(self, kc):
        self.kc, self.b = kc, kc.b
        op = kc.node.op
        self.base = next(p for p in POOLS if op.startswith(p))
        self.layout = op[len(self.base):] or "NCHW"
        self.x, self.y = kc.inputs[0], kc.outputs[0]
        self.ind = kc.outputs[1] if len(kc.outputs) > 1 else None
        shape = self.x.shape
        spatial = {"NCHW": shape[2:], "NCHWc": shape[2:-1], "NHWC": shape[1:-1]}[self.layout]
        self.dims = _geometry(kc, spatial)
        self.n = len(self.dims)
        self.wd = work_dtype(self.x.dtype)
        self.op = "max" if self.base == "MaxPool" else "+"
        self.p = int(kc.attr("p", 2))
        if self.base == "LpPool" and self.p < 1:
            raise kc.error(f"p must be >= 1, got {self.p}")
        self.include_pad = bool(int(kc.attr("count_include_pad", 0)))
        self.width_lanes = self.layout == "NCHW"     # else lanes over channels

    # ---- index maps ---------------------------------------------------------------------------
    def x_index(self, lead, pos):
        if self.layout == "NCHW":
            return tuple(lead) + tuple(pos)
        if self.layout == "NCHWc":
            return (lead[0], lead[1]) + tuple(pos) + (lead[2],)
        return (lead[0],) + tuple(pos) + (lead[1],)

    def run(self):
        x = self.x
        lead_dims = (x.shape[0], x.shape[1]) if self.layout != "NHWC" else (x.shape[0],)
        rows = lead_dims + tuple(d.O for d in self.dims[:-1])
        work = math.prod(self.y.shape) * math.prod(d.K for d in self.dims)
        nl = len(lead_dims)
        flat_loop(self.kc, rows, work, lambda pos: self.row(pos[:nl], pos[nl:]))

    def row(self, lead, oouter):
        """The last output dim of one row: the interior unchecked (vectors over the output
        width in NCHW), everything else -- both borders, the interior's leftover -- in one
        checked scalar loop (one copy of the window code)."""
        b, last = self.b, self.dims[-1]
        lo, hi = last.interior()
        cnt = None
        if self.base == "AveragePool":
            cnt = IntImm(1)
            for d, o in zip(self.dims[:-1], oouter):
                cnt = cnt * (IntImm(d.K) if d.full else d.count(o, self.include_pad))
            cnt = b.let(self.kc.fresh("cnt"), cnt) if not isinstance(cnt, IntImm) else cnt
        done = hi - lo                  # interior outputs taken by the unchecked loop
        if self.width_lanes:
            w = pick_lanes(self.kc.lanes(self.wd), hi - lo)
            done = (hi - lo) // w * w if w > 1 else 0
            nest(self.kc, (done // w,),
                 lambda t: self.window(lead, oouter, lo + t[0] * w, True, w, cnt))
        else:
            nest(self.kc, (done,), lambda t: self.channels(lead, oouter, lo + t[0], True, cnt))

        def border(t):
            t = t[0]        # t < lo: the left border; then past the unchecked outputs
            o = t if not done else t + done if lo == 0 else select(t.lt(lo), t, t + done)
            if self.width_lanes:
                self.window(lead, oouter, o, False, 1, cnt)
            else:
                self.channels(lead, oouter, o, False, cnt)
        nest(self.kc, (last.O - done,), border)

    def channels(self, lead, oouter, o, interior, cnt):
        """Channel-lane vectors at one output position (NCHWc / NHWC)."""
        c = self.x.shape[-1]
        w = pick_lanes(self.kc.lanes(self.wd), c)
        nvec = c // w if w > 1 else 0
        nest(self.kc, (nvec,), lambda t: self.window(
            tuple(lead) + (Ramp(t[0] * w, 1, w),), oouter, o, interior, w, cnt))
        nest(self.kc, (c - nvec * w,), lambda t: self.window(
            tuple(lead) + (t[0] + nvec * w,), oouter, o, interior, 1, cnt))

    # ---- one output (or a vector of outputs) -------------------------------------------------
    def window(self, lead, oouter, o, last_interior: bool, w: int, cnt):
        """Reduce the window of output (oouter..., o) and store it; with w > 1 and NCHW,
        outputs o..o+w-1 of the last dim (one per lane)."""
        kc, b, wd = self.kc, self.b, self.wd
        spatial_vec = self.width_lanes and w > 1
        acc = Acc(kc, wd, w, identity(self.op, wd), "acc")
        iacc = Acc(kc, D.i64, w, IntImm(-1), "arg") if self.ind is not None else None
        opos = tuple(oouter) + (o,)

        def tap(i, pos):
            if i == self.n:
                self.accumulate(acc, iacc, lead, pos)
                return
            d = self.dims[i]
            check = not (last_interior if i == self.n - 1 else d.full)
            at = (lambda k: Ramp(d.pos(opos[i], k), d.s, w)) \
                if i == self.n - 1 and spatial_vec else (lambda k: d.pos(opos[i], k))
            if i == self.n - 1 and not check and iacc is None and d.K <= UNROLL_TAPS:
                # a tree over the row's taps: short dependency chains through the accumulator
                acc.update(self.op, _tree(self.op, [self.value(lead, pos + (at(IntImm(k)),))
                                                    for k in range(d.K)]))
                return
            kind = "unrolled" if i == self.n - 1 and d.K <= UNROLL_TAPS and d.K > 1 else "serial"
            with b.for_(kc.fresh("kh"), d.K, kind=kind) as k:
                p = at(k)
                if check:
                    with b.if_(p.ge(0).logical_and(p.lt(d.L))):
                        tap(i + 1, pos + (p,))
                else:
                    tap(i + 1, pos + (p,))
        tap(0, ())
        out_pos = tuple(oouter) + ((Ramp(o, 1, w),) if spatial_vec else (o,))
        oidx = self.x_index(lead, out_pos)
        b.emit(self.y.store(oidx, convert(self.finish(acc.value, o, last_interior, cnt),
                                          self.y.dtype)))
        if iacc is not None:
            b.emit(self.ind.store(oidx, iacc.value))

    def value(self, lead, pos):
        """The tap's contribution: x (|x|^p for LpPool) in the work dtype."""
        v = convert(self.x[self.x_index(lead, pos)], self.wd)
        if self.base == "LpPool":
            v = call("abs", v)
            v = v if self.p == 1 else v * v if self.p == 2 else powf(v, float(self.p))
        return v

    def accumulate(self, acc, iacc, lead, pos):
        b = self.b
        v = self.value(lead, pos)
        if iacc is None:
            acc.update(self.op, v)
            return
        v = b.let(self.kc.fresh("v"), v)
        cur = acc.value
        better = v.gt(cur)
        if v.dtype.is_float:
            better = better.logical_or(v.ne(v).logical_and(cur.eq(cur)))
        upd = b.let(self.kc.fresh("u"), iacc.value.lt(0).logical_or(better))
        acc.set(select(upd, v, cur))
        iacc.set(select(upd, self.flat_index(lead, pos), iacc.value))

    def flat_index(self, lead, pos):
        """Row-major position in the whole input (storage_order=1: spatial dims column-major)."""
        spatial = [d.L for d in self.dims]
        col = int(self.kc.attr("storage_order", 0)) == 1
        idx = (lead[0] * self.x.shape[1] + lead[1]) * math.prod(spatial)
        for i, p in enumerate(pos):
            idx = idx + p * math.prod(spatial[:i] if col else spatial[i + 1:])
        return idx

    def finish(self, s, o, last_interior: bool, cnt):
        if self.base == "MaxPool":
            return s
        if self.base == "LpPool":
            return s if self.p == 1 else call("sqrt", s) if self.p == 2 else \
                powf(s, 1.0 / self.p)
        last = self.dims[-1]
        c_last = IntImm(last.K) if last_interior else last.count(o, self.include_pad)
        c = cnt * c_last
        return s / cast(self.wd, c)


def _tree(op: str, vals: list):
    while len(vals) > 1:
        vals = [combine(op, a, c) for a, c in zip(vals[::2], vals[1::2])] + vals[len(vals) & ~1:]
    return vals[0]


@kernel(*(p + v for p in POOLS for v in ("", "NCHWc", "NHWC")))
def pool(kc):
    if len(kc.outputs) > 1 and kc.node.op != "MaxPool":
        raise kc.error("only NCHW MaxPool has an Indices output")
    PoolKernel(kc).run()
