"""Integer arithmetic analyses the simplifier and verifier share: value ranges (intervals) of
expressions given the ranges of their variables, and affine (linear) forms.

    bounds(i * 8 + j, {i: (0, 3), j: (0, 7)})  == (0, 31)       # inclusive; None = unbounded
    linear(i * 8 + j - 8 + i)                  == ({i: 9, j: 1}, -8)
    from_linear({i: 9, j: 1}, -8)              -> i * 9 + j - 8

An expression is affine when its linear form's atoms are all variables (`is_affine`)."""
from __future__ import annotations

from typing import Mapping, Optional

from ..ir import dtypes
from .expr import Binary, Broadcast, Cast, Expr, IntImm, Load, Ramp, Select, Var

Interval = tuple            # (lo or None, hi or None), inclusive
Ranges = Mapping            # Var -> Interval

UNKNOWN: Interval = (None, None)


def _add(a, b):
    return None if a is None or b is None else a + b


def _mul_bounds(x: Interval, y: Interval) -> Interval:
    if None in x or None in y:
        if x == (0, 0) or y == (0, 0):
            return (0, 0)
        return UNKNOWN
    prods = [x[0] * y[0], x[0] * y[1], x[1] * y[0], x[1] * y[1]]
    return (min(prods), max(prods))


def _floordiv_bounds(x: Interval, c: int) -> Interval:
    lo, hi = x
    return (None if lo is None else lo // c, None if hi is None else hi // c)


def _dtype_bounds(dt) -> Interval:
    if dt is dtypes.bool_:
        return (0, 1)
    if dt.is_int and dt.itemsize <= 4:
        import numpy as np
        info = np.iinfo(dt.np_dtype)
        return (int(info.min), int(info.max))
    return UNKNOWN


def bounds(e: Expr, ranges: Ranges) -> Interval:
    """An interval holding every value (every lane, for vectors) of integer expression `e`."""
    if isinstance(e, IntImm):
        return (e.value, e.value)
    if isinstance(e, Var):
        return ranges.get(e, UNKNOWN)
    if isinstance(e, Broadcast):
        return bounds(e.value, ranges)
    if isinstance(e, Ramp):
        b, s = bounds(e.base, ranges), bounds(e.stride, ranges)
        last = _mul_bounds(s, (e.lanes - 1, e.lanes - 1))
        return (_add(b[0], min(0, last[0]) if last[0] is not None else None),
                _add(b[1], max(0, last[1]) if last[1] is not None else None))
    if isinstance(e, Binary) and e.dtype.is_int:
        a, b = bounds(e.a, ranges), bounds(e.b, ranges)
        op = e.op
        if op == "+":
            return (_add(a[0], b[0]), _add(a[1], b[1]))
        if op == "-":
            return (_add(a[0], None if b[1] is None else -b[1]),
                    _add(a[1], None if b[0] is None else -b[0]))
        if op == "*":
            return _mul_bounds(a, b)
        if op in ("/", "%") and b[0] is not None and b[0] == b[1] and b[0] > 0:
            c = b[0]
            if op == "/":
                return _floordiv_bounds(a, c)
            if a[0] is not None and a[1] is not None and a[0] // c == a[1] // c:
                return (a[0] % c, a[1] % c)
            return (0, c - 1)
        if op == "min":
            return (None if None in (a[0], b[0]) else min(a[0], b[0]),
                    b[1] if a[1] is None else a[1] if b[1] is None else min(a[1], b[1]))
        if op == "max":
            return (b[0] if a[0] is None else a[0] if b[0] is None else max(a[0], b[0]),
                    None if None in (a[1], b[1]) else max(a[1], b[1]))
        return _dtype_bounds(e.dtype)
    if isinstance(e, Select):
        t, f = bounds(e.t, ranges), bounds(e.f, ranges)
        return (None if None in (t[0], f[0]) else min(t[0], f[0]),
                None if None in (t[1], f[1]) else max(t[1], f[1]))
    if isinstance(e, Cast) and e.dtype.is_int and e.value.dtype.is_int:
        inner = bounds(e.value, ranges)
        outer = _dtype_bounds(e.dtype)
        if outer == UNKNOWN or (None not in inner and outer[0] <= inner[0] and
                                inner[1] <= outer[1]):
            return inner
        return outer
    if isinstance(e, Load):
        return _dtype_bounds(e.dtype)
    if e.dtype is dtypes.bool_:
        return (0, 1)
    return UNKNOWN


# ---- linear forms ------------------------------------------------------------------------------
def linear(e: Expr) -> tuple[dict, int]:
    """({atom: coefficient}, constant) with e == sum(coef * atom) + constant, for a scalar
    integer expression. Atoms are the maximal sub-expressions that are not +, - or a product
    with a constant. Two's-complement arithmetic is a ring, so this holds for every int dtype."""
    if isinstance(e, IntImm) and e.dtype is not dtypes.bool_:
        return {}, e.value
    if isinstance(e, Binary) and e.dtype.is_int and e.lanes == 1 and e.op in "+-*":
        ta, ca = linear(e.a)
        tb, cb = linear(e.b)
        if e.op == "*":
            if not ta:
                return {t: v * ca for t, v in tb.items()}, ca * cb
            if not tb:
                return {t: v * cb for t, v in ta.items()}, ca * cb
            return {e: 1}, 0
        sign = 1 if e.op == "+" else -1
        out = dict(ta)
        for t, v in tb.items():
            out[t] = out.get(t, 0) + sign * v
        return {t: v for t, v in out.items() if v != 0}, ca + sign * cb
    return {e: 1}, 0


def from_linear(terms: dict, c: int, dtype=dtypes.i64) -> Expr:
    """The canonical expression of a linear form: terms in order, `atom * k`, subtraction for
    negative coefficients after the first term, the constant last."""
    out: Optional[Expr] = None
    for atom, k in terms.items():
        if k == 0:
            continue
        if out is None:
            out = atom if k == 1 else Binary("*", atom, IntImm(k, dtype))
        else:
            mag = atom if abs(k) == 1 else Binary("*", atom, IntImm(abs(k), dtype))
            out = Binary("+" if k > 0 else "-", out, mag)
    if out is None:
        return IntImm(c, dtype)
    if c > 0:
        return Binary("+", out, IntImm(c, dtype))
    if c < 0:
        return Binary("-", out, IntImm(-c, dtype))
    return out


def is_affine(e: Expr) -> bool:
    """Is `e` (a scalar integer expression) an affine combination of variables? Vectors are
    affine when they are ramps/broadcasts of affine scalars."""
    if isinstance(e, Ramp):
        return is_affine(e.base) and isinstance(e.stride, IntImm)
    if isinstance(e, Broadcast):
        return is_affine(e.value)
    if not e.dtype.is_int or e.lanes != 1:
        return False
    terms, _ = linear(e)
    return all(isinstance(t, Var) for t in terms)
