"""Statement-tree helpers the schedule primitives share: finding loops and blocks with the path
of statements above them, replacing one statement (by identity) in an immutable tree, fresh
and canonical names, and re-simplifying block bindings and predicates after a rewrite."""
from __future__ import annotations

import re

from compiler.loop.expr import Expr, Var, is_const
from compiler.loop.simplify import Simplifier
from compiler.loop.stmt import (Allocate, Block, For, IfThenElse, IterVar, LetStmt, Seq, Stmt,
                                seq)
from compiler.loop.visitor import Mutator, map_children, walk


def child_stmts(s: Stmt) -> list:
    if isinstance(s, Seq):
        return list(s.stmts)
    if isinstance(s, (For, LetStmt, Allocate)):
        return [s.body]
    if isinstance(s, Block):
        return [x for x in (s.init, s.body) if x is not None]
    if isinstance(s, IfThenElse):
        return [x for x in (s.then_body, s.else_body) if x is not None]
    return []


def paths_to(root: Stmt, pred) -> list:
    """Every statement matching `pred`, as the list of statements from `root` down to it."""
    out, stack = [], [(root, [root])]
    while stack:
        s, path = stack.pop()
        if pred(s):
            out.append(path)
        for c in reversed(child_stmts(s)):
            stack.append((c, path + [c]))
    return out


def path_to(root: Stmt, node: Stmt) -> list:
    found = paths_to(root, lambda s: s is node)
    return found[0] if found else []


def index_in(path: list, node) -> int:
    """Position of `node` in `path`, by identity (statements compare structurally)."""
    return next(i for i, s in enumerate(path) if s is node)


def loops_on(path: list) -> list:
    return [s for s in path if isinstance(s, For)]


def replace(root: Stmt, old: Stmt, new: Stmt) -> Stmt:
    """`root` with the statement `old` (found by identity) replaced by `new`; Seqs stay flat."""
    def rec(s):
        if s is old:
            return new
        if isinstance(s, Seq):
            parts = [rec(x) for x in s.stmts]
            return s if all(a is b for a, b in zip(parts, s.stmts)) else seq(*parts)
        if isinstance(s, Expr) or not child_stmts(s):
            return s
        return map_children(s, lambda c: c if isinstance(c, Expr) else rec(c))
    return rec(root)


def names_in(func, module=None) -> set:
    """Every variable and buffer name of a function (new names must avoid them all: the printer
    would rename a clash, and names are how traces refer to loops)."""
    names = {b.name for b in func.params}
    names |= {b.name for b in (module.buffers if module is not None else ())}
    for n in walk(func.body):
        if isinstance(n, Var):
            names.add(n.name)
        elif isinstance(n, For):
            names.add(n.var.name)
        elif isinstance(n, Block):
            names.update(iv.var.name for iv in n.iter_vars)
        elif isinstance(n, LetStmt):
            names.add(n.var.name)
        elif isinstance(n, Allocate):
            names.add(n.buffer.name)
    return names


def block_names_in(root: Stmt) -> set:
    return {n.name for n in walk(root) if isinstance(n, Block)}


def fresh(base: str, taken: set) -> str:
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return name


def conjoin(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a.logical_and(b)


def conjuncts(e) -> list:
    from compiler.loop.expr import Binary
    if isinstance(e, Binary) and e.op == "&&":
        return conjuncts(e.a) + conjuncts(e.b)
    return [e]


def simplify_bindings(s: Stmt, ranges: dict | None = None) -> Stmt:
    """Simplify every block binding and predicate (and `if` condition) knowing the enclosing
    loop ranges; a predicate that simplifies to true is dropped."""
    ranges = dict(ranges or {})
    if isinstance(s, For):
        inner = dict(ranges)
        inner[s.var] = (0, s.extent - 1)
        body = simplify_bindings(s.body, inner)
        return s if body is s.body else For(s.var, s.extent, body, s.kind)
    if isinstance(s, Block):
        simp = Simplifier(ranges)
        bindings = tuple(simp(b) for b in s.bindings)
        pred = None if s.predicate is None else simp(s.predicate)
        if pred is not None and is_const(pred) and pred.value:
            pred = None
        inner = dict(ranges)
        inner.update({iv.var: (0, iv.extent - 1) for iv in s.iter_vars})
        init = None if s.init is None else simplify_bindings(s.init, inner)
        body = simplify_bindings(s.body, inner)
        if (all(a is b for a, b in zip(bindings, s.bindings)) and pred is s.predicate
                and init is s.init and body is s.body):
            return s
        return Block(s.name, s.iter_vars, bindings, body, init, pred)
    if isinstance(s, IfThenElse):
        cond = Simplifier(ranges)(s.cond)
        then = simplify_bindings(s.then_body, ranges)
        els = None if s.else_body is None else simplify_bindings(s.else_body, ranges)
        if cond is s.cond and then is s.then_body and els is s.else_body:
            return s
        return IfThenElse(cond, then, els)
    if isinstance(s, Seq):
        parts = [simplify_bindings(x, ranges) for x in s.stmts]
        return s if all(a is b for a, b in zip(parts, s.stmts)) else Seq(tuple(parts))
    if isinstance(s, (LetStmt, Allocate)):
        body = simplify_bindings(s.body, ranges)
        return s if body is s.body else map_children(s, lambda c: body if c is s.body else c)
    return s


def _defined_vars(root) -> list:
    out = []
    for n in walk(root):
        if isinstance(n, (For, LetStmt)):
            out.append(n.var)
        elif isinstance(n, Block):
            out.extend(iv.var for iv in n.iter_vars)
    return out


class _Rename(Mutator):
    def __init__(self, mapping: dict):
        self.mapping = mapping

    def visit_Var(self, v):
        return self.mapping.get(v, v)

    def visit_For(self, s):
        s = self.generic(s)
        return For(self.mapping.get(s.var, s.var), s.extent, s.body, s.kind)

    def visit_LetStmt(self, s):
        s = self.generic(s)
        return LetStmt(self.mapping.get(s.var, s.var), s.value, s.body)

    def visit_Block(self, s):
        s = self.generic(s)
        ivs = tuple(IterVar(self.mapping.get(iv.var, iv.var), iv.extent, iv.kind)
                    for iv in s.iter_vars)
        return Block(s.name, ivs, s.bindings, s.body, s.init, s.predicate)


def canonicalize_names(func, module=None) -> None:
    """Give every loop, block and let variable the name it prints under (the printer adds
    `_1`, `_2` ... to names that clash), so names in traces mean the same loop in memory and
    in the text. A no-op unless some name clashes."""
    from compiler.loop.parser import parse_module
    from compiler.loop.printer import print_module
    from compiler.loop.module import LoopModule
    m = module if module is not None else LoopModule("m", [func])
    parsed = parse_module(print_module(m), weights=m.weights()).get_func(func.name)
    mine, theirs = _defined_vars(func.body), _defined_vars(parsed.body)
    if len(mine) != len(theirs):
        return
    mapping = {}
    for a, b in zip(mine, theirs):
        if a.name != b.name:
            if a in mapping:                  # one Var defined twice: leave the names alone
                return
            mapping[a] = Var(b.name, a.dtype, a.lanes)
    if mapping:
        func.body = _Rename(mapping).visit(func.body)


def printed_names(func, module=None) -> set:
    """Every %name in the function's text (including the printer's de-clashing suffixes)."""
    from compiler.loop.printer import print_func
    return set(_NAME.findall(print_func(func, module)))


_NAME = re.compile(r"%([A-Za-z0-9_.$\-]+)")
