"""Builders for elementwise arithmetic, comparisons, logic, casts, unary math and activations.

Each builder's parameters mirror the torch callable it converts (see context.py); binary ops
follow torch's type promotion (`cx.promote`), so `int_tensor / 2` is f32 and `x * 0.5` keeps x's
dtype."""
from __future__ import annotations

import math

import torch

from compiler.ir import dtypes as D

from .context import Ctx, NotConvertible, ir_dtype, is_value


# ---- binary arithmetic ---------------------------------------------------------------------
def _binary(cx: Ctx, op: str, a, b, dtype=None):
    dt = dtype or cx.promote(a, b)
    return cx.op(op, cx.tensor(a, dt), cx.tensor(b, dt))


def _scaled(cx, b, alpha, dt):
    if alpha is None or alpha == 1:
        return b
    return cx.op("Mul", cx.tensor(b, dt), cx.scalar(alpha, dt))


def add(cx, input, other, *, alpha=1, out=None):
    dt = cx.promote(input, other)
    return _binary(cx, "Add", input, _scaled(cx, other, alpha, dt), dt)


def sub(cx, input, other, *, alpha=1, out=None):
    dt = cx.promote(input, other)
    return _binary(cx, "Sub", input, _scaled(cx, other, alpha, dt), dt)


def rsub(cx, input, other, alpha=1):
    return sub(cx, other, input, alpha=alpha)


def mul(cx, input, other, *, out=None):
    return _binary(cx, "Mul", input, other)


def _floor_int_div(cx, a, b):
    """Integer division rounding toward -inf (ONNX Div truncates toward zero)."""
    q = cx.op("Div", a, b)
    r = cx.op("Sub", a, cx.op("Mul", q, b))
    zero = cx.scalar(0, a.type.dtype)
    fix = cx.op("And", cx.op("Not", cx.op("Equal", r, zero)),
                cx.op("Xor", cx.op("Less", r, zero), cx.op("Less", b, zero)))
    return cx.op("Sub", q, cx.cast(fix, a.type.dtype))


def div(cx, input, other, *, rounding_mode=None, out=None):
    dt = cx.promote(input, other)
    if rounding_mode is None:
        if not dt.is_float:
            dt = D.f32
        return _binary(cx, "Div", input, other, dt)
    a, b = cx.tensor(input, dt), cx.tensor(other, dt)
    if rounding_mode == "trunc":
        if not dt.is_float:
            return cx.op("Div", a, b)
        q = cx.op("Div", a, b)
        return cx.op("Where", cx.op("Less", q, cx.scalar(0, dt)), cx.op("Ceil", q),
                     cx.op("Floor", q))
    if rounding_mode == "floor":
        return cx.op("Floor", cx.op("Div", a, b)) if dt.is_float else _floor_int_div(cx, a, b)
    raise NotConvertible(f"rounding_mode={rounding_mode!r}")


def floordiv(cx, a, b):
    return div(cx, a, b, rounding_mode="floor")


def truediv(cx, a, b):
    return div(cx, a, b)


def remainder(cx, input, other):
    return _binary(cx, "Mod", input, other)


def fmod(cx, input, other):
    dt = cx.promote(input, other)
    return cx.op("Mod", cx.tensor(input, dt), cx.tensor(other, dt), fmod=1)


def pow_(cx, input, exponent):
    dt = cx.promote(input, exponent)
    return cx.op("Pow", cx.tensor(input, dt), cx.tensor(exponent, dt))


def maximum(cx, input, other):
    return _binary(cx, "Max", input, other)


def minimum(cx, input, other):
    return _binary(cx, "Min", input, other)


# ---- comparison and logic ------------------------------------------------------------------
def _compare(op, negate=False):
    def build(cx, input, other):
        r = _binary(cx, op, input, other)
        return cx.op("Not", r) if negate else r
    return build


eq, ne = _compare("Equal"), _compare("Equal", negate=True)
lt, le, gt, ge = (_compare(o) for o in ("Less", "LessOrEqual", "Greater", "GreaterOrEqual"))


def as_bool(cx, x):
    if is_value(x) and x.type.dtype != D.bool_:
        return cx.op("Not", cx.op("Equal", x, cx.scalar(0, x.type.dtype)))
    return cx.tensor(x, D.bool_)


def _logical(op):
    def build(cx, input, other):
        return cx.op(op, as_bool(cx, input), as_bool(cx, other))
    return build


logical_and, logical_or, logical_xor = (_logical(o) for o in ("And", "Or", "Xor"))


