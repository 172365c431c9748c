"""Reductions: Reduce* (axes as an optional i64 input, keepdims, noop_with_empty_axes) and
ArgMax/ArgMin. Reducing over an empty set gives the reduction's identity, as ONNX specifies
(sum 0, prod 1, max -inf / the dtype's minimum, min +inf / the dtype's maximum)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..ir import dtypes as D
from ..ir.dtypes import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES
from ..ir.types import UNKNOWN, TensorType
from .common import const_ints, input_type, normalize_axes, normalize_axis, require_dtype
from .elementwise import NUMERIC, as_out, trunc_div, work_dtype
from .registry import OpKind, def_op

_REDUCE_ATTRS = {"keepdims": ("int", 1), "noop_with_empty_axes": ("int", 0)}


def _check_flag(call, name):
    if call.attrs[name] not in (0, 1):
        raise call.error(f"attribute {name} must be 0 or 1, got {call.attrs[name]}")


def reduce_axes(call, rank: int) -> Optional[list]:
    """The normalised axes a Reduce* call reduces, or None when the axes input isn't constant."""
    axes: list = []
    if call.has_input(1):
        t = input_type(call, 1)
        if t.dtype not in (D.i64, D.i32):
            raise call.error(f"input 1 (axes) has dtype {t.dtype}; expected i64")
        if t.rank > 1:
            raise call.error(f"input 1 (axes) must be 1-D, got shape {list(t.shape)}")
        axes = const_ints(call, 1, "axes")
        if axes is None:
            return None
    if not axes:
        return [] if call.attrs["noop_with_empty_axes"] else list(range(rank))
    return sorted(normalize_axes(call, axes, rank))


def _reduce_infer(allowed):
    def infer(call):
        dt = require_dtype(call, 0, allowed)
        for f in ("keepdims", "noop_with_empty_axes"):
            _check_flag(call, f)
        shape = input_type(call, 0).shape
        keep = call.attrs["keepdims"]
        axes = reduce_axes(call, len(shape))
        if axes is not None:
            if keep:
                out = tuple(1 if i in axes else d for i, d in enumerate(shape))
            else:
                out = tuple(d for i, d in enumerate(shape) if i not in axes)
            return [TensorType(dt, out)]
        # axes not known at compile time: any dim may be reduced
        if keep:
            return [TensorType(dt, tuple(1 if d == 1 else UNKNOWN for d in shape))]
        n = input_type(call, 1).shape[0] if input_type(call, 1).rank == 1 else 1
        if not isinstance(n, int):
            raise call.error("with keepdims=0 the axes input must be a constant or have a static "
                             "length (the output rank would be unknown)")
        if n == 0:
            rank = len(shape) if call.attrs["noop_with_empty_axes"] else 0
        else:
            rank = len(shape) - n
            if rank < 0:
                raise call.error(f"{n} axes given for an input of rank {len(shape)}")
        return [TensorType(dt, (UNKNOWN,) * rank)]
    return infer


def _count(x, axes):
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def _float_or(x, fn_float, fn_int):
    """Compute floats in >= f32 precision, integers with fn_int; result in x's dtype."""
    with np.errstate(all="ignore"):
        if x.dtype.kind == "f":
            return as_out(fn_float(x.astype(work_dtype(x.dtype), copy=False)), x.dtype)
        return as_out(fn_int(x), x.dtype)


def _sum(x, ax, k):
    return _float_or(x, lambda v: np.sum(v, axis=ax, keepdims=k),
                     lambda v: np.sum(v, axis=ax, keepdims=k, dtype=v.dtype))


def _mean(x, ax, k):
    n = _count(x, ax)

    def f(v):   # 0 / 0 = NaN for an empty reduction
        return np.sum(v, axis=ax, keepdims=k) / v.dtype.type(n)

    def i(v):
        wide = np.uint64 if v.dtype.kind == "u" else np.int64
        s = np.sum(v, axis=ax, keepdims=k, dtype=wide)
        return trunc_div(s, wide(max(n, 1))) if n else np.zeros_like(s)
    return _float_or(x, f, i)


def _extreme(x, ax, k, is_max):
    if x.dtype.kind == "f":
        init = -np.inf if is_max else np.inf
    elif x.dtype.kind == "b":
        init = not is_max
    else:
        info = np.iinfo(x.dtype)
        init = info.min if is_max else info.max
    fn = np.max if is_max else np.min
    return as_out(fn(x, axis=ax, keepdims=k, initial=init), x.dtype)


