"""Expressions of the loop IR.

Every expression is an immutable node with a `dtype` (a `compiler.ir.dtypes.DType`) and a number
of `lanes` (1 = scalar, >1 = a vector such as 8 x f32). Nodes compare and hash structurally,
except `Var` (and the buffers loads name), which are compared by identity: two loops that both
call their index `%i` have two different variables.

    IntImm(3)                      3            (i64 unless a dtype is given: 3i32)
    FloatImm(0.5, f32)             0.5f32
    Var("i")                       %i           (i64 index variable by default)
    Load(buf, (i, j))              %buf[%i, %j]
    Binary("+", a, b)              a + b        ops: + - * / % min max < <= > >= == != && ||
    Not(a)                         !a
    Select(c, t, f)                select(c, t, f)
    Cast(f32, x)                   cast<f32>(x)
    Call("exp", (x,))              exp(x)       math intrinsics, see intrinsics.py
    Ramp(base, stride, lanes)      ramp(b, s, 8)   the vector b, b+s, ..., b+7s
    Broadcast(x, lanes)            broadcast(x, 8)

Integer `/` and `%` use Python's floor semantics (the quotient rounds toward minus infinity and
the remainder has the sign of the divisor); float `/` is IEEE division and float `%` is Python's
floor remainder (x - floor(x / y) * y).

Python operators build nodes (`i * 8 + j`, `x[i] * 2.0`); a Python number takes the other
operand's dtype, and a scalar is broadcast to a vector operand's lanes. Comparisons are methods
(`a.lt(b)`, `a.eq(b)`), because `==` compares nodes structurally."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from ..ir import dtypes
from ..ir.dtypes import DType

INDEX = dtypes.i64

ARITH_OPS = ("+", "-", "*", "/", "%", "min", "max")
CMP_OPS = ("<", "<=", ">", ">=", "==", "!=")
LOGIC_OPS = ("&&", "||")
BINARY_OPS = ARITH_OPS + CMP_OPS + LOGIC_OPS


class Node:
    """Base of expressions and statements. `_children` names the fields that hold sub-nodes
    (a node, a tuple of nodes, or None); the generic visitors in visitor.py rely on it."""
    __slots__ = ()
    _children: tuple = ()

    def __str__(self) -> str:
        from .printer import format_node
        return format_node(self)


class Expr(Node):
    __slots__ = ()
    dtype: DType
    lanes: int

    # ---- builder sugar ---------------------------------------------------------------------
    def __add__(self, o): return binary("+", self, o)
    def __radd__(self, o): return binary("+", o, self)
    def __sub__(self, o): return binary("-", self, o)
    def __rsub__(self, o): return binary("-", o, self)
    def __mul__(self, o): return binary("*", self, o)
    def __rmul__(self, o): return binary("*", o, self)
    def __neg__(self): return binary("-", 0, self)

    def __truediv__(self, o):
        if not self.dtype.is_float:
            raise TypeError("integer division in the loop IR floors: use // (and % for the "
                            "floor remainder)")
        return binary("/", self, o)

    def __rtruediv__(self, o):
        return as_expr(o, self.dtype).__truediv__(self)

    def __floordiv__(self, o):
        if self.dtype.is_float:
            raise TypeError("// is integer floor division; use / for floats")
        return binary("/", self, o)

    def __rfloordiv__(self, o):
        return as_expr(o, self.dtype).__floordiv__(self)

    def __mod__(self, o): return binary("%", self, o)
    def __rmod__(self, o): return binary("%", o, self)
    def lt(self, o): return binary("<", self, o)
    def le(self, o): return binary("<=", self, o)
    def gt(self, o): return binary(">", self, o)
    def ge(self, o): return binary(">=", self, o)
    def eq(self, o): return binary("==", self, o)
    def ne(self, o): return binary("!=", self, o)
    def logical_and(self, o): return binary("&&", self, o)
    def logical_or(self, o): return binary("||", self, o)
    def logical_not(self): return Not(self)

    @property
    def type_str(self) -> str:
        return type_str(self.dtype, self.lanes)


def type_str(dtype: DType, lanes: int = 1) -> str:
    """`f32` or, for vectors, `f32x8`."""
    return dtype.name if lanes == 1 else f"{dtype.name}x{lanes}"


def _set(obj, **kw) -> None:
    for k, v in kw.items():
        object.__setattr__(obj, k, v)


def _cached_hash(cls):
    """Memoise an interior node's hash (memo tables would rehash whole trees per lookup)."""
    field_hash = cls.__hash__

    def __hash__(self):
        h = self.__dict__.get("_hash")
        if h is None:
            h = field_hash(self)
            object.__setattr__(self, "_hash", h)
        return h
    cls.__hash__ = __hash__
    return cls


