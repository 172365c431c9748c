"""Raise decomposed GELU to the Gelu op, in the variants exporters emit.

erf form   x * 0.5 * (1 + Erf(x / sqrt(2)))        (Div by 1.4142135 or Mul by 0.70710677)
tanh form  0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))   (Pow(x, 3) or x*x*x)
The 0.5 may multiply x first, the (1 + ...) term first, or the (1 + ...) term alone:
    Mul(Mul(x, 0.5), A)     Mul(Mul(x, A), 0.5)     Mul(x, Mul(0.5, A))
(operand order is free: Mul and Add are commutative). Constants are matched by value within
1e-6 relative (a few ulps for f16); every intermediate must be used only inside the pattern."""
from __future__ import annotations

import math

from compiler.rewrite import P, Rule

from ._common import equals, internal_only, keep_if_same_type, near, variants

SQRT2 = math.sqrt(2.0)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
KAPPA = 0.044715


def _outer(form: str, x: P, term: P) -> P:
    half = P.const("half", pred=near(0.5, "0.5"))
    if form == "half-first":
        return P("Mul", P("Mul", x, half), term)
    if form == "half-last":
        return P("Mul", P("Mul", x, term), half)
    return P("Mul", x, P("Mul", half, term))           # half-term


def _one_plus(t: P) -> P:
    return P("Add", t, P.const("one", pred=near(1.0, "1")))


def _erf_pattern(form: str, scale: str) -> P:
    x = P.var("x")
    if scale == "div":
        arg = P("Div", x, P.const("k", pred=near(SQRT2, "√2")))
    else:
        arg = P("Mul", x, P.const("k", pred=near(1.0 / SQRT2, "1/√2")))
    return _outer(form, x, _one_plus(P("Erf", arg)))


def _tanh_pattern(form: str, cube: str) -> P:
    x = P.var("x")
    if cube == "pow":
        cubed = P("Pow", x, P.const("three", pred=equals(3)))
    else:
        cubed = P("Mul", x, P("Mul", x, x))           # also (x*x)*x: Mul is commutative
    poly = P("Add", x, P("Mul", P.const("kappa", pred=near(KAPPA, "0.044715")), cubed))
    inner = P("Mul", P.const("beta", pred=near(SQRT_2_OVER_PI, "√(2/π)")), poly)
    return _outer(form, x, _one_plus(P("Tanh", inner)))


def _raise(approximate: str):
    def rewrite(g, m):
        x = m["x"]
        if not x.dtype.is_float or not internal_only(m):
            return None
        attrs = {"approximate": "tanh"} if approximate == "tanh" else {}
        return keep_if_same_type(m, g.op("Gelu", x, **attrs))
    return rewrite


_FORMS = ("half-first", "half-last", "half-term")
RULES = (
    [Rule("raise-gelu", p, _raise("none")) for p in variants(_erf_pattern, _FORMS, ("div", "mul"))]
    + [Rule("raise-gelu-tanh", p, _raise("tanh"))
       for p in variants(_tanh_pattern, _FORMS, ("pow", "mul"))]
)

DOCS = {
    "raise-gelu": ("Gelu(x)", "erf form; constants within 1e-6 relative"),
    "raise-gelu-tanh": ('Gelu(x, approximate="tanh")',
                        "tanh form; constants within 1e-6 relative"),
}
