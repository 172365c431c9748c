"""Elementwise and broadcasting ops: arithmetic, comparison and logic (numpy broadcasting),
variadic Max/Min/Sum/Mean, Cast/CastLike, Where and Clip.

Unary math functions live in `math_unary.py`, activations in `activation.py`; the dtype sets and
helpers they share are defined here."""
from __future__ import annotations

import functools

import numpy as np

from ..ir import dtypes as D
from ..ir.dtypes import FLOAT_DTYPES, INT_DTYPES
from ..ir.types import TensorType
from .common import broadcast_shapes, input_type, require_dtype, require_same_dtype
from .registry import REQUIRED, OpKind, def_op

NUMERIC = FLOAT_DTYPES + INT_DTYPES
SIGNED_NUMERIC = FLOAT_DTYPES + tuple(d for d in INT_DTYPES if d.is_signed)
BOOL = (D.bool_,)

# ONNX TensorProto.DataType enum -> our dtype (Cast's `to`).
ONNX_DTYPE = {1: D.f32, 2: D.u8, 3: D.i8, 4: D.u16, 5: D.i16, 6: D.i32, 7: D.i64, 9: D.bool_,
              10: D.f16, 11: D.f64, 12: D.u32, 13: D.u64}


# ---- helpers shared with the other elementwise-ish modules ----------------------------------
def work_dtype(*dts) -> np.dtype:
    """The dtype to compute a float function in: f64 if any input is f64, else f32."""
    return np.dtype(np.float64) if any(np.dtype(d) == np.float64 for d in dts) \
        else np.dtype(np.float32)


def as_out(r, dtype) -> np.ndarray:
    """An ndarray (never a numpy scalar) of exactly `dtype`."""
    return np.asarray(r).astype(np.dtype(dtype), copy=False)


def float_apply(fn, x: np.ndarray, *args) -> np.ndarray:
    """Apply `fn` to `x` computed in at least f32 precision, result in x's dtype."""
    with np.errstate(all="ignore"):
        return as_out(fn(np.asarray(x).astype(work_dtype(x.dtype), copy=False), *args), x.dtype)


def elementwise_infer(allowed, out_dtype=None, what: str = ""):
    """Rule for one-input elementwise ops: dtype in `allowed`, same shape."""
    def infer(call):
        dt = require_dtype(call, 0, allowed, what)
        return [TensorType(out_dtype or dt, input_type(call, 0).shape)]
    return infer


def broadcast_infer(allowed, out_dtype=None, indices=None):
    """Rule for multidirectional-broadcasting ops whose inputs all share one dtype in `allowed`."""
    def infer(call):
        idx = list(indices) if indices is not None else list(range(len(call.input_types)))
        require_dtype(call, idx[0], allowed)
        dt = require_same_dtype(call, idx)
        shape = broadcast_shapes(call, *(input_type(call, i).shape for i in idx))
        return [TensorType(out_dtype or dt, shape)]
    return infer


def check_unidirectional(call, i: int, target_shape, what: str) -> None:
    """Input i must broadcast to `target_shape` without changing it (ONNX unidirectional)."""
    s = input_type(call, i).shape
    target = tuple(target_shape)
    bad = len(s) > len(target)
    if not bad:
        for d, t in zip(reversed(s), reversed(target)):
            if d == 1 or d == t or isinstance(d, str) or isinstance(t, str):
                continue
            bad = True
    if bad:
        raise call.error(f"{what} of shape {list(s)} is not unidirectionally broadcastable "
                         f"to shape {list(target)}")


# ---- binary arithmetic ---------------------------------------------------------------------
def _binary(name, fn, allowed=NUMERIC, out_dtype=None, commutative=False):
    def compute(c):
        a, b = c.values
        with np.errstate(all="ignore"):
            return [as_out(fn(a, b), out_dtype.np_dtype if out_dtype else a.dtype)]
    def_op(name, OpKind.BROADCAST, broadcast_infer(allowed, out_dtype), compute, inputs=2,
           commutative=commutative)