_INT_LIMITS: dict = {}      # dtype -> (min, max); np.iinfo is slow and constants are many


def _int_limits(dt: DType) -> tuple:
    if dt not in _INT_LIMITS:
        _INT_LIMITS[dt] = (int(np.iinfo(dt.np_dtype).min), int(np.iinfo(dt.np_dtype).max))
    return _INT_LIMITS[dt]


# ---- leaves ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IntImm(Expr):
    """An integer (or bool: dtype bool, value 0/1) constant."""
    value: int
    dtype: DType = INDEX
    lanes = 1

    def __post_init__(self):
        if self.dtype.is_float:
            raise TypeError(f"IntImm with float dtype {self.dtype}; use FloatImm")
        v = int(self.value)
        if self.dtype is dtypes.bool_:
            v = 1 if v else 0
        else:
            lo, hi = _int_limits(self.dtype)
            if not lo <= v <= hi:
                raise ValueError(f"integer constant {v} does not fit in {self.dtype}")
        _set(self, value=v)


@dataclass(frozen=True)
class FloatImm(Expr):
    """A float constant, held rounded to its dtype's precision."""
    value: float
    dtype: DType = dtypes.f32
    lanes = 1

    def __post_init__(self):
        if not self.dtype.is_float:
            raise TypeError(f"FloatImm with non-float dtype {self.dtype}; use IntImm")
        _set(self, value=float(self.dtype.np_dtype.type(self.value)))

    def __eq__(self, other):   # nan == nan, and 0.0 != -0.0: compare the bits
        return (isinstance(other, FloatImm) and self.dtype == other.dtype and
                _float_key(self.value) == _float_key(other.value))

    def __hash__(self):
        return hash(("FloatImm", self.dtype.name, _float_key(self.value)))


def _float_key(v: float):
    return "nan" if math.isnan(v) else (v, math.copysign(1.0, v))


@dataclass(frozen=True, eq=False)
class Var(Expr):
    """A variable: loop and block iteration variables are i64 scalars; `let` variables take
    the type of their value. Compared by identity."""
    name: str
    dtype: DType = INDEX
    lanes: int = 1

    def __repr__(self) -> str:
        return f"Var({self.name!r}, {self.dtype}{'' if self.lanes == 1 else 'x%d' % self.lanes})"


# ---- compound ------------------------------------------------------------------------------------
@_cached_hash
@dataclass(frozen=True)
class Load(Expr):
    """Read `buffer[indices]`. A vector index (a Ramp or any vector) makes a vector load."""
    buffer: Any           # compiler.loop.buffer.Buffer (compared by identity)
    indices: tuple
    dtype: DType = field(init=False, compare=False, repr=False)
    lanes: int = field(init=False, compare=False, repr=False)
    _children = ("indices",)

    def __post_init__(self):
        idx = tuple(as_expr(i) for i in self.indices)
        _set(self, indices=idx, dtype=self.buffer.dtype,
             lanes=max((i.lanes for i in idx), default=1))


@_cached_hash
@dataclass(frozen=True)
class Binary(Expr):
    op: str
    a: Expr
    b: Expr
    dtype: DType = field(init=False, compare=False, repr=False)
    lanes: int = field(init=False, compare=False, repr=False)
    _children = ("a", "b")

    def __post_init__(self):
        if self.op not in BINARY_OPS:
            raise ValueError(f"unknown binary op '{self.op}' (known: {' '.join(BINARY_OPS)})")
        a, b = as_expr(self.a), as_expr(self.b)
        dt = a.dtype if self.op in ARITH_OPS else dtypes.bool_
        _set(self, a=a, b=b, dtype=dt, lanes=max(a.lanes, b.lanes))


@_cached_hash
@dataclass(frozen=True)
class Not(Expr):
    a: Expr
    dtype: DType = field(init=False, compare=False, repr=False)
    lanes: int = field(init=False, compare=False, repr=False)
    _children = ("a",)

    def __post_init__(self):
        a = as_expr(self.a)
        _set(self, a=a, dtype=dtypes.bool_, lanes=a.lanes)


@_cached_hash
@dataclass(frozen=True)
class Select(Expr):
    """`cond ? t : f`; both arms are evaluated (no side effects, no guarded loads)."""
    cond: Expr
    t: Expr
    f: Expr
    dtype: DType = field(init=False, compare=False, repr=False)
    lanes: int = field(init=False, compare=False, repr=False)
    _children = ("cond", "t", "f")

    def __post_init__(self):
        c, t, f = as_expr(self.cond), as_expr(self.t), as_expr(self.f)
        _set(self, cond=c, t=t, f=f, dtype=t.dtype, lanes=max(c.lanes, t.lanes, f.lanes))


