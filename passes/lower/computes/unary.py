"""Compute rules of the one-input math and activation ops. Float math runs in f32 for f16
inputs (as the reference does); transcendental functions are loop IR intrinsics."""
from __future__ import annotations

import math

from compiler.loop import Not, call, max_, min_, select

from ..registry import compute
from ._helpers import lit, narrow, widen


def _exp_m1_neg(x):          # exp(min(x, 0)) - 1, the negative branch of ELU-like functions
    return call("exp", min_(x, lit(0, x))) - lit(1, x)


def _softplus(x):            # log(1 + exp(x)) without overflow
    return max_(x, lit(0, x)) + call("log", lit(1, x) + call("exp", -call("abs", x)))


def _sign(x):
    one, zero = lit(1, x), lit(0, x)
    s = select(x.gt(zero), one, select(x.lt(zero), zero - one if x.dtype.is_signed or
                                        x.dtype.is_float else zero, zero))
    return select(x.ne(x), x, s) if x.dtype.is_float else s


def _gelu(x, approximate: str):
    half, one = lit(0.5, x), lit(1, x)
    if approximate == "tanh":
        inner = lit(math.sqrt(2 / math.pi), x) * (x + lit(0.044715, x) * x * x * x)
        return half * x * (one + call("tanh", inner))
    return half * x * (one + call("erf", x * lit(1 / math.sqrt(2), x)))


# float functions: fn(x, attrs) on a widened (f32/f64) x
_FLOAT = {
    "Exp": lambda x, a: call("exp", x),
    "Log": lambda x, a: call("log", x),
    "Sqrt": lambda x, a: call("sqrt", x),
    "Sin": lambda x, a: call("sin", x),
    "Cos": lambda x, a: call("cos", x),
    "Tanh": lambda x, a: call("tanh", x),
    "Erf": lambda x, a: call("erf", x),
    "Sigmoid": lambda x, a: call("sigmoid", x),
    "Reciprocal": lambda x, a: lit(1, x) / x,
    "Floor": lambda x, a: call("floor", x),
    "Ceil": lambda x, a: call("ceil", x),
    "Round": lambda x, a: call("round", x),
    "LeakyRelu": lambda x, a: select(x.lt(lit(0, x)), x * lit(a.get("alpha", 0.01), x), x),
    "HardSigmoid": lambda x, a: max_(min_(x * lit(a.get("alpha", 0.2), x)
                                          + lit(a.get("beta", 0.5), x), lit(1, x)), lit(0, x)),
    "HardSwish": lambda x, a: x * max_(min_(x / lit(6, x) + lit(0.5, x), lit(1, x)), lit(0, x)),
    "Softplus": lambda x, a: _softplus(x),
    "Softsign": lambda x, a: x / (lit(1, x) + call("abs", x)),
    "Elu": lambda x, a: select(x.lt(lit(0, x)), lit(a.get("alpha", 1.0), x) * _exp_m1_neg(x), x),
    "Selu": lambda x, a: lit(a.get("gamma", 1.0507009873554805), x) * select(
        x.gt(lit(0, x)), x, lit(a.get("alpha", 1.6732632423543772), x) * _exp_m1_neg(x)),
    "Celu": lambda x, a: max_(x, lit(0, x)) + min_(lit(0, x), lit(a.get("alpha", 1.0), x) * (
        call("exp", x / lit(a.get("alpha", 1.0), x)) - lit(1, x))),
    "Mish": lambda x, a: x * call("tanh", _softplus(x)),
    "ThresholdedRelu": lambda x, a: select(x.gt(lit(a.get("alpha", 1.0), x)), x, lit(0, x)),
    "Swish": lambda x, a: x * call("sigmoid", x * lit(a.get("alpha", 1.0), x)),
    "Gelu": lambda x, a: _gelu(x, a.get("approximate", "none")),
}
for _name in ("Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh"):
    _FLOAT[_name] = (lambda fn: lambda x, a: call(fn, x))(_name.lower())


@compute(*_FLOAT)
def float_unary(cc, idx):
    x = cc.inputs[0][idx]
    return narrow(_FLOAT[cc.node.op](widen(x), cc.node.attrs), x.dtype)


@compute("Relu")
def relu(cc, idx):
    x = cc.inputs[0][idx]
    return max_(x, lit(0, x))


@compute("Neg")
def neg(cc, idx):
    x = cc.inputs[0][idx]
    return lit(0, x) - x


@compute("Abs")
def abs_(cc, idx):
    x = cc.inputs[0][idx]
    return x if x.dtype.name.startswith("u") or x.dtype.name == "bool" else call("abs", x)


@compute("Sign")
def sign(cc, idx):
    return _sign(cc.inputs[0][idx])


@compute("IsNaN")
def isnan(cc, idx):
    x = cc.inputs[0][idx]
    return x.ne(x)


@compute("IsInf")
def isinf(cc, idx):
    x = widen(cc.inputs[0][idx])
    inf = lit(float("inf"), x)
    pos = x.eq(inf) if cc.attr("detect_positive", 1) else None
    neg = x.eq(lit(float("-inf"), x)) if cc.attr("detect_negative", 1) else None
    if pos is not None and neg is not None:
        return pos.logical_or(neg)
    if pos is None and neg is None:
        return Not(x.eq(x).logical_or(x.ne(x)))       # always false, same lanes
    return pos if pos is not None else neg
