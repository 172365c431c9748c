"""An imperative builder for loop IR statements (what lowering code writes):

    b = IRBuilder()
    with b.for_("i", 128, kind="parallel") as i:
        with b.for_("j", 96) as j:
            with b.for_("k", 64) as k:
                with b.block("C", [("vi", 128, "spatial", i), ("vj", 96, "spatial", j),
                                   ("vk", 64, "reduce", k)]) as (vi, vj, vk):
                    with b.init():
                        b.store(C, (vi, vj), 0.0)
                    b.store(C, (vi, vj), C[vi, vj] + A[vi, vk] * B[vk, vj])
    func = LoopFunc("matmul", [A, B, C], b.get())

`let` and `alloc` scope over the statements that follow them in the same construct."""
from __future__ import annotations

from contextlib import contextmanager

from .buffer import Buffer
from .expr import INDEX, Var, as_expr
from .stmt import (Allocate, Block, Evaluate, For, IfThenElse, IterVar, LetStmt, Seq, Stmt,
                   seq)


class _Frame:
    def __init__(self):
        self.items: list = []          # statements, or ("let", var, value) / ("alloc", buf)

    def build(self) -> Stmt:
        body: list = []
        for item in reversed(self.items):
            if isinstance(item, tuple):
                inner = seq(*body) if body else Seq(())
                body = [LetStmt(item[1], item[2], inner) if item[0] == "let"
                        else Allocate(item[1], inner)]
            else:
                body.insert(0, item)
        return seq(*body) if body else Seq(())


class IRBuilder:
    def __init__(self):
        self.frames = [_Frame()]
        self._block_init = []           # stack of [init stmt or None] for open blocks

    def emit(self, stmt: Stmt) -> Stmt:
        self.frames[-1].items.append(stmt)
        return stmt

    def get(self) -> Stmt:
        """The statement built so far (at top level)."""
        if len(self.frames) != 1:
            raise RuntimeError("IRBuilder.get() inside an open construct")
        return self.frames[0].build()

    def _pop(self) -> Stmt:
        return self.frames.pop().build()

    # ---- statements ---------------------------------------------------------------------------
    def store(self, buf: Buffer, indices, value) -> Stmt:
        return self.emit(buf.store(indices, value))

    def evaluate(self, value) -> Stmt:
        return self.emit(Evaluate(as_expr(value)))

    def let(self, name: str, value) -> Var:
        value = as_expr(value)
        v = Var(name, value.dtype, value.lanes)
        self.frames[-1].items.append(("let", v, value))
        return v

    def alloc(self, name: str, dtype, shape, strides=None) -> Buffer:
        buf = Buffer(name, dtype, shape, strides, scope="local")
        self.frames[-1].items.append(("alloc", buf))
        return buf

    @contextmanager
    def for_(self, name: str, extent: int, kind: str = "serial"):
        v = Var(name, INDEX)
        self.frames.append(_Frame())
        yield v
        self.emit_after_pop(lambda body: For(v, extent, body, kind))

    @contextmanager
    def scope(self):
        """Statements whose lets and allocs end with the block (the lets of a long unrolled
        sequence nest one inside the other; a scope per part keeps that nesting shallow)."""
        self.frames.append(_Frame())
        yield
        self.emit(self._pop())

    def emit_after_pop(self, make) -> None:
        body = self._pop()
        self.emit(make(body))

    @contextmanager
    def block(self, name: str, iter_vars, predicate=None):
        """iter_vars: (name, extent, kind, binding) tuples; yields the new variables."""
        ivs = [IterVar(Var(n, INDEX), ext, kind) for n, ext, kind, _ in iter_vars]
        bindings = [as_expr(b) for *_, b in iter_vars]
        self.frames.append(_Frame())
        self._block_init.append([None])
        vars_ = tuple(iv.var for iv in ivs)
        yield vars_ if len(vars_) != 1 else vars_[0]
        init = self._block_init.pop()[0]
        self.emit_after_pop(lambda body: Block(name, ivs, bindings, body, init, predicate))

    @contextmanager
    def init(self):
        if not self._block_init:
            raise RuntimeError("IRBuilder.init() outside a block")
        self.frames.append(_Frame())
        yield
        self._block_init[-1][0] = self._pop()

    @contextmanager
    def if_(self, cond):
        self.frames.append(_Frame())
        yield
        self.emit(IfThenElse(as_expr(cond), self._pop()))

    @contextmanager
    def else_(self):
        last = self.frames[-1].items[-1] if self.frames[-1].items else None
        if not isinstance(last, IfThenElse) or last.else_body is not None:
            raise RuntimeError("IRBuilder.else_() must follow an if_() block")
        self.frames.append(_Frame())
        yield
        els = self._pop()
        self.frames[-1].items[-1] = IfThenElse(last.cond, last.then_body, els)
