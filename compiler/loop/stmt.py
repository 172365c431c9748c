"""Statements of the loop IR.

    Store(buf, indices, value)        %buf[%i, %j] = value
    For(var, extent, body, kind)      for %i in 0..N [parallel|vectorized|unrolled] { ... }
    Block(name, iter_vars, bindings, body, init, predicate)
                                      block "C"(%vi: spatial[64] = %i, %vk: reduce[32] = %k)
                                          [where pred] { [init { ... }] ... }
    IfThenElse(cond, then, else)      if cond { ... } else { ... }
    Seq(stmts)                        statements one after another
    LetStmt(var, value, body)         let %t = value        (the rest of the list is the body)
    Allocate(buffer, body)            alloc %tmp: f32[8]    (a local buffer; likewise)
    Evaluate(expr)                    eval expr
    CallFunc(func, args)              call @kernel(%a, %b)  (another function of the module)

Loops run from 0 to `extent` (a static int) with step 1. Their kind says how they run:
`serial`; `parallel` (iterations split over threads); `vectorized` (an innermost loop the
backend turns into SIMD code); `unrolled` (the backend replicates the body).

A **block** (as in TVM's TensorIR) names a computation and its iteration domain: each
`IterVar` is a new variable with an extent and a kind, `spatial` (iterations independent) or
`reduce` (iterations accumulate into the same elements), bound to an expression of the
enclosing loop variables. The body may only use the block's own variables (and those it
defines inside), which is what lets schedule transformations reason about a block alone. The
optional `init` runs, before the body, in the iteration where every reduce variable is 0; the
optional `predicate` guards the whole block (for loops split by a non-dividing factor).

Legality rules the verifier enforces: a `parallel` or `vectorized` loop may not be bound into a
`reduce` iteration variable of a block inside it (that would race / reorder the reduction); a
`vectorized` loop is innermost (holds no other loop)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .expr import INDEX, Expr, Node, Var, _set, as_expr

FOR_KINDS = ("serial", "parallel", "vectorized", "unrolled")
ITER_KINDS = ("spatial", "reduce")


class Stmt(Node):
    __slots__ = ()


@dataclass(frozen=True)
class Store(Stmt):
    buffer: Any
    indices: tuple
    value: Expr
    _children = ("indices", "value")

    def __post_init__(self):
        _set(self, indices=tuple(as_expr(i) for i in self.indices),
             value=as_expr(self.value, self.buffer.dtype))


@dataclass(frozen=True)
class For(Stmt):
    var: Var
    extent: int
    body: Stmt
    kind: str = "serial"
    _children = ("body",)

    def __post_init__(self):
        if self.kind not in FOR_KINDS:
            raise ValueError(f"loop %{self.var.name}: unknown kind '{self.kind}' "
                             f"(known: {', '.join(FOR_KINDS)})")
        _set(self, extent=int(self.extent), body=as_stmt(self.body))


@dataclass(frozen=True)
class IterVar:
    var: Var
    extent: int
    kind: str = "spatial"

    def __post_init__(self):
        if self.kind not in ITER_KINDS:
            raise ValueError(f"block variable %{self.var.name}: unknown kind '{self.kind}' "
                             f"(known: spatial, reduce)")
        _set(self, extent=int(self.extent))


@dataclass(frozen=True)
class Block(Stmt):
    name: str
    iter_vars: tuple
    bindings: tuple
    body: Stmt
    init: Optional[Stmt] = None
    predicate: Optional[Expr] = None
    _children = ("bindings", "predicate", "init", "body")

    def __post_init__(self):
        _set(self, iter_vars=tuple(self.iter_vars),
             bindings=tuple(as_expr(b) for b in self.bindings), body=as_stmt(self.body),
             init=None if self.init is None else as_stmt(self.init),
             predicate=None if self.predicate is None else as_expr(self.predicate))

    @property
    def reduce_vars(self) -> tuple:
        return tuple(iv for iv in self.iter_vars if iv.kind == "reduce")


@dataclass(frozen=True)
class IfThenElse(Stmt):
    cond: Expr
    then_body: Stmt
    else_body: Optional[Stmt] = None
    _children = ("cond", "then_body", "else_body")

    def __post_init__(self):
        _set(self, cond=as_expr(self.cond), then_body=as_stmt(self.then_body),
             else_body=None if self.else_body is None else as_stmt(self.else_body))


@dataclass(frozen=True)
class Seq(Stmt):
    stmts: tuple
    _children = ("stmts",)

    def __post_init__(self):
        _set(self, stmts=tuple(self.stmts))


@dataclass(frozen=True)
class LetStmt(Stmt):
    var: Var
    value: Expr
    body: Stmt
    _children = ("value", "body")

    def __post_init__(self):
        _set(self, value=as_expr(self.value), body=as_stmt(self.body))


@dataclass(frozen=True)
class Allocate(Stmt):
    buffer: Any          # a Buffer of scope "local"
    body: Stmt
    _children = ("body",)

    def __post_init__(self):
        _set(self, body=as_stmt(self.body))


@dataclass(frozen=True)
class Evaluate(Stmt):
    value: Expr
    _children = ("value",)


@dataclass(frozen=True)
class CallFunc(Stmt):
    """Call another function of the module with buffers as arguments; a failing status of
    the callee (e.g. a bounds-check error) is returned by the caller."""
    func: str
    args: tuple
    _children = ()

    def __post_init__(self):
        _set(self, args=tuple(self.args))


def as_stmt(x) -> Stmt:
    if isinstance(x, Stmt):
        return x
    if isinstance(x, (list, tuple)):
        return seq(*x)
    raise TypeError(f"expected a loop IR statement, got {type(x).__name__}: {x!r}")


def seq(*stmts) -> Stmt:
    """A Seq, flattening nested Seqs; a single statement stays itself."""
    flat = []
    for s in stmts:
        s = as_stmt(s) if not isinstance(s, Stmt) else s
        flat.extend(s.stmts if isinstance(s, Seq) else (s,))
    return flat[0] if len(flat) == 1 else Seq(tuple(flat))


def loop(name: str, extent: int, body_fn, kind: str = "serial") -> For:
    """`loop("i", 4, lambda i: stmt)`: a For whose body is built from its new variable."""
    v = Var(name, INDEX)
    return For(v, extent, as_stmt(body_fn(v)), kind)
