"""Builders for reductions (sum, mean, max/argmax, any/all, var/std, logsumexp, cumsum) and
vector norms. `dim=None` or an empty dim list reduces every axis, as in torch."""
from __future__ import annotations

import math

import numpy as np

from compiler.ir import dtypes as D

from .build_shape import reshape_to
from .context import NotConvertible, ir_dtype, is_value, norm_dim


# ---- reductions ----------------------------------------------------------------------------
def _axes(cx, x, dim):
    rank = x.type.rank
    if dim is None or (isinstance(dim, (list, tuple)) and len(dim) == 0):
        return list(range(rank))
    dims = dim if isinstance(dim, (list, tuple)) else [dim]
    return sorted({norm_dim(d, rank) for d in dims})


def _reduce(cx, op, x, dim, keepdim):
    if x.type.rank == 0:
        return x
    return cx.op(op, x, cx.ints(_axes(cx, x, dim), "axes"), keepdims=int(bool(keepdim)))


def _int_accumulating(op):
    """sum/prod: integer and bool inputs accumulate (and return) i64, as in torch."""
    def build(cx, input, dim=None, keepdim=False, *, dtype=None, out=None):
        if isinstance(dim, bool):
            raise NotConvertible("a bool where the dim was expected")
        if dtype is not None:
            x = cx.cast(input, ir_dtype(dtype))
        else:
            x = input if input.type.dtype.is_float else cx.cast(input, D.i64)
        return _reduce(cx, op, x, dim, keepdim)
    return build


reduce_sum, reduce_prod = _int_accumulating("ReduceSum"), _int_accumulating("ReduceProd")


def mean(cx, input, dim=None, keepdim=False, *, dtype=None, out=None):
    x = input if dtype is None else cx.cast(input, ir_dtype(dtype))
    if not x.type.dtype.is_float:
        raise NotConvertible(f"mean of a {x.type.dtype} tensor (torch requires a float dtype)")
    return _reduce(cx, "ReduceMean", x, dim, keepdim)


def amax(cx, input, dim=(), keepdim=False, *, out=None):
    return _reduce(cx, "ReduceMax", input, dim, keepdim)


def amin(cx, input, dim=(), keepdim=False, *, out=None):
    return _reduce(cx, "ReduceMin", input, dim, keepdim)


def _extreme(reduce_op, arg_op, binary_op):
    def build(cx, input, dim=None, keepdim=False, *, out=None):
        if is_value(dim):                       # torch.max(a, b): elementwise
            dt = cx.promote(input, dim)
            return cx.op(binary_op, cx.cast(input, dt), cx.cast(dim, dt))
        if dim is None:
            return _reduce(cx, reduce_op, input, None, False)
        d = norm_dim(dim, input.type.rank)
        values = _reduce(cx, reduce_op, input, d, keepdim)
        indices = cx.op(arg_op, input, axis=d, keepdims=int(bool(keepdim)))
        return values, indices
    return build


reduce_max = _extreme("ReduceMax", "ArgMax", "Max")
reduce_min = _extreme("ReduceMin", "ArgMin", "Min")


def _arg(op):
    def build(cx, input, dim=None, keepdim=False):
        if dim is None:
            flat = reshape_to(cx, input, [-1])
            y = cx.op(op, flat, axis=0, keepdims=0)
            return reshape_to(cx, y, [1] * input.type.rank) if keepdim else y
        return cx.op(op, input, axis=norm_dim(dim, input.type.rank), keepdims=int(bool(keepdim)))
    return build


argmax, argmin = _arg("ArgMax"), _arg("ArgMin")


def _any_all(op):
    def build(cx, input, dim=None, keepdim=False, *, out=None):
        from .build_math import as_bool
        y = _reduce(cx, op, as_bool(cx, input), dim, keepdim)
        return cx.cast(y, D.u8) if input.type.dtype == D.u8 else y
    return build


reduce_any, reduce_all = _any_all("ReduceMax"), _any_all("ReduceMin")


def var(cx, input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    corr = correction if correction is not None else (0 if unbiased is False else 1)
    axes = _axes(cx, input, dim)
    n = int(np.prod([cx.shape(input)[a] for a in axes]))
    dt = input.type.dtype
    m = cx.op("ReduceMean", input, cx.ints(axes, "axes"), keepdims=1)
    d = cx.op("Sub", input, m)
    v = cx.op("ReduceMean", cx.op("Mul", d, d), cx.ints(axes, "axes"), keepdims=int(keepdim))
    if corr:
        v = cx.op("Mul", v, cx.scalar(n / max(n - corr, 0) if n > corr else math.inf, dt))
    return v


def std(cx, input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    return cx.op("Sqrt", var(cx, input, dim, unbiased, keepdim, correction=correction))


def var_mean(cx, input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return (var(cx, input, dim, unbiased, keepdim, correction=correction),
            mean(cx, input, dim if not isinstance(dim, bool) else None, keepdim))


def logsumexp(cx, input, dim, keepdim=False, *, out=None):
    return _reduce(cx, "ReduceLogSumExp", cx.default_float(input), dim, keepdim)


def cumsum(cx, input, dim, *, dtype=None, out=None):
    x = input if dtype is None else cx.cast(input, ir_dtype(dtype))
    if dtype is None and not x.type.dtype.is_float:
        x = cx.cast(x, D.i64)
    axis = cx.const(np.array(norm_dim(dim, x.type.rank), np.int64), name="axis")
    return cx.op("CumSum", x, axis)


def topk(cx, input, k, dim=-1, largest=True, sorted=True, *, out=None):
    axis = norm_dim(dim, input.type.rank)
    values, indices = cx.op("TopK", input, cx.ints([k], "k"), axis=axis,
                            largest=int(bool(largest)), sorted=1, n_outputs=2)
    return values, indices


def sort(cx, input, dim=-1, descending=False, stable=None):
    if isinstance(dim, bool):          # sort(stable, dim, descending) overload
        raise NotConvertible("sort with a positional stable flag")
    axis = norm_dim(dim, input.type.rank)
    return topk(cx, input, cx.shape(input)[axis], axis, largest=descending)


def aten_sort(cx, input, dim=-1, descending=False, *, stable=None):
    return sort(cx, input, dim, descending)


# ---- norms ----------------------------------------------------------------------------------
def normalize(cx, input, p=2.0, dim=1, eps=1e-12, out=None):
    if p != 2:
        raise NotConvertible(f"normalize with p={p}")
    d = norm_dim(dim, input.type.rank)
    n = cx.op("ReduceL2", input, cx.ints([d], "axes"), keepdims=1)
    return cx.op("Div", input, cx.op("Max", n, cx.scalar(eps, input.type.dtype)))


def norm(cx, input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    if p in ("fro", None):
        p = 2
    if isinstance(p, str):
        raise NotConvertible(f"norm with p={p!r}")
    return vector_norm(cx, input, p, dim, keepdim, dtype=dtype)


def vector_norm(cx, input, ord=2, dim=None, keepdim=False, *, dtype=None):
    x = cx.default_float(input if dtype is None else cx.cast(input, ir_dtype(dtype)))
    if ord == 2:
        return _reduce(cx, "ReduceL2", x, dim, keepdim)
    if ord == 1:
        return _reduce(cx, "ReduceL1", x, dim, keepdim)
    if ord == math.inf:
        return _reduce(cx, "ReduceMax", cx.op("Abs", x), dim, keepdim)
    raise NotConvertible(f"vector norm of order {ord}")