@_cached_hash
@dataclass(frozen=True)
class Cast(Expr):
    dtype: DType
    value: Expr
    lanes: int = field(init=False, compare=False, repr=False)
    _children = ("value",)

    def __post_init__(self):
        v = as_expr(self.value)
        _set(self, dtype=dtypes.as_dtype(self.dtype), value=v, lanes=v.lanes)


@_cached_hash
@dataclass(frozen=True)
class Call(Expr):
    """A math intrinsic (see compiler/loop/intrinsics.py); its type follows its first argument
    (reductions like reduce_add return a scalar)."""
    name: str
    args: tuple
    dtype: DType = field(init=False, compare=False, repr=False)
    lanes: int = field(init=False, compare=False, repr=False)
    _children = ("args",)

    def __post_init__(self):
        from .intrinsics import result_type
        args = tuple(as_expr(a) for a in self.args)
        dt, lanes = result_type(self.name, args)
        _set(self, args=args, dtype=dt, lanes=lanes)


@_cached_hash
@dataclass(frozen=True)
class Ramp(Expr):
    """The vector (base, base + stride, ..., base + (lanes-1) * stride) of integers."""
    base: Expr
    stride: Expr
    lanes: int
    dtype: DType = field(init=False, compare=False, repr=False)
    _children = ("base", "stride")

    def __post_init__(self):
        b = as_expr(self.base)
        _set(self, base=b, stride=as_expr(self.stride, b.dtype), dtype=b.dtype,
             lanes=int(self.lanes))


@_cached_hash
@dataclass(frozen=True)
class Broadcast(Expr):
    value: Expr
    lanes: int
    dtype: DType = field(init=False, compare=False, repr=False)
    _children = ("value",)

    def __post_init__(self):
        v = as_expr(self.value)
        _set(self, value=v, dtype=v.dtype, lanes=int(self.lanes))


# ---- construction helpers --------------------------------------------------------------------
def const(value, dtype=None) -> Expr:
    """A constant of `dtype` (default: i64 for ints, f32 for floats, bool for bools)."""
    if dtype is None:
        if isinstance(value, (bool, np.bool_)):
            dtype = dtypes.bool_
        elif isinstance(value, (int, np.integer)):
            dtype = INDEX
        else:
            dtype = dtypes.f32
    dtype = dtypes.as_dtype(dtype)
    if dtype.is_float:
        return FloatImm(float(value), dtype)
    return IntImm(int(value), dtype)


def as_expr(x, dtype: Optional[DType] = None) -> Expr:
    """Nodes pass through; Python/numpy numbers become constants (of `dtype` when given)."""
    if isinstance(x, Expr):
        return x
    if isinstance(x, (bool, int, float, np.number, np.bool_)):
        if dtype is not None and isinstance(x, float) and not dtype.is_float:
            raise TypeError(f"float constant {x} where a {dtype} is expected")
        return const(x, dtype)
    raise TypeError(f"expected a loop IR expression or a number, got {type(x).__name__}: {x!r}")


def binary(op: str, a, b) -> Expr:
    """Build `a op b`, giving Python numbers the other side's dtype and broadcasting a scalar
    to the other side's lanes."""
    if not isinstance(a, Expr) and not isinstance(b, Expr):
        a = as_expr(a)
    if not isinstance(a, Expr):
        a = as_expr(a, b.dtype)
    if not isinstance(b, Expr):
        b = as_expr(b, a.dtype)
    if a.lanes != b.lanes:
        if a.lanes == 1:
            a = Broadcast(a, b.lanes)
        elif b.lanes == 1:
            b = Broadcast(b, a.lanes)
    return Binary(op, a, b)


def min_(a, b) -> Expr:
    return binary("min", a, b)


def max_(a, b) -> Expr:
    return binary("max", a, b)


def select(cond, t, f) -> Expr:
    t = as_expr(t, f.dtype if isinstance(f, Expr) else None)
    f = as_expr(f, t.dtype)
    cond = as_expr(cond)
    lanes = max(cond.lanes, t.lanes, f.lanes)
    t = Broadcast(t, lanes) if t.lanes < lanes else t
    f = Broadcast(f, lanes) if f.lanes < lanes else f
    return Select(cond, t, f)


def cast(dtype, x) -> Expr:
    return Cast(dtypes.as_dtype(dtype), as_expr(x))


def call(name: str, *args) -> Expr:
    first = next((a for a in args if isinstance(a, Expr)), None)
    return Call(name, tuple(as_expr(a, first.dtype if first is not None else None)
                            for a in args))


def is_const(e, value=None) -> bool:
    """Is `e` a scalar constant (equal to `value`, when given)?"""
    if not isinstance(e, (IntImm, FloatImm)):
        return False
    return value is None or e.value == value


def is_int_const(e, value=None) -> bool:
    return isinstance(e, IntImm) and e.dtype is not dtypes.bool_ and (value is None or
                                                                        e.value == value)