def logical_not(cx, input):
    return cx.op("Not", as_bool(cx, input))


def _bitwise(op):
    def build(cx, input, other):
        if cx.promote(input, other) != D.bool_:
            raise NotConvertible("bitwise operations are supported on bool tensors only")
        return cx.op(op, cx.tensor(input, D.bool_), cx.tensor(other, D.bool_))
    return build


bitwise_and, bitwise_or, bitwise_xor = (_bitwise(o) for o in ("And", "Or", "Xor"))


def bitwise_not(cx, input):
    if input.type.dtype != D.bool_:
        raise NotConvertible("bitwise_not is supported on bool tensors only")
    return cx.op("Not", input)


def where(cx, condition, input=None, other=None):
    if input is None or other is None:
        raise NotConvertible("torch.where(condition) (nonzero) has a data-dependent shape")
    dt = cx.promote(input, other)
    return cx.op("Where", as_bool(cx, condition), cx.tensor(input, dt), cx.tensor(other, dt))


def masked_fill(cx, input, mask, value):
    return cx.op("Where", as_bool(cx, mask), cx.tensor(value, input.type.dtype), input)


# ---- casts ---------------------------------------------------------------------------------
def to(cx, input, *args, **kwargs):
    """Tensor.to(dtype) / to(device, dtype) / to(other) / to(dtype=...); devices are ignored."""
    dtype = kwargs.get("dtype")
    for a in args:
        if isinstance(a, torch.dtype):
            dtype = a
        elif is_value(a):
            return cx.cast(input, a.type.dtype)
    return input if dtype is None else cx.cast(input, ir_dtype(dtype))


def _cast_to(torch_dtype):
    def build(cx, input, memory_format=None):
        return cx.cast(input, ir_dtype(torch_dtype))
    return build


def type_as(cx, input, other):
    return cx.cast(input, other.type.dtype)


def to_copy(cx, input, *, dtype=None, layout=None, device=None, pin_memory=None,
            non_blocking=False, memory_format=None):
    return input if dtype is None else cx.cast(input, ir_dtype(dtype))


# ---- unary math ----------------------------------------------------------------------------
def unary(op, float_only=True):
    def build(cx, input, *, out=None):
        return cx.op(op, cx.default_float(input) if float_only else input)
    build.__name__ = op
    return build


def rsqrt(cx, input):
    return cx.op("Reciprocal", cx.op("Sqrt", cx.default_float(input)))


def square(cx, input):
    return cx.op("Mul", input, input)


def erfc(cx, input):
    x = cx.default_float(input)
    return cx.op("Sub", cx.scalar(1, x.type.dtype), cx.op("Erf", x))


# ---- activations ---------------------------------------------------------------------------
def relu(cx, input, inplace=False):
    return cx.op("Relu", input)


def clip(cx, x, lo, hi):
    dt = x.type.dtype
    return cx.op("Clip", x, None if lo is None else cx.scalar(lo, dt),
                 None if hi is None else cx.scalar(hi, dt))


def hardtanh(cx, input, min_val=-1.0, max_val=1.0, inplace=False):
    return clip(cx, input, min_val, max_val)


def relu6(cx, input, inplace=False):
    return clip(cx, input, 0.0, 6.0)


def clamp(cx, input, min=None, max=None, *, out=None):
    if min is None and max is None:
        raise NotConvertible("clamp needs min or max")
    dt = cx.promote(input, min, max)
    x = cx.tensor(input, dt)
    if not is_value(min) and not is_value(max):
        return clip(cx, x, min, max)
    if min is not None:
        x = cx.op("Max", x, cx.tensor(min, dt))
    if max is not None:
        x = cx.op("Min", x, cx.tensor(max, dt))
    return x


def clamp_min(cx, input, min):
    return clamp(cx, input, min=min)


def clamp_max(cx, input, max):
    return clamp(cx, input, max=max)


def leaky_relu(cx, input, negative_slope=0.01, inplace=False):
    return cx.op("LeakyRelu", input, alpha=float(negative_slope))


def elu(cx, input, alpha=1.0, scale=1.0, input_scale=1.0, inplace=False):
    if input_scale != 1:
        raise NotConvertible(f"elu with input_scale={input_scale}")
    y = cx.op("Elu", input, alpha=float(alpha))
    return y if scale == 1 else cx.op("Mul", y, cx.scalar(scale, input.type.dtype))


def selu(cx, input, inplace=False):
    return cx.op("Selu", input)


def celu(cx, input, alpha=1.0, inplace=False):
    return cx.op("Celu", input, alpha=float(alpha))


