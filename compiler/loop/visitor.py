"""Generic traversal of loop IR trees: visiting, rebuilding, substituting.

    for node in walk(stmt): ...                       # pre-order over statements and expressions
    new = Mutator().visit(stmt)                       # subclass with visit_<ClassName> methods
    new = substitute(stmt, {i: i_outer * 8 + i_inner})
    free_vars(stmt)                                   # variables used but not defined inside

Every node lists the fields that hold sub-nodes in `_children`, so one `map_children` rebuilds
any node; it returns the node itself when nothing changed (cheap identity checks for passes)."""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

from .expr import Expr, Load, Node, Var
from .stmt import Allocate, Block, CallFunc, For, LetStmt, Store


def child_nodes(node: Node) -> Iterator[Node]:
    for f in node._children:
        v = getattr(node, f)
        if v is None:
            continue
        if isinstance(v, tuple):
            yield from v
        else:
            yield v


def map_children(node: Node, fn: Callable[[Node], Node]) -> Node:
    """Rebuild `node` with `fn` applied to each direct sub-node (unchanged -> same object)."""
    changes = {}
    for f in node._children:
        v = getattr(node, f)
        if v is None:
            continue
        if isinstance(v, tuple):
            nv = tuple(fn(x) for x in v)
            if any(a is not b for a, b in zip(nv, v)):
                changes[f] = nv
        else:
            nv = fn(v)
            if nv is not v:
                changes[f] = nv
    return dataclasses.replace(node, **changes) if changes else node


def walk(node: Node) -> Iterator[Node]:
    """Pre-order: every statement and expression under (and including) `node`."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(list(child_nodes(n))))


def defined_vars(node: Node) -> tuple:
    """The variables a statement itself defines (a loop's, a block's, a let's)."""
    if isinstance(node, For):
        return (node.var,)
    if isinstance(node, Block):
        return tuple(iv.var for iv in node.iter_vars)
    if isinstance(node, LetStmt):
        return (node.var,)
    return ()


class Mutator:
    """Rebuilds a tree bottom-up. Override `visit_<ClassName>(self, node)`; call
    `self.generic(node)` there to recurse into the children."""

    def visit(self, node: Node) -> Node:
        m = getattr(self, "visit_" + type(node).__name__, None)
        return m(node) if m is not None else self.generic(node)

    def generic(self, node: Node) -> Node:
        return map_children(node, self.visit)


class _Substituter(Mutator):
    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Var(self, v: Var):
        return self.mapping.get(v, v)


def substitute(node: Node, mapping: dict) -> Node:
    """Replace uses of variables (keys: Var) by expressions."""
    return _Substituter(mapping).visit(node) if mapping else node


def free_vars(node: Node) -> list:
    """Variables used under `node` but not defined there, in order of first use."""
    out: dict = {}

    def rec(n, bound: frozenset):
        if isinstance(n, Var):
            if n not in bound:
                out.setdefault(n, None)
            return
        if isinstance(n, Block):           # bindings see the outside; the body its own vars
            for b in n.bindings:
                rec(b, bound)
            inner = bound | {iv.var for iv in n.iter_vars}
            for c in (n.predicate, n.init, n.body):
                if c is not None:
                    rec(c, inner if c is not n.predicate else bound)
            return
        if isinstance(n, LetStmt):
            rec(n.value, bound)
            rec(n.body, bound | {n.var})
            return
        inner = bound | set(defined_vars(n))
        for c in child_nodes(n):
            rec(c, inner)

    rec(node, frozenset())
    return list(out)


def buffers_used(node: Node) -> list:
    """Buffers read, written, allocated or passed to calls under `node`, in order of first use."""
    out: dict = {}
    for n in walk(node):
        if isinstance(n, (Load, Store, Allocate)):
            out.setdefault(n.buffer, None)
        elif isinstance(n, CallFunc):
            for b in n.args:
                out.setdefault(b, None)
    return list(out)


def contains(node: Node, pred: Callable[[Node], bool]) -> bool:
    return any(pred(n) for n in walk(node))


def is_expr(node) -> bool:
    return isinstance(node, Expr)
