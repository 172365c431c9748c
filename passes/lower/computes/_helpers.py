"""Small expression helpers shared by the compute rules."""
from __future__ import annotations

from compiler.ir import dtypes as D
from compiler.loop import as_expr, cast, select
from compiler.loop.expr import Expr

from ..tensor import broadcast_index


def operand(cc, i: int, idx) -> Expr:
    """Input i at output index idx, numpy-broadcast."""
    ref = cc.inputs[i]
    return ref[broadcast_index(tuple(idx), ref.shape)]


def widen(e: Expr) -> Expr:
    """f16 is computed in f32 (as the reference does)."""
    return cast(D.f32, e) if e.dtype is D.f16 else e


def narrow(e: Expr, dtype) -> Expr:
    return e if e.dtype is dtype else cast(dtype, e)


def lit(value, like: Expr) -> Expr:
    """A constant of like's dtype."""
    return as_expr(float(value) if like.dtype.is_float else int(value), like.dtype)


def safe_divisor(b: Expr) -> tuple:
    """(is zero, divisor with 0 replaced by 1): integer division by zero must not trap."""
    zero = b.eq(lit(0, b))
    return zero, select(zero, lit(1, b), b)
