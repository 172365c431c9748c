"""The expression simplifier: rewrite rules as data, applied bottom-up to a fixed point.

    simplify(e, ranges)         # ranges: {Var: (lo, hi)} inclusive, from the enclosing loops
    simplify_stmt(stmt)         # every expression, with loop/block/let ranges tracked

Each rule is a small function registered in `RULES` under the node kind it looks at
(`("Binary", "+")`, `"Select"`, ...); it returns a simpler expression or None. The rules:
constant folding (Python floor semantics for integer / and %; float folding in the dtype's
precision), affine normalisation of integer +, -, * (terms combined and ordered, constants
last: `(i + 1) * 8 + j - 8` -> `i * 8 + j`), floordiv/floormod by a positive constant using
the ranges (`(i * 8 + j) / 8` -> `i` and `% 8` -> `j` when 0 <= j < 8), min/max and
comparisons decided by ranges, boolean identities, select/cast folding, and the vector forms
(broadcast op broadcast, ramp +/- broadcast, ramp * constant, ramp / and % a constant)."""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from ..ir import dtypes
from .arith import bounds, from_linear, linear
from .expr import (CMP_OPS, Binary, Broadcast, Cast, Expr, FloatImm, IntImm, Not, Ramp, Select,
                   Var, is_const, is_int_const)
from .stmt import Block, For, IfThenElse, LetStmt, Seq, Stmt
from .visitor import map_children

Rule = Callable[["Simplifier", Expr], Optional[Expr]]
RULES: dict = {}


def rule(*keys):
    def deco(fn):
        for k in keys:
            RULES.setdefault(k, []).append(fn)
        return fn
    return deco


def _key(e: Expr):
    return ("Binary", e.op) if isinstance(e, Binary) else type(e).__name__


class Simplifier:
    def __init__(self, ranges=None):
        self.ranges = dict(ranges or {})
        self.memo: dict = {}

    def __call__(self, e: Expr) -> Expr:
        return self.simplify(e)

    def simplify(self, e: Expr) -> Expr:
        if isinstance(e, (IntImm, FloatImm, Var)):
            return e
        hit = self.memo.get(e)
        if hit is not None:
            return hit
        out = map_children(e, self.simplify)
        for _ in range(64):
            for r in RULES.get(_key(out), ()):
                new = r(self, out)
                if new is not None and new != out:
                    out = map_children(new, self.simplify)
                    break
            else:
                break
        self.memo[e] = out
        return out

    def bounds(self, e: Expr):
        return bounds(e, self.ranges)


def simplify(e: Expr, ranges=None) -> Expr:
    return Simplifier(ranges).simplify(e)


# ---- constant folding --------------------------------------------------------------------------
def _wrap_int(v: int, dt) -> Expr:
    if dt is dtypes.bool_:
        return IntImm(1 if v else 0, dt)
    bits = dt.itemsize * 8
    v &= (1 << bits) - 1
    if dt.is_signed and v >= 1 << (bits - 1):
        v -= 1 << bits
    return IntImm(v, dt)


_CMP = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
        "==": np.equal, "!=": np.not_equal}


def _float_mod(a, b):
    return a - np.floor(a / b) * b


@rule(*(("Binary", op) for op in ("+", "-", "*", "/", "%", "min", "max") + CMP_OPS))
def fold_constants(s, e: Binary):
    a, b = e.a, e.b
    if not (is_const(a) and is_const(b)) or a.dtype != b.dtype:
        return None
    op, dt = e.op, a.dtype
    if op in CMP_OPS:
        return IntImm(int(bool(_CMP[op](a.value, b.value))), dtypes.bool_)
    if dt.is_float:
        t = dt.np_dtype.type
        x, y = t(a.value), t(b.value)
        with np.errstate(all="ignore"):
            r = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
                 "%": _float_mod, "min": np.minimum, "max": np.maximum}[op](x, y)
        return FloatImm(float(r), dt)
    if dt is dtypes.bool_:
        return None
    x, y = a.value, b.value
    if op in ("/", "%") and y == 0:
        return None
    r = {"+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y, "/": lambda: x // y,
         "%": lambda: x % y, "min": lambda: min(x, y), "max": lambda: max(x, y)}[op]()
    return _wrap_int(r, dt)


# ---- affine normalisation ------------------------------------------------------------------------
@rule(("Binary", "+"), ("Binary", "-"), ("Binary", "*"))
def canonical_affine(s, e: Binary):
    if not e.dtype.is_int or e.lanes != 1:
        return None
    terms, c = linear(e)
    return from_linear(terms, c, e.dtype)


@rule(("Binary", "*"), ("Binary", "/"))
def float_identities(s, e: Binary):
    if e.dtype.is_float and e.lanes == 1 and is_const(e.b, 1.0):
        return e.a                         # x * 1.0 and x / 1.0 are exact
    return None


