"""Compute rules of the binary, variadic, comparison, logic, selection and cast ops (numpy
broadcasting; integer division never traps: x / 0 gives 0 as the reference does)."""
from __future__ import annotations

from compiler.ir import dtypes as D
from compiler.loop import Not, call, cast, max_, min_, select

from ..registry import compute
from ._helpers import lit, narrow, operand, safe_divisor, widen


def _trunc_div(a, b):
    if a.dtype.is_float:
        return a / b
    zero, d = safe_divisor(b)
    q = a // d
    if a.dtype.is_signed:
        fix = (q * d).ne(a).logical_and(a.lt(lit(0, a)).ne(d.lt(lit(0, d))))
        q = select(fix, q + lit(1, q), q)
    return select(zero, lit(0, a), q)


def _mod(a, b, fmod: int):
    if a.dtype.is_float:
        r = a % b
        if fmod:   # C fmod: the sign of the dividend
            wrong = r.ne(lit(0, r)).logical_and(r.lt(lit(0, r)).ne(a.lt(lit(0, a))))
            r = select(wrong, r - b, r)
        return r
    zero, d = safe_divisor(b)
    r = a % d
    if fmod and a.dtype.is_signed:
        wrong = r.ne(lit(0, r)).logical_and(r.lt(lit(0, r)).ne(a.lt(lit(0, a))))
        r = select(wrong, r - d, r)
    return select(zero, lit(0, a), r)


def _pow(a, b):
    if a.dtype.is_float:
        w = widen(a)
        return narrow(call("pow", w, cast(w.dtype, b) if b.dtype is not w.dtype else b), a.dtype)
    r = call("trunc", call("pow", cast(D.f64, a), cast(D.f64, b)))
    return cast(a.dtype, r)


_BINARY = {
    "Add": lambda a, b, n: a + b,
    "Sub": lambda a, b, n: a - b,
    "Mul": lambda a, b, n: a * b,
    "Div": lambda a, b, n: _trunc_div(a, b),
    "Mod": lambda a, b, n: _mod(a, b, n.attrs.get("fmod", 0)),
    "Pow": lambda a, b, n: _pow(a, b),
    "Equal": lambda a, b, n: a.eq(b),
    "Less": lambda a, b, n: a.lt(b),
    "LessOrEqual": lambda a, b, n: a.le(b),
    "Greater": lambda a, b, n: a.gt(b),
    "GreaterOrEqual": lambda a, b, n: a.ge(b),
    "And": lambda a, b, n: a.logical_and(b),
    "Or": lambda a, b, n: a.logical_or(b),
    "Xor": lambda a, b, n: a.ne(b),
}


@compute(*_BINARY)
def binary(cc, idx):
    return _BINARY[cc.node.op](operand(cc, 0, idx), operand(cc, 1, idx), cc.node)


@compute("Max", "Min", "Sum", "Mean")
def variadic(cc, idx):
    op = cc.node.op
    vals = [operand(cc, i, idx) for i, r in enumerate(cc.inputs) if r is not None]
    out_dt = vals[0].dtype
    vals = [widen(v) for v in vals]
    acc = vals[0]
    for v in vals[1:]:
        acc = max_(acc, v) if op == "Max" else min_(acc, v) if op == "Min" else acc + v
    if op == "Mean":
        acc = acc / lit(len(vals), acc)
    return narrow(acc, out_dt)


@compute("Not")
def not_(cc, idx):
    return Not(operand(cc, 0, idx))


@compute("Where")
def where(cc, idx):
    return select(operand(cc, 0, idx), operand(cc, 1, idx), operand(cc, 2, idx))


@compute("Clip")
def clip(cc, idx):
    x = operand(cc, 0, idx)
    n = len(cc.inputs)
    if n > 1 and cc.inputs[1] is not None:
        x = max_(x, operand(cc, 1, idx))
    if n > 2 and cc.inputs[2] is not None:
        x = min_(x, operand(cc, 2, idx))
    return x


@compute("Cast", "CastLike")
def cast_(cc, idx):
    x = cc.inputs[0][idx]
    return narrow(x, cc.out.dtype)


@compute("Identity")
def identity(cc, idx):
    return cc.inputs[0][idx]


@compute("PRelu")
def prelu(cc, idx):
    x, s = operand(cc, 0, idx), operand(cc, 1, idx)
    return select(x.lt(lit(0, x)), x * s, x)


@compute("BatchNormalization")
def batch_norm(cc, idx):
    if len(cc.node.outputs) != 1 or cc.attr("training_mode", 0):
        raise cc.error("only inference-mode BatchNormalization (one result) can be compiled")
    x = widen(cc.inputs[0][idx])
    c = (idx[1],)
    scale, bias, mean, var = (widen(cc.inputs[i][c]) for i in range(1, 5))
    eps = lit(cc.attr("epsilon", 1e-5), x)
    y = (x - mean) / call("sqrt", var + eps) * scale + bias
    return narrow(y, cc.out.dtype)