def trunc_div(a, b):
    """ONNX Div: true division for floats, C-style truncation toward zero for integers."""
    if a.dtype.kind == "f":
        return np.true_divide(a, b)
    if a.dtype.kind == "u":
        return np.floor_divide(a, b)
    # signed: C-style truncation toward zero (floor division rounds toward -inf)
    q = np.floor_divide(a, b)
    fix = (q * b != a) & ((a < 0) != (b < 0)) & (b != 0)
    return np.where(fix, q + 1, q)


_binary("Add", np.add, commutative=True)
_binary("Sub", np.subtract)
_binary("Mul", np.multiply, commutative=True)
_binary("Div", trunc_div)


def _pow_infer(call):
    require_dtype(call, 0, NUMERIC, "base")
    require_dtype(call, 1, NUMERIC, "exponent")
    a, b = input_type(call, 0), input_type(call, 1)
    return [TensorType(a.dtype, broadcast_shapes(call, a.shape, b.shape))]


def _pow(c):
    x, y = c.values
    with np.errstate(all="ignore"):
        if x.dtype.kind == "f":
            w = work_dtype(x.dtype, y.dtype)
            return [as_out(np.power(x.astype(w), y.astype(w)), x.dtype)]
        # integer base: exact (wrapping) integer power for non-negative integer exponents,
        # C's trunc(pow(double, double)) otherwise
        wide = np.uint64 if x.dtype.kind == "u" else np.int64
        via_float = np.trunc(np.power(x.astype(np.float64), y.astype(np.float64)))
        if y.dtype.kind in "iu":
            neg = y < 0
            exact = np.power(x.astype(wide), np.where(neg, 0, y).astype(wide))
            r = np.where(neg, via_float.astype(wide), exact)
        else:
            r = via_float.astype(wide)
        return [as_out(r, x.dtype)]


def_op("Pow", OpKind.BROADCAST, _pow_infer, _pow, inputs=2,
       doc="x ** y; the exponent's dtype may differ; the result has the base's dtype")


def _mod_infer(call):
    if call.attrs["fmod"] not in (0, 1):
        raise call.error(f"attribute fmod must be 0 or 1, got {call.attrs['fmod']}")
    return broadcast_infer(NUMERIC)(call)


def _mod(c):
    a, b = c.values
    with np.errstate(all="ignore"):
        r = np.fmod(a, b) if c.attrs["fmod"] else np.mod(a, b)
    return [as_out(r, a.dtype)]


def_op("Mod", OpKind.BROADCAST, _mod_infer, _mod, inputs=2, attrs={"fmod": ("int", 0)})


# ---- variadic ------------------------------------------------------------------------------
def _variadic(name, fn, allowed, finish=None):
    def compute(c):
        vals = list(c.values)
        dt = vals[0].dtype
        with np.errstate(all="ignore"):
            if dt.kind == "f":   # accumulate f16 in f32
                vals = [v.astype(work_dtype(dt)) for v in vals]
            r = functools.reduce(fn, vals[1:], vals[0])
            if finish is not None:
                r = finish(r, len(vals))
            r = np.broadcast_to(r, np.broadcast_shapes(*(v.shape for v in vals)))
            return [np.array(r, dtype=dt)]
    def_op(name, OpKind.BROADCAST, broadcast_infer(allowed), compute, inputs=(1, None),
           commutative=True)


_variadic("Max", np.maximum, NUMERIC)
_variadic("Min", np.minimum, NUMERIC)
_variadic("Sum", np.add, NUMERIC)
_variadic("Mean", np.add, FLOAT_DTYPES, finish=lambda s, n: s / n)


