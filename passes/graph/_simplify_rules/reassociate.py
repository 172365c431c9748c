"""Reassociation of constant chains: (x + c1) + c2 -> x + (c1 + c2), and the Mul and Sub/Add
mixes. The inner node must have one use (else the chain would be computed twice), and the
combined constant must not grow the result's type. Integer add/mul/sub wrap modulo 2**bits,
where reassociation is exact; for floats the folded constant is computed in f64 and rounded
once (the rewritten chain rounds once instead of twice)."""
from __future__ import annotations

import numpy as np

from compiler.rewrite import P, Rule

from ._common import as_dtype_of, keep_if_same_type, labeled


def _combine(fn, a: np.ndarray, b: np.ndarray, like):
    """fn(a, b) in the wraparound arithmetic of `like`'s dtype (f64 rounded once for floats);
    None when a float result over- or underflows in that dtype (x*c1*c2 may be finite where
    x*inf is not, and nonzero where x*0 is)."""
    with np.errstate(all="ignore"):
        if not like.dtype.is_float:
            return as_dtype_of(fn(a, b), like)
        exact = fn(a.astype(np.float64), b.astype(np.float64))
        out = as_dtype_of(exact, like)
    if not np.all(np.isfinite(out)) or np.any((out == 0) & (exact != 0)):
        return None
    return out


def _chain(outer_op, fn, const_first=False):
    """The rewrite: outer_op(x, fn(c1, c2)) (or outer_op(fn(c1, c2), x) when const_first)."""
    def rewrite(g, m):
        x = m["x"]
        combined = _combine(fn, m.array("c1"), m.array("c2"), x)
        if combined is None:
            return None
        c = g.add_constant(combined, "c")
        y = g.op(outer_op, c, x) if const_first else g.op(outer_op, x, c)
        return keep_if_same_type(m, y)
    return rewrite


def _inner(op, *inputs):
    return P(op, *inputs, one_use=True)


def _not_const(v) -> bool:
    """x is not a constant (fold-constants handles all-constant chains)."""
    return not v.is_constant


_C1, _C2 = P.const("c1"), P.const("c2")
_XV = P.var("x", pred=labeled(_not_const, "x"))

RULES = [
    Rule("add-add-const", P("Add", _inner("Add", _XV, _C1), _C2), _chain("Add", np.add)),
    Rule("mul-mul-const", P("Mul", _inner("Mul", _XV, _C1), _C2), _chain("Mul", np.multiply)),
    Rule("sub-add-const", P("Sub", _inner("Add", _XV, _C1), _C2),
         _chain("Add", np.subtract)),                                   # x + (c1 - c2)
    Rule("add-sub-const", P("Add", _inner("Sub", _XV, _C1), _C2),
         _chain("Add", lambda c1, c2: c2 - c1)),                        # x + (c2 - c1)
    Rule("sub-sub-const", P("Sub", _inner("Sub", _XV, _C1), _C2),
         _chain("Sub", np.add)),                                        # x - (c1 + c2)
    Rule("add-rsub-const", P("Add", _inner("Sub", _C1, _XV), _C2),
         _chain("Sub", np.add, const_first=True)),                      # (c1 + c2) - x
    Rule("rsub-add-const", P("Sub", _C2, _inner("Add", _XV, _C1)),
         _chain("Sub", lambda c1, c2: c2 - c1, const_first=True)),      # (c2 - c1) - x
]

DOCS = {
    "add-add-const": ("Add(x, c1 + c2)", "inner Add has one use; result type unchanged"),
    "mul-mul-const": ("Mul(x, c1 * c2)", "inner Mul has one use; result type unchanged"),
    "sub-add-const": ("Add(x, c1 - c2)", "inner Add has one use"),
    "add-sub-const": ("Add(x, c2 - c1)", "inner Sub has one use"),
    "sub-sub-const": ("Sub(x, c1 + c2)", "inner Sub has one use"),
    "add-rsub-const": ("Sub(c1 + c2, x)", "inner Sub has one use"),
    "rsub-add-const": ("Sub(c2 - c1, x)", "inner Add has one use"),
}
