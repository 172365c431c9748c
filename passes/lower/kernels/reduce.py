"""Kernel rules of the reductions: Reduce{Sum,Mean,Max,Min,Prod,L1,L2,SumSquare,LogSum,
LogSumExp} and the global pools (GlobalAveragePool / GlobalMaxPool / GlobalLpPool and their
NCHWc / NHWC variants, which are reductions over the spatial axes).

Semantics follow compiler/ops/reduction.py and pool.py: floats accumulate in f32 (f64 for f64),
integers in their own dtype (wrapping) except Mean and L2, which sum in i64 / u64; an empty
reduction gives the identity (sum 0, max -inf or the dtype's minimum, mean NaN / 0).
The loop shapes are those of _reduce_lines: vectorised along the reduced last axis, or across
the contiguous kept last axis when the reduction is over outer axes."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from compiler.ir import dtypes as D
from compiler.loop import Ramp, call, cast, const, select
from compiler.loop.expr import IntImm

from ..registry import kernel
from ._reduce_lines import Acc, convert, for_lines, op_call, powf, vec, work_dtype


@dataclass(frozen=True)
class Reduction:
    """result = post(op-combination of pre(x) over the line, count), in `acc` until post."""
    op: str
    acc: object
    pre: Callable
    post: Callable = lambda s, n: s


def _wide_int(dtype):
    return D.u64 if not dtype.is_signed else D.i64


def _trunc_div(s, n: int):
    """Integer s / n rounded toward zero (n > 0), as the reference's integer mean."""
    q = s // n
    if not s.dtype.is_signed:
        return q
    fix = s.lt(0).logical_and((s % n).ne(0))
    return select(fix, q + 1, q)


def _mean(dtype) -> Reduction:
    if dtype.is_float:
        acc = work_dtype(dtype)
        return Reduction("+", acc, lambda x: convert(x, acc),
                         lambda s, n: s / float(n) if n else const(math.nan, acc))
    acc = _wide_int(dtype)
    return Reduction("+", acc, lambda x: convert(x, acc),
                     lambda s, n: _trunc_div(s, n) if n else const(0, acc))


def _l2(dtype) -> Reduction:
    if dtype.is_float:
        acc = work_dtype(dtype)
        return Reduction("+", acc, lambda x: _square(convert(x, acc)),
                         lambda s, n: call("sqrt", s))
    acc = _wide_int(dtype)
    return Reduction("+", acc, lambda x: _square(convert(x, acc)),
                     lambda s, n: cast(acc, call("sqrt", cast(D.f64, s))))   # wraps like numpy


def _square(x):
    return x * x


def _abs(x):
    return x if not x.dtype.is_signed else call("abs", x)


def _simple(op: str, pre=lambda x: x, post=lambda s, n: s):
    def make(dtype) -> Reduction:
        acc = D.u8 if dtype is D.bool_ else work_dtype(dtype)   # no lane reductions of bool
        return Reduction(op, acc, lambda x: pre(convert(x, acc)), post)
    return make


def _lp(p: int):
    if p == 1:
        return _simple("+", _abs)
    if p == 2:
        return _simple("+", _square, lambda s, n: call("sqrt", s))
    return _simple("+", lambda x: powf(call("abs", x), float(p)),
                   lambda s, n: powf(s, 1.0 / p))


REDUCTIONS = {
    "ReduceSum": _simple("+"),
    "ReduceMean": _mean,
    "ReduceMax": _simple("max"),
    "ReduceMin": _simple("min"),
    "ReduceProd": _simple("*"),
    "ReduceL1": _simple("+", _abs),
    "ReduceL2": _l2,
    "ReduceSumSquare": _simple("+", _square),
    "ReduceLogSum": _simple("+", post=lambda s, n: call("log", s)),
}


def emit_reduction(kc, x, axes, out, red: Reduction) -> None:
    """out = red over `axes` of x (keepdims when out has x's rank)."""
    keep = out.rank == x.rank
    n = math.prod(x.shape[a] for a in axes)

    def line_body(line):
        s = line.reduce(red.op, red.acc, lambda idx: red.pre(x[idx]))
        r = vec(convert(red.post(s, n), out.dtype), line.lanes)    # post may be a constant
        kc.b.emit(out.store(line.out_index(keep), r))
    for_lines(kc, x.shape, axes, line_body, red.acc)


def emit_log_sum_exp(kc, x, axes, out) -> None:
    """log(sum(exp(x - m))) + m with m the line's max (0 when not finite), as the reference."""
    keep = out.rank == x.rank
    acc = work_dtype(x.dtype)
    b = kc.b

    def line_body(line):
        xv = lambda idx: convert(x[idx], acc)
        m = line.reduce("maxnum", acc, xv)      # NaN-skipping: a NaN makes the sum NaN anyway
        m = b.let(kc.fresh("m"), select((m - m).eq(0.0), m, 0.0))
        s = line.reduce("+", acc, lambda idx: call("exp", xv(idx) - m))
        kc.b.emit(out.store(line.out_index(keep), convert(call("log", s) + m, out.dtype)))
    for_lines(kc, x.shape, axes, line_body, acc)