# ---- comparison and logic ------------------------------------------------------------------
_binary("Equal", np.equal, NUMERIC + BOOL, D.bool_, commutative=True)
_binary("Less", np.less, NUMERIC, D.bool_)
_binary("LessOrEqual", np.less_equal, NUMERIC, D.bool_)
_binary("Greater", np.greater, NUMERIC, D.bool_)
_binary("GreaterOrEqual", np.greater_equal, NUMERIC, D.bool_)
_binary("And", np.logical_and, BOOL, commutative=True)
_binary("Or", np.logical_or, BOOL, commutative=True)
_binary("Xor", np.logical_xor, BOOL, commutative=True)
def_op("Not", OpKind.ELEMWISE, elementwise_infer(BOOL), lambda c: [np.logical_not(c.values[0])])


# ---- Cast, CastLike ------------------------------------------------------------------------
def _cast_target(call):
    to = call.attrs["to"]
    if to not in ONNX_DTYPE:
        supported = ", ".join(f"{k} ({v})" for k, v in ONNX_DTYPE.items())
        raise call.error(f"attribute to={to} is not a supported ONNX dtype; supported: {supported}")
    return ONNX_DTYPE[to]


def _cast(x: np.ndarray, dtype) -> np.ndarray:
    with np.errstate(all="ignore"):   # float -> int out of range is undefined in ONNX
        return as_out(x, dtype)


_CAST_ATTRS = {"saturate": ("int", 1), "round_mode": ("string", "up")}  # float8-only; accepted
def_op("Cast", OpKind.ELEMWISE,
       lambda call: [input_type(call, 0).with_dtype(_cast_target(call))],
       lambda c: [_cast(c.values[0], _cast_target(c).np_dtype)],
       attrs={"to": ("int", REQUIRED), **_CAST_ATTRS})
# CastLike reads only the dtype of its second input, whose shape is unrelated to the output:
# it is OPAQUE so fusion never indexes that input like an elementwise operand.
def_op("CastLike", OpKind.OPAQUE,
       lambda call: [input_type(call, 0).with_dtype(input_type(call, 1).dtype)],
       lambda c: [_cast(c.values[0], c.values[1].dtype)], inputs=2, attrs=dict(_CAST_ATTRS))


# ---- Where, Clip ---------------------------------------------------------------------------
def _where_infer(call):
    require_dtype(call, 0, BOOL, "condition")
    dt = require_same_dtype(call, [1, 2])
    shape = broadcast_shapes(call, *(input_type(call, i).shape for i in range(3)))
    return [TensorType(dt, shape)]


def_op("Where", OpKind.BROADCAST, _where_infer,
       lambda c: [as_out(np.where(*c.values), c.values[1].dtype)], inputs=3)


def _clip_infer(call):
    dt = require_dtype(call, 0, NUMERIC)
    for i, what in ((1, "min"), (2, "max")):
        if call.has_input(i):
            t = input_type(call, i)
            if t.dtype != dt:
                raise call.error(f"input {i} ({what}) has dtype {t.dtype}, but input 0 has {dt}")
            one = t.rank == 1 and (t.shape[0] == 1 or isinstance(t.shape[0], str))
            if not (t.rank == 0 or one):
                raise call.error(f"input {i} ({what}) must be a scalar, got shape {list(t.shape)}")
    return [input_type(call, 0)]


def _clip(c):
    x, lo, hi = (list(c.values) + [None, None])[:3]
    r = x
    if lo is not None:
        r = np.maximum(r, lo.reshape(()))
    if hi is not None:
        r = np.minimum(r, hi.reshape(()))
    return [as_out(r, x.dtype) if r is not x else x.copy()]


def_op("Clip", OpKind.BROADCAST, _clip_infer, _clip, inputs=(1, 3),
       doc="min(max(x, min), max); absent bounds are the dtype's limits")

__all__ = ["ONNX_DTYPE", "NUMERIC", "SIGNED_NUMERIC", "BOOL", "work_dtype",
           "as_out", "float_apply", "trunc_div", "elementwise_infer", "broadcast_infer",
           "check_unidirectional"]
