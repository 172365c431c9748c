"""Strength reduction: Pow by 2, 1, 0.5 and -1, division by a float constant, 1/x.
Mul(x, 2) stays as it is (it is already cheap)."""
from __future__ import annotations

import numpy as np

from compiler.rewrite import P, Rule

from ._common import as_dtype_of, equals, keep_if_same_type


def _float_x(m) -> bool:
    return m["x"].dtype.is_float


def _exact_int_pow(m) -> bool:
    """An integer base with a float exponent is computed via f64 and truncated (inexact for
    large values): only float bases, or integer bases with integer exponents, qualify."""
    return _float_x(m) or m.array("e").dtype.kind in "iu"


def _pow_two(g, m):
    x = m["x"]
    if x.type != m.root.output.type or not _exact_int_pow(m):
        return None
    return g.op("Mul", x, x)


def _pow_one(g, m):
    return keep_if_same_type(m, m["x"]) if _exact_int_pow(m) else None


def _unary_float(op):
    def rewrite(g, m):
        x = m["x"]
        if not _float_x(m) or x.type != m.root.output.type:
            return None
        return g.op(op, x)
    return rewrite


def _div_to_mul(g, m):
    x, c = m["x"], m.array("c")
    if not _float_x(m) or c.size == 0 or np.any(c == 0):
        return None
    with np.errstate(all="ignore"):
        recip = as_dtype_of(1.0 / c.astype(np.float64), x)
    if not np.all(np.isfinite(recip)) or np.any(recip == 0):
        return None          # 1/c over- or underflows in x's dtype: x/c is not x*(1/c)
    return keep_if_same_type(m, g.op("Mul", x, g.add_constant(recip, "recip")))


RULES = [
    Rule("pow-two", P("Pow", P.var("x"), P.const("e", pred=equals(2))), _pow_two),
    Rule("pow-one", P("Pow", P.var("x"), P.const("e", pred=equals(1))), _pow_one),
    Rule("pow-half", P("Pow", P.var("x"), P.const("e", pred=equals(0.5))), _unary_float("Sqrt")),
    Rule("pow-neg-one", P("Pow", P.var("x"), P.const("e", pred=equals(-1))),
         _unary_float("Reciprocal")),
    Rule("div-const", P("Div", P.var("x"), P.const("c")), _div_to_mul),
    Rule("one-div", P("Div", P.const("one", pred=equals(1)), P.var("x")),
         _unary_float("Reciprocal")),
]

DOCS = {
    "pow-two": ("Mul(x, x)", "integers too when the exponent is an integer (both wrap alike)"),
    "pow-one": ("x", "an integer base needs an integer exponent (a float one goes via f64)"),
    "pow-half": ("Sqrt(x)", "floats only; differs from IEEE pow only at x = -0 and -inf"),
    "pow-neg-one": ("Reciprocal(x)", "floats only (integer Pow(x, -1) truncates)"),
    "div-const": ("Mul(x, 1/c)", "floats only, never integer division; c nonzero with a finite, "
                                 "nonzero reciprocal in x's dtype; may differ from x/c by 1 ulp"),
    "one-div": ("Reciprocal(x)", "floats only (what torch exports for rsqrt: Div(1, Sqrt))"),
}