@kernel(*REDUCTIONS, "ReduceLogSumExp")
def reduce(kc):
    from compiler.ops.reduction import reduce_axes
    x, out = kc.inputs[0], kc.outputs[0]
    axes = reduce_axes(op_call(kc), x.rank)
    if axes is None:
        raise kc.error("the axes input must be a constant to compile a reduction")
    if kc.node.op == "ReduceLogSumExp":
        emit_log_sum_exp(kc, x, axes, out)
    else:
        emit_reduction(kc, x, axes, out, REDUCTIONS[kc.node.op](x.dtype))


# ---- global pools: reductions over the spatial axes, keepdims -----------------------------------
_GLOBAL = {"GlobalAveragePool": lambda p: _mean, "GlobalMaxPool": lambda p: _simple("max"),
           "GlobalLpPool": _lp}


def _spatial_axes(op: str, rank: int) -> tuple:
    if op.endswith("NCHWc"):
        return (2, 3)
    if op.endswith("NHWC"):
        return tuple(range(1, rank - 1))
    return tuple(range(2, rank))


@kernel(*(g + v for g in _GLOBAL for v in ("", "NCHWc", "NHWC")))
def global_pool(kc):
    x, out = kc.inputs[0], kc.outputs[0]
    base = next(g for g in _GLOBAL if kc.node.op.startswith(g))
    p = int(kc.attr("p", 2))
    if base == "GlobalLpPool" and p < 1:
        raise kc.error(f"p must be >= 1, got {p}")
    red = _GLOBAL[base](p)(x.dtype)
    emit_reduction(kc, x, _spatial_axes(kc.node.op, x.rank), out, red)


# ---- ArgMax / ArgMin ----------------------------------------------------------------------------
def _better(v, cur, is_max: bool, last: bool):
    """Does v replace the current best? NaN beats everything (numpy's argmax/argmin); ties go
    to the first index, or the last with select_last_index."""
    if last:
        b = v.ge(cur) if is_max else v.le(cur)
        return b.logical_or(v.ne(v)) if v.dtype.is_float else b
    b = v.gt(cur) if is_max else v.lt(cur)
    return b.logical_or(v.ne(v).logical_and(cur.eq(cur))) if v.dtype.is_float else b


@kernel("ArgMax", "ArgMin")
def arg_reduce(kc):
    from compiler.ops.common import normalize_axis
    x, out = kc.inputs[0], kc.outputs[0]
    call_ = op_call(kc)
    axis = normalize_axis(call_, call_.attrs["axis"], x.rank)
    keep = bool(call_.attrs["keepdims"])
    last = bool(call_.attrs["select_last_index"])
    is_max = kc.node.op == "ArgMax"
    if x.shape[axis] == 0:
        raise kc.error(f"cannot take {kc.node.op} over axis {axis} of size 0 (input shape "
                       f"{list(x.shape)})")
    wd = work_dtype(x.dtype)
    b = kc.b

    def line_body(line):
        load = lambda p: convert(x[line.index((p,))], wd)
        k, w = line.dims[0], line.w
        nvec = k // w if line.inner and w > 1 else 0
        start = nvec * w if line.inner else 0
        if nvec:        # lanes along the line: a best (value, index) per lane, then fold
            lv, li = Acc(kc, wd, w, load(Ramp(IntImm(0), 1, w)), "bv"), \
                Acc(kc, D.i64, w, Ramp(IntImm(0), 1, w), "bi")
            if nvec > 1:
                with b.for_(kc.fresh("j"), nvec - 1) as t:
                    pos = Ramp((t + 1) * w, 1, w)
                    _update(kc, lv, li, load(pos), pos, is_max, last)
            m = b.let(kc.fresh("m"), call("reduce_max" if is_max else "reduce_min", lv.value))
            hit = lv.value.eq(m)
            if wd.is_float:
                hit = hit.logical_or(lv.value.ne(lv.value).logical_and(m.ne(m)))
            none = -1 if last else int(np.iinfo(np.int64).max)
            i = call("reduce_max" if last else "reduce_min", select(hit, li.value, none))
            bv, bi = Acc(kc, wd, 1, m, "bv"), Acc(kc, D.i64, 1, i, "bi")
        else:
            bv, bi = Acc(kc, wd, line.lanes, load(IntImm(start)), "bv"), \
                Acc(kc, D.i64, line.lanes, IntImm(start), "bi")
            start += 1
        if k > start:
            with b.for_(kc.fresh("j"), k - start) as t:
                _update(kc, bv, bi, load(t + start), t + start, is_max, last)
        b.emit(out.store(line.out_index(keep), bi.value))
    for_lines(kc, x.shape, (axis,), line_body, wd)


def _update(kc, bv, bi, v, pos, is_max, last):
    v = kc.b.let(kc.fresh("v"), v)
    upd = kc.b.let(kc.fresh("u"), _better(v, bv.value, is_max, last))
    bv.set(select(upd, v, bv.value))
    bi.set(select(upd, pos, bi.value))