def gelu(cx, input, approximate="none"):
    return cx.op("Gelu", input, approximate=approximate)


def silu(cx, input, inplace=False):
    return cx.op("Mul", input, cx.op("Sigmoid", input))


def hardswish(cx, input, inplace=False):
    return cx.op("HardSwish", input)


def hardsigmoid(cx, input, inplace=False):
    return cx.op("HardSigmoid", input, alpha=1.0 / 6.0, beta=0.5)


def softplus(cx, input, beta=1.0, threshold=20.0):
    # torch returns x itself where beta * x > threshold; log1p(exp(x)) differs from x there by
    # less than exp(-threshold), so Softplus is used throughout
    if beta == 1:
        return cx.op("Softplus", input)
    dt = input.type.dtype
    y = cx.op("Softplus", cx.op("Mul", input, cx.scalar(beta, dt)))
    return cx.op("Div", y, cx.scalar(beta, dt))


def logsigmoid(cx, input):
    return cx.op("Neg", cx.op("Softplus", cx.op("Neg", input)))


def mish(cx, input, inplace=False):
    return cx.op("Mish", input)


def prelu(cx, input, weight):
    slope = weight
    n = weight.type.shape[0] if weight.type.rank == 1 else 1
    if input.type.rank >= 2 and n > 1:
        slope = cx.op("Reshape", weight, cx.ints([n] + [1] * (input.type.rank - 2)))
    return cx.op("PRelu", input, slope)


def threshold(cx, input, threshold, value, inplace=False):
    dt = input.type.dtype
    return cx.op("Where", cx.op("Greater", input, cx.scalar(threshold, dt)), input,
                 cx.scalar(value, dt))


def softmax_dim(rank: int) -> int:
    """torch's implicit softmax dim (the deprecated `dim=None` form)."""
    return 0 if rank in (0, 1, 3) else 1


def softmax(cx, input, dim=None, _stacklevel=3, dtype=None, *, log=False):
    x = input if dtype is None else cx.cast(input, ir_dtype(dtype))
    axis = softmax_dim(x.type.rank) if dim is None else int(dim)
    return cx.op("LogSoftmax" if log else "Softmax", x, axis=axis)


def log_softmax(cx, input, dim=None, _stacklevel=3, dtype=None):
    return softmax(cx, input, dim, _stacklevel, dtype, log=True)


def safe_softmax(cx, input, dim, dtype=None):
    """Softmax that gives 0 (not NaN) on rows that are entirely -inf (masked-out queries)."""
    y = softmax(cx, input, dim, dtype=dtype)
    x = input if dtype is None else cx.cast(input, ir_dtype(dtype))
    live = cx.op("Not", cx.op("Equal", x, cx.scalar(-math.inf, x.type.dtype)))
    any_live = cx.op("ReduceMax", live, cx.ints([int(dim)], "axes"), keepdims=1)
    return cx.op("Where", any_live, y, cx.scalar(0.0, y.type.dtype))


def aten_softmax(cx, input, dim, half_to_float=False):
    return softmax(cx, input, dim)


def aten_log_softmax(cx, input, dim, half_to_float=False):
    return softmax(cx, input, dim, log=True)


UNARY = {name: unary(op) for name, op in (
    ("exp", "Exp"), ("log", "Log"), ("sqrt", "Sqrt"), ("sin", "Sin"), ("cos", "Cos"),
    ("tan", "Tan"), ("tanh", "Tanh"), ("sigmoid", "Sigmoid"), ("erf", "Erf"),
    ("reciprocal", "Reciprocal"), ("asin", "Asin"), ("acos", "Acos"), ("atan", "Atan"),
    ("sinh", "Sinh"), ("cosh", "Cosh"), ("softsign", "Softsign"))}
UNARY.update({name: unary(op, float_only=False) for name, op in (
    ("neg", "Neg"), ("abs", "Abs"), ("sign", "Sign"), ("floor", "Floor"), ("ceil", "Ceil"),
    ("round", "Round"))})


def log1p(cx, input):
    x = cx.default_float(input)
    return cx.op("Log", cx.op("Add", x, cx.scalar(1, x.type.dtype)))


def expm1(cx, input):
    x = cx.default_float(input)
    return cx.op("Sub", cx.op("Exp", x), cx.scalar(1, x.type.dtype))


def log2(cx, input):
    x = cx.default_float(input)
    return cx.op("Div", cx.op("Log", x), cx.scalar(math.log(2.0), x.type.dtype))