# ---- floordiv / floormod -----------------------------------------------------------------------
@rule(("Binary", "/"), ("Binary", "%"))
def div_mod_by_constant(s, e: Binary):
    if not e.dtype.is_int or e.lanes != 1 or not is_int_const(e.b) or e.b.value <= 0:
        return None
    c, dt, a = e.b.value, e.dtype, e.a
    if c == 1:
        return a if e.op == "/" else IntImm(0, dt)
    terms, k = linear(a)
    q_terms = {t: v // c for t, v in terms.items() if v % c == 0}
    r_terms = {t: v for t, v in terms.items() if v % c != 0}
    kq, kr = divmod(k, c)
    q, r = from_linear(q_terms, kq, dt), from_linear(r_terms, kr, dt)
    lo, hi = s.bounds(r)
    if lo is not None and hi is not None and lo // c == hi // c:
        m = lo // c
        return q + m if e.op == "/" else r - m * c
    if q_terms or kq:
        return q + Binary("/", r, e.b) if e.op == "/" else Binary("%", r, e.b)
    inner = a
    if isinstance(inner, Binary) and is_int_const(inner.b) and inner.b.value > 0:
        d = inner.b.value
        if e.op == "/" and inner.op == "/":
            return Binary("/", inner.a, IntImm(d * c, dt))
        if e.op == "%" and inner.op == "%" and d % c == 0:
            return Binary("%", inner.a, e.b)
    return None


# ---- min / max / comparisons by ranges -----------------------------------------------------------
@rule(("Binary", "min"), ("Binary", "max"))
def min_max(s, e: Binary):
    if e.a == e.b:
        return e.a
    if not e.dtype.is_int or e.lanes != 1:
        return None
    a_lo, a_hi = s.bounds(e.a)
    b_lo, b_hi = s.bounds(e.b)
    a_le_b = a_hi is not None and b_lo is not None and a_hi <= b_lo
    b_le_a = b_hi is not None and a_lo is not None and b_hi <= a_lo
    if a_le_b:
        return e.a if e.op == "min" else e.b
    if b_le_a:
        return e.b if e.op == "min" else e.a
    return None


@rule(*(("Binary", op) for op in CMP_OPS))
def compare_by_ranges(s, e: Binary):
    if not e.a.dtype.is_int or e.lanes != 1:
        return None
    lo, hi = s.bounds(canonical_affine(s, Binary("-", e.a, e.b)))
    if lo is None and hi is None:
        return None
    lt0, ge0 = hi is not None and hi < 0, lo is not None and lo >= 0
    le0, gt0 = hi is not None and hi <= 0, lo is not None and lo > 0
    eq0, ne0 = lo == hi == 0, lt0 or gt0
    verdict = {"<": (lt0, ge0), "<=": (le0, gt0), ">": (gt0, le0), ">=": (ge0, lt0),
               "==": (eq0, ne0), "!=": (ne0, eq0)}[e.op]
    if verdict[0]:
        return IntImm(1, dtypes.bool_)
    if verdict[1]:
        return IntImm(0, dtypes.bool_)
    return None


# ---- booleans, select, cast ----------------------------------------------------------------------
@rule(("Binary", "&&"), ("Binary", "||"))
def logic(s, e: Binary):
    absorbing = 0 if e.op == "&&" else 1
    for x, y in ((e.a, e.b), (e.b, e.a)):
        if is_const(x) and x.lanes == 1 and y.lanes == 1:
            return IntImm(absorbing, dtypes.bool_) if x.value == absorbing else y
    return e.a if e.a == e.b else None


@rule("Not")
def logic_not(s, e: Not):
    if is_const(e.a):
        return IntImm(1 - e.a.value, dtypes.bool_)
    return e.a.a if isinstance(e.a, Not) else None


@rule("Select")
def select_fold(s, e: Select):
    if is_const(e.cond):
        return e.t if e.cond.value else e.f
    return e.t if e.t == e.f else None


@rule("Cast")
def cast_fold(s, e: Cast):
    v, dt = e.value, e.dtype
    if v.dtype == dt:
        return v
    if not is_const(v):
        return None
    if dt.is_float:
        return FloatImm(float(v.value), dt)
    if v.dtype.is_float:
        if not np.isfinite(v.value):
            return None
        return _wrap_int(int(v.value) if dt is not dtypes.bool_ else int(v.value != 0), dt)
    return _wrap_int(v.value if dt is not dtypes.bool_ else int(v.value != 0), dt)


# ---- vectors -------------------------------------------------------------------------------------
@rule(*(("Binary", op) for op in ("+", "-", "*", "/", "%", "min", "max", "&&", "||") + CMP_OPS))
def broadcast_binary(s, e: Binary):
    if isinstance(e.a, Broadcast) and isinstance(e.b, Broadcast):
        return Broadcast(Binary(e.op, e.a.value, e.b.value), e.lanes)
    return None


@rule(("Binary", "+"), ("Binary", "-"))
def ramp_add(s, e: Binary):
    a, b, n = e.a, e.b, e.lanes
    sign = 1 if e.op == "+" else -1

    def scaled(x):
        return x if sign == 1 else Binary("-", IntImm(0, x.dtype), x)
    if isinstance(a, Ramp) and isinstance(b, Broadcast):
        return Ramp(Binary(e.op, a.base, b.value), a.stride, n)
    if isinstance(a, Broadcast) and isinstance(b, Ramp):
        return Ramp(Binary(e.op, a.value, b.base), scaled(b.stride), n)
    if isinstance(a, Ramp) and isinstance(b, Ramp):
        return Ramp(Binary(e.op, a.base, b.base), Binary(e.op, a.stride, b.stride), n)
    return None


@rule(("Binary", "*"))
def ramp_mul(s, e: Binary):
    a, b = e.a, e.b
    if isinstance(b, Ramp) and isinstance(a, Broadcast):
        a, b = b, a
    if isinstance(a, Ramp) and isinstance(b, Broadcast):
        return Ramp(Binary("*", a.base, b.value), Binary("*", a.stride, b.value), e.lanes)
    return None


@rule("Ramp")
def ramp_zero_stride(s, e: Ramp):
    return Broadcast(e.base, e.lanes) if is_int_const(e.stride, 0) else None


@rule(("Binary", "/"), ("Binary", "%"))
def ramp_div_mod(s, e: Binary):
    a, b = e.a, e.b
    if not (isinstance(a, Ramp) and isinstance(b, Broadcast) and is_int_const(b.value)
            and is_int_const(a.stride)):
        return None
    c, st, n, dt = b.value.value, a.stride.value, e.lanes, e.dtype
    if c <= 0:
        return None
    if st % c == 0:
        if e.op == "/":
            return Ramp(Binary("/", a.base, b.value), IntImm(st // c, dt), n)
        return Broadcast(Binary("%", a.base, b.value), n)
    if st < 0:
        return None
    terms, k = linear(a.base)
    q = from_linear({t: v // c for t, v in terms.items() if v % c == 0}, k // c, dt)
    r = from_linear({t: v for t, v in terms.items() if v % c != 0}, k % c, dt)
    lo, hi = s.bounds(r)
    if lo is not None and hi is not None and lo >= 0 and hi + st * (n - 1) < c:
        return Broadcast(q, n) if e.op == "/" else Ramp(r, a.stride, n)
    return None


# ---- statements ----------------------------------------------------------------------------------
def simplify_stmt(stmt: Stmt, ranges=None) -> Stmt:
    """Simplify every expression under `stmt`, knowing loop (0..extent-1), block-variable and
    integer let ranges; drop `if`s whose condition is decided and loops of extent 0."""
    return _simplify_stmt(stmt, dict(ranges or {}))


def _simplify_stmt(st, ranges: dict):
    s = Simplifier(ranges)
    if isinstance(st, Expr):
        return s.simplify(st)
    if isinstance(st, For):
        if st.extent == 0:
            return Seq(())
        inner = dict(ranges)
        inner[st.var] = (0, st.extent - 1)
        return map_children(st, lambda c: _simplify_stmt(c, inner))
    if isinstance(st, Block):
        inner = dict(ranges)
        inner.update({iv.var: (0, iv.extent - 1) for iv in st.iter_vars})
        bindings = tuple(s.simplify(b) for b in st.bindings)
        pred = None if st.predicate is None else s.simplify(st.predicate)
        if pred is not None and is_const(pred) and pred.value:
            pred = None
        init = None if st.init is None else _simplify_stmt(st.init, inner)
        body = _simplify_stmt(st.body, inner)
        if (all(a is b for a, b in zip(bindings, st.bindings)) and pred is st.predicate
                and init is st.init and body is st.body):
            return st
        return Block(st.name, st.iter_vars, bindings, body, init, pred)
    if isinstance(st, LetStmt):
        value = s.simplify(st.value)
        inner = dict(ranges)
        if value.dtype.is_int and value.lanes == 1:
            inner[st.var] = s.bounds(value)
        body = _simplify_stmt(st.body, inner)
        return st if value is st.value and body is st.body else LetStmt(st.var, value, body)
    if isinstance(st, IfThenElse):
        cond = s.simplify(st.cond)
        if is_const(cond) and cond.lanes == 1:
            taken = st.then_body if cond.value else st.else_body
            return Seq(()) if taken is None else _simplify_stmt(taken, ranges)
    return map_children(st, lambda c: _simplify_stmt(c, ranges))


def const_value(e: Expr):
    """The Python value of a constant after simplification, else None."""
    e = simplify(e)
    return e.value if is_const(e) else None