def _prod(x, ax, k):
    return _float_or(x, lambda v: np.prod(v, axis=ax, keepdims=k),
                     lambda v: np.prod(v, axis=ax, keepdims=k, dtype=v.dtype))


def _l1(x, ax, k):
    return _float_or(x, lambda v: np.sum(np.abs(v), axis=ax, keepdims=k),
                     lambda v: np.sum(np.abs(v), axis=ax, keepdims=k, dtype=v.dtype))


def _sum_square(x, ax, k):
    return _float_or(x, lambda v: np.sum(v * v, axis=ax, keepdims=k),
                     lambda v: np.sum(v * v, axis=ax, keepdims=k, dtype=v.dtype))


def _l2(x, ax, k):
    def i(v):
        wide = np.uint64 if v.dtype.kind == "u" else np.int64
        s = np.sum(v.astype(wide) * v.astype(wide), axis=ax, keepdims=k, dtype=wide)
        return np.trunc(np.sqrt(s.astype(np.float64)))
    return _float_or(x, lambda v: np.sqrt(np.sum(v * v, axis=ax, keepdims=k)), i)


def _log_sum(x, ax, k):
    return _float_or(x, lambda v: np.log(np.sum(v, axis=ax, keepdims=k)), None)


def _log_sum_exp(x, ax, k):
    def f(v):
        m = np.max(v, axis=ax, keepdims=True, initial=-np.inf)
        m = np.where(np.isfinite(m), m, 0).astype(v.dtype)
        r = np.log(np.sum(np.exp(v - m), axis=ax, keepdims=True)) + m
        return r if k else np.squeeze(r, axis=ax)
    return _float_or(x, f, None)


def _reduce_op(name, fn, allowed=NUMERIC):
    def compute(c):
        x = np.asarray(c.values[0])
        axes = tuple(reduce_axes(c, x.ndim))
        return [fn(x, axes, bool(c.attrs["keepdims"]))]
    def_op(name, OpKind.REDUCTION, _reduce_infer(allowed), compute, inputs=(1, 2),
           attrs=dict(_REDUCE_ATTRS))


_reduce_op("ReduceSum", _sum)
_reduce_op("ReduceMean", _mean)
_reduce_op("ReduceMax", lambda x, a, k: _extreme(x, a, k, True), ALL_DTYPES)
_reduce_op("ReduceMin", lambda x, a, k: _extreme(x, a, k, False), ALL_DTYPES)
_reduce_op("ReduceProd", _prod)
_reduce_op("ReduceL1", _l1)
_reduce_op("ReduceL2", _l2)
_reduce_op("ReduceSumSquare", _sum_square)
_reduce_op("ReduceLogSum", _log_sum, FLOAT_DTYPES)
_reduce_op("ReduceLogSumExp", _log_sum_exp, FLOAT_DTYPES)


# ---- ArgMax / ArgMin -----------------------------------------------------------------------
def _arg_infer(call):
    require_dtype(call, 0, FLOAT_DTYPES + INT_DTYPES)
    for f in ("keepdims", "select_last_index"):
        _check_flag(call, f)
    shape = input_type(call, 0).shape
    axis = normalize_axis(call, call.attrs["axis"], len(shape))
    if shape[axis] == 0:
        raise call.error(f"cannot take {call.op.name} over axis {axis} of size 0 "
                         f"(input shape {list(shape)})")
    if call.attrs["keepdims"]:
        out = shape[:axis] + (1,) + shape[axis + 1:]
    else:
        out = shape[:axis] + shape[axis + 1:]
    return [TensorType(D.i64, out)]


def _arg(is_max):
    def compute(c):
        x = np.asarray(c.values[0])
        axis = normalize_axis(c, c.attrs["axis"], x.ndim)
        if x.shape[axis] == 0:
            raise c.error(f"cannot take {c.op.name} over axis {axis} of size 0")
        fn = np.argmax if is_max else np.argmin
        if c.attrs["select_last_index"]:
            r = x.shape[axis] - 1 - fn(np.flip(x, axis), axis=axis)
        else:
            r = fn(x, axis=axis)
        r = np.asarray(r, dtype=np.int64)
        return [np.expand_dims(r, axis) if c.attrs["keepdims"] else r]
    return compute


_ARG_ATTRS = {"axis": ("int", 0), "keepdims": ("int", 1), "select_last_index": ("int", 0)}
def_op("ArgMax", OpKind.REDUCTION, _arg_infer, _arg(True), attrs=dict(_ARG_ATTRS))
def_op("ArgMin", OpKind.REDUCTION, _arg_infer, _arg(False), attrs=dict(_ARG_ATTRS))

__all__ = ["reduce_axes"]
