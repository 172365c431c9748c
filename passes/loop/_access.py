"""Memory accesses under a statement, with their indices rewritten over loop variables: block
variables are replaced by their bindings, integer `let`s by their values, and a vector index
`ramp(b, s, n)` by `b + s * lane` with a fresh lane variable. The dependence test, the region
analysis of cache_read / cache_write / compute_at and the reduce-binding checks all read this.

    col = collect(loop_stmt, outer_ranges)
    col.accesses   # [Access(buffer, indices, write, blocks, known)]
    col.blocks     # [BlockSite(block, bindings over loop variables, enclosing loops)]
    col.ranges     # every loop (and lane) variable's (lo, hi)
    col.private    # buffers allocated under the statement (private to one iteration)"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from compiler.loop.expr import INDEX, Broadcast, Expr, IntImm, Load, Ramp, Var
from compiler.loop.stmt import (Allocate, Block, CallFunc, Evaluate, For, IfThenElse, LetStmt,
                                Seq, Store)
from compiler.loop.visitor import free_vars, substitute, walk


@dataclass
class Access:
    buffer: object
    indices: Optional[tuple]    # scalar index expressions over loop/lane variables; None: unknown
    write: bool
    blocks: tuple               # enclosing blocks, outermost first
    known: bool                 # every index is free of loads and of variables without a range
    raw: Optional[tuple] = None  # the indices as written (over block variables)

    def where(self) -> str:
        verb = "written" if self.write else "read"
        if self.blocks:
            return f'{verb} by block "{self.blocks[-1].name}"'
        return f"{verb} outside any block"


@dataclass
class BlockSite:
    block: Block
    bindings: tuple             # over loop variables
    loops: tuple                # enclosing For statements under the analysed root


class Collector:
    def __init__(self, ranges: Optional[dict] = None):
        self.ranges: dict = dict(ranges or {})
        self.accesses: list = []
        self.blocks: list = []
        self.private: set = set()

    # ---- statements ---------------------------------------------------------------------------
    def stmt(self, s, env: dict, loops: tuple, blocks: tuple) -> None:
        if isinstance(s, Seq):
            for x in s.stmts:
                self.stmt(x, env, loops, blocks)
        elif isinstance(s, For):
            self.ranges[s.var] = (0, s.extent - 1)
            self.stmt(s.body, env, loops + (s,), blocks)
        elif isinstance(s, Block):
            bindings = tuple(substitute(b, env) for b in s.bindings)
            for b in s.bindings:
                self.reads(b, env, blocks)
            if s.predicate is not None:
                self.reads(s.predicate, env, blocks)
            self.blocks.append(BlockSite(s, bindings, loops))
            inner = {iv.var: b for iv, b in zip(s.iter_vars, bindings)}
            for body in (s.init, s.body):
                if body is not None:
                    self.stmt(body, inner, loops, blocks + (s,))
        elif isinstance(s, Store):
            self.add(s.buffer, s.indices, True, env, blocks)
            self.reads(s.value, env, blocks)
            for i in s.indices:
                self.reads(i, env, blocks)
        elif isinstance(s, IfThenElse):
            self.reads(s.cond, env, blocks)
            self.stmt(s.then_body, env, loops, blocks)
            if s.else_body is not None:
                self.stmt(s.else_body, env, loops, blocks)
        elif isinstance(s, LetStmt):
            self.reads(s.value, env, blocks)
            inner = dict(env)
            if s.value.dtype.is_int and s.value.lanes == 1:
                inner[s.var] = substitute(s.value, env)
            self.stmt(s.body, inner, loops, blocks)
        elif isinstance(s, Allocate):
            self.private.add(s.buffer)
            self.stmt(s.body, env, loops, blocks)
        elif isinstance(s, Evaluate):
            self.reads(s.value, env, blocks)
        elif isinstance(s, CallFunc):
            for b in s.args:            # the callee may read and write anything it is passed
                self.accesses.append(Access(b, None, True, blocks, False))
                self.accesses.append(Access(b, None, False, blocks, False))

    def reads(self, e: Expr, env: dict, blocks: tuple) -> None:
        for n in walk(e):
            if isinstance(n, Load):
                self.add(n.buffer, n.indices, False, env, blocks)

    def add(self, buf, indices, write: bool, env: dict, blocks: tuple) -> None:
        idx = [substitute(i, env) for i in indices]
        lanes = max((i.lanes for i in idx), default=1)
        known = True
        if lanes > 1:
            lane = Var("lane", INDEX)
            self.ranges[lane] = (0, lanes - 1)
            scalar = []
            for i in idx:
                if isinstance(i, Ramp) and isinstance(i.stride, IntImm):
                    scalar.append(i.base + i.stride * lane)
                elif isinstance(i, Broadcast):
                    scalar.append(i.value)
                elif i.lanes == 1:
                    scalar.append(i)
                else:
                    scalar.append(i)
                    known = False
            idx = scalar
        known = known and all(self.index_known(i) for i in idx)
        self.accesses.append(Access(buf, tuple(idx), write, blocks, known, tuple(indices)))

    def index_known(self, e: Expr) -> bool:
        if e.lanes != 1 or any(isinstance(n, Load) for n in walk(e)):
            return False
        return all(v in self.ranges for v in free_vars(e))


def collect(stmt, ranges: Optional[dict] = None, env: Optional[dict] = None,
            loops: tuple = (), blocks: tuple = ()) -> Collector:
    col = Collector(ranges)
    col.stmt(stmt, dict(env or {}), loops, blocks)
    return col


def reduce_loops(col: Collector) -> dict:
    """{loop Var: (block, reduce IterVar)} for loops bound into a reduce variable of a block."""
    out: dict = {}
    for site in col.blocks:
        for iv, b in zip(site.block.iter_vars, site.bindings):
            if iv.kind == "reduce":
                for v in free_vars(b):
                    out.setdefault(v, (site.block, iv))
    return out


def context(path: list):
    """(ranges, env, loops, blocks) that hold at the last statement of `path` (a list of
    statements from the function body down): enclosing loop ranges, block variables and
    integer lets as expressions of loop variables, and the enclosing loops and blocks."""
    ranges, env, loops, blocks = {}, {}, (), ()
    for s in path[:-1]:
        if isinstance(s, For):
            ranges[s.var] = (0, s.extent - 1)
            loops += (s,)
        elif isinstance(s, Block):
            env = {iv.var: substitute(b, env) for iv, b in zip(s.iter_vars, s.bindings)}
            blocks += (s,)
        elif isinstance(s, LetStmt) and s.value.dtype.is_int and s.value.lanes == 1:
            env = dict(env)
            env[s.var] = substitute(s.value, env)
    return ranges, env, loops, blocks


def collect_at(path: list) -> Collector:
    """The accesses under the last statement of `path`, in its context."""
    ranges, env, loops, blocks = context(path)
    return collect(path[-1], ranges, env, loops, blocks)
