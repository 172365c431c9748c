"""Algebraic identities: x*1, x+0, x-0, x/1, Identity, Neg(Neg), Not(Not), Cast(Cast), Cast to
the same dtype. Each returns an existing value, and only when that value has exactly the type of
the root's result (broadcasting against a constant can grow the shape: then the rule declines).

There is no Dropout rule: Dropout is not in the op set (the ONNX frontend drops inference-mode
Dropout on import), so there is nothing to simplify here."""
from __future__ import annotations

from compiler.ir import dtypes as D
from compiler.ops.elementwise import ONNX_DTYPE
from compiler.rewrite import P, Rule

from ._common import equals, keep_if_same_type

# Significand bits of the float dtypes (integers up to 2**bits are exact).
_MANTISSA = {"f16": 11, "f32": 24, "f64": 53}


def _value_bits(dt) -> int:
    """Bits of magnitude an integer dtype needs (sign excluded)."""
    return dt.itemsize * 8 - (1 if dt.is_signed else 0)


def lossless(src, dst) -> bool:
    """Does Cast(src -> dst) keep every value of src exactly (so a later cast sees the same
    number)? f16->f32->f64 and widening integer casts are; float->int, narrowing and
    int->float beyond the significand are not."""
    if src == dst or src == D.bool_:
        return True
    if dst == D.bool_:
        return False
    if src.is_float:
        return dst.is_float and dst.itemsize >= src.itemsize
    if dst.is_float:
        return _value_bits(src) <= _MANTISSA[dst.name]
    if src.is_signed and not dst.is_signed:
        return False
    return _value_bits(src) <= _value_bits(dst)


def _cast_to(node):
    return ONNX_DTYPE.get(node.attrs.get("to"))


def _cast_same(g, m):
    return m["x"] if _cast_to(m.root) == m["x"].dtype else None


def _cast_cast(g, m):
    x, inner, outer = m["x"], m["inner"], m.root
    mid, dst = _cast_to(inner), _cast_to(outer)
    if mid is None or dst is None or not lossless(x.dtype, mid):
        return None
    if dst == x.dtype:
        return keep_if_same_type(m, x)
    return g.op("Cast", x, **outer.attrs)


def _keep_x(g, m):
    return keep_if_same_type(m, m["x"])


RULES = [
    Rule("mul-one", P("Mul", P.var("x"), P.const("one", pred=equals(1))), _keep_x),
    Rule("add-zero", P("Add", P.var("x"), P.const("zero", pred=equals(0))), _keep_x),
    Rule("sub-zero", P("Sub", P.var("x"), P.const("zero", pred=equals(0))), _keep_x),
    Rule("div-one", P("Div", P.var("x"), P.const("one", pred=equals(1))), _keep_x),
    Rule("identity", P("Identity", P.var("x")), _keep_x),
    Rule("neg-neg", P("Neg", P("Neg", P.var("x"))), _keep_x),
    Rule("not-not", P("Not", P("Not", P.var("x"))), _keep_x),
    Rule("cast-same", P("Cast", P.var("x")), _cast_same),
    Rule("cast-cast", P("Cast", P("Cast", P.var("x"), name="inner")), _cast_cast),
]

# name -> (replacement, notes) for the rule-table docs
DOCS = {
    "mul-one": ("x", "also 1*x; only when the result type is x's (a broadcasting 1 declines)"),
    "add-zero": ("x", "also 0+x; same type guard; x = -0.0 keeps its sign (IEEE gives +0.0)"),
    "sub-zero": ("x", "same type guard"),
    "div-one": ("x", "integers too (truncating division by 1 is exact)"),
    "identity": ("x", ""),
    "neg-neg": ("x", "exact, also for the most negative integer (wraparound)"),
    "not-not": ("x", ""),
    "cast-same": ("x", "Cast to x's own dtype"),
    "cast-cast": ("Cast(x, to=B), or x when B is x's dtype",
                  "only when the inner cast is lossless (f16->f32->f64, i8->i32->i64, u8->i16, "
                  "i16->f32); never f32->i32->f32"),
}
