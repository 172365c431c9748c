"""Kernel rules of the normalisations: Softmax, LogSoftmax, LayerNormalization,
InstanceNormalization, LpNormalization (semantics: compiler/ops/normalization.py).

Each is a few passes over a line (the normalised axis or axes, see _reduce_lines): statistics
in f32 (f64 for f64 inputs) held in vector accumulators, then one pass that writes every output
element once. Softmax's max is subtracted before exp (0 when the max is not finite, as the
reference) and exp(x - max) is kept in a per-thread row buffer between the sum and the scaling
pass when the line is short enough; variances are two-pass (sum of squared deviations)."""
from __future__ import annotations

import math

from compiler.ir import dtypes as D
from compiler.loop import call, const, select

from ..registry import kernel
from ..tensor import broadcast_index
from ._reduce_lines import ROW_BUFFER_BYTES, convert, for_lines, op_call, work_dtype


PASSES = 3      # passes over the data (max/mean, sum/variance, write): the parallel cut's work


def _axis(kc, rank: int) -> int:
    from compiler.ops.common import normalize_axis
    call_ = op_call(kc)
    return normalize_axis(call_, call_.attrs["axis"], rank)


def _finite_or_zero(m):
    """m where finite, else 0 (m - m is 0 only for finite m)."""
    return select((m - m).eq(0.0), m, 0.0)


def _mean_of(s, n: int):
    return s / float(n) if n else const(math.nan, s.dtype)


@kernel("Softmax", "LogSoftmax")
def softmax(kc):
    x, out = kc.inputs[0], kc.outputs[0]
    axis = _axis(kc, x.rank)
    wd = work_dtype(x.dtype)
    log = kc.node.op == "LogSoftmax"
    b = kc.b
    k = x.shape[axis]

    def line_body(line):
        xv = lambda idx: convert(x[idx], wd)
        # a NaN anywhere makes the sum NaN whatever the shift: the max may skip NaNs
        m = line.reduce("maxnum", wd, xv, hint="max")
        m = b.let(kc.fresh("m"), _finite_or_zero(m))
        ex = lambda idx: call("exp", xv(idx) - m)
        if log:
            s = line.reduce("+", wd, ex, hint="sum")
            ls = b.let(kc.fresh("ls"), call("log", s))
            line.map(lambda idx: out.store(idx, convert(xv(idx) - m - ls, out.dtype)))
            return
        row = None
        if line.inner and k * wd.itemsize <= ROW_BUFFER_BYTES:
            row = b.alloc(kc.fresh("e"), wd, (k,))
        s = line.reduce("+", wd, ex, hint="sum",
                        each=None if row is None else lambda idx, v: row.store((idx[axis],), v))
        inv = b.let(kc.fresh("inv"), 1.0 / s)
        e = ex if row is None else (lambda idx: row[(idx[axis],)])
        line.map(lambda idx: out.store(idx, convert(e(idx) * inv, out.dtype)))
    for_lines(kc, x.shape, (axis,), line_body, wd, work=PASSES * x.size + x.size)   # + exp


def _moments(kc, line, xv, n: int):
    """(mean, 1 / sqrt(var + eps)) of the line, two-pass as the reference."""
    b = kc.b
    mean = b.let(kc.fresh("mean"), _mean_of(line.reduce("+", xv.dtype, xv, hint="sum"), n))
    ss = line.reduce("+", mean.dtype, lambda idx: _sq(xv(idx) - mean), hint="ss")
    eps = float(kc.attr("epsilon", 1e-5))
    inv = b.let(kc.fresh("inv"), 1.0 / call("sqrt", _mean_of(ss, n) + eps))
    return mean, inv


def _sq(v):
    return v * v


class _Widened:
    """x's element in the work dtype (a callable with a .dtype)."""

    def __init__(self, x, dtype):
        self.x, self.dtype = x, dtype

    def __call__(self, idx):
        return convert(self.x[idx], self.dtype)


@kernel("LayerNormalization")
def layer_norm(kc):
    x, scale = kc.inputs[0], kc.inputs[1]
    bias = kc.inputs[2] if len(kc.inputs) > 2 else None
    if int(kc.attr("stash_type", 1)) != 1:
        raise kc.error(f"stash_type {kc.attr('stash_type')} is unsupported; only 1 (f32) is")
    axis = _axis(kc, x.rank)
    axes = tuple(range(axis, x.rank))
    n = math.prod(x.shape[axis:])
    xv = _Widened(x, work_dtype(x.dtype))
    y = kc.outputs[0]
    stats = kc.outputs[1:]
    b = kc.b

    def line_body(line):
        mean, inv = _moments(kc, line, xv, n)
        for o, v in zip(stats, (mean, inv)):
            b.emit(o.store(line.out_index(True), convert(v, D.f32)))

        def value(idx):
            r = (xv(idx) - mean) * inv * convert(scale[broadcast_index(idx, scale.shape)],
                                                 xv.dtype)
            if bias is not None:
                r = r + convert(bias[broadcast_index(idx, bias.shape)], xv.dtype)
            return convert(r, y.dtype)
        line.map(lambda idx: y.store(idx, value(idx)))
    for_lines(kc, x.shape, axes, line_body, xv.dtype, work=PASSES * x.size)


@kernel("InstanceNormalization")
def instance_norm(kc):
    x, scale, bias = kc.inputs[:3]
    y = kc.outputs[0]
    axes = tuple(range(2, x.rank))
    n = math.prod(x.shape[2:])
    xv = _Widened(x, work_dtype(x.dtype))
    b = kc.b

    def line_body(line):
        mean, inv = _moments(kc, line, xv, n)
        c = (line.lead[1],)
        a = b.let(kc.fresh("a"), inv * convert(scale[c], xv.dtype))
        sh = b.let(kc.fresh("sh"), convert(bias[c], xv.dtype))
        line.map(lambda idx: y.store(idx, convert((xv(idx) - mean) * a + sh, y.dtype)))
    for_lines(kc, x.shape, axes, line_body, xv.dtype, work=PASSES * x.size)


@kernel("LpNormalization")
def lp_norm(kc):
    x, y = kc.inputs[0], kc.outputs[0]
    axis = _axis(kc, x.rank)
    p = int(kc.attr("p", 2))
    if p not in (1, 2):
        raise kc.error(f"attribute p must be 1 or 2, got {p}")
    xv = _Widened(x, work_dtype(x.dtype))
    b = kc.b

    def line_body(line):
        if p == 1:
            norm = line.reduce("+", xv.dtype, lambda idx: call("abs", xv(idx)), hint="l1")
        else:
            norm = call("sqrt", line.reduce("+", xv.dtype, lambda idx: _sq(xv(idx)), hint="l2"))
        norm = b.let(kc.fresh("norm"), norm)
        inv = b.let(kc.fresh("inv"), select(norm.eq(0.0), 0.0, 1.0 / norm))
        line.map(lambda idx: y.store(idx, convert(xv(idx) * inv, y.dtype)))
    for_lines(kc, x.shape, (axis,), line_body, xv.dtype, work=(PASSES - 1) * x.size)
