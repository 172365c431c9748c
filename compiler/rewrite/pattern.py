"""Patterns over the graph IR, written as data (in the spirit of tinygrad's UPat / MLIR's DRR).

    P("Mul", P.var("x"), P.const("c", pred=lambda a: np.all(a == 1)))

matches a Mul node whose operands are any value (captured as "x") and a constant whose array
satisfies the predicate (captured as "c"). Node patterns match recursively through producers;
a capture name used twice must bind the same Value (or Node); commutative ops (OpDef.commutative)
are tried in both operand orders, with full backtracking."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, Union

import numpy as np

from ..ops.registry import OPS

_ANY = object()


class P:
    """A node pattern. `op` is an op name or a tuple of names. `inputs` are sub-patterns (their
    count must equal the node's operand count). `name` captures the node. `attrs` maps attribute
    names to a value (compared with ==, defaults filled in) or a predicate. `pred(node)` is an
    extra check. `one_use` requires the node's single result to have exactly one use (and not
    be a graph output); it has no effect on the root. `commutative` overrides the op's flag."""

    __slots__ = ("ops", "inputs", "name", "attrs", "pred", "one_use", "commutative", "kind")

    def __init__(self, op: Union[str, Sequence[str]], *inputs: "P", name: Optional[str] = None,
                 attrs: Optional[Mapping[str, Any]] = None,
                 pred: Optional[Callable[[Any], bool]] = None, one_use: bool = False,
                 commutative: Optional[bool] = None):
        self.kind = "node"
        self.ops = (op,) if isinstance(op, str) else tuple(op)
        for i, sub in enumerate(inputs):
            if not isinstance(sub, P):
                raise TypeError(f"input {i} of pattern {self.ops}: expected a pattern, got {sub!r}")
        self.inputs = tuple(inputs)
        self.name, self.attrs, self.pred = name, dict(attrs or {}), pred
        self.one_use, self.commutative = one_use, commutative

    @classmethod
    def var(cls, name: Optional[str] = None, pred: Optional[Callable[[Any], bool]] = None) -> "P":
        """Any value (input, constant or node result); `pred(value)` may restrict it."""
        p = cls.__new__(cls)
        p.kind, p.ops, p.inputs, p.name, p.attrs, p.pred = "var", (), (), name, {}, pred
        p.one_use, p.commutative = False, None
        return p

    @classmethod
    def const(cls, name: Optional[str] = None,
              pred: Optional[Callable[[np.ndarray], bool]] = None) -> "P":
        """A constant value; `pred(array)` may restrict it."""
        p = cls.var(name, pred)
        p.kind = "const"
        return p

    any = var

    def __repr__(self) -> str:
        tag = f"{self.name}=" if self.name else ""
        if self.kind != "node":
            return f"{tag}{self.kind}"
        ops = self.ops[0] if len(self.ops) == 1 else "|".join(self.ops)
        return f"{tag}{ops}({', '.join(map(repr, self.inputs))})"

    # ---- matching ----------------------------------------------------------------------------
    def match(self, node) -> Optional["Match"]:
        """Match this pattern rooted at `node`; the first full match, or None."""
        if self.kind != "node":
            raise TypeError("the root of a pattern must be a node pattern, not P.var/P.const")
        for b in self._match_node(node, {}, root=True):
            return Match(node, b)
        return None

    def _match_node(self, node, b: dict, root: bool = False) -> Iterator[dict]:
        if node.op not in self.ops or len(node.inputs) != len(self.inputs):
            return
        if self.one_use and not root:
            out = node.outputs[0] if len(node.outputs) == 1 else None
            g = node.graph
            if out is None or len(out.uses) != 1 or (g is not None and any(o is out for o in g.outputs)):
                return
        if self.attrs and not self._attrs_ok(node):
            return
        if self.pred is not None and not self.pred(node):
            return
        if self.name is not None:
            prev = b.get(self.name, _ANY)
            if prev is not _ANY and prev is not node:
                return
            b = {**b, self.name: node}
        b = {**b, _NODES: b.get(_NODES, ()) + (node,)}
        yield from _match_seq(self.inputs, node.inputs, b)
        if self._is_commutative(node) and len(self.inputs) == 2:
            swapped = (node.inputs[1], node.inputs[0])
            yield from _match_seq(self.inputs, swapped, b)

    def _is_commutative(self, node) -> bool:
        if self.commutative is not None:
            return self.commutative
        op = OPS.get(node.op)
        return bool(op is not None and op.commutative)

    def _attrs_ok(self, node) -> bool:
        op = OPS.get(node.op)
        attrs = op.full_attrs(node.attrs) if op is not None else node.attrs
        for k, want in self.attrs.items():
            if k not in attrs:
                return False
            have = attrs[k]
            if callable(want):
                if not want(have):
                    return False
            elif not _attr_equal(have, want):
                return False
        return True

    def _match_value(self, v, b: dict) -> Iterator[dict]:
        if v is None:
            return
        if self.kind == "node":
            if v.producer is None or v.index != 0:
                return
            yield from self._match_node(v.producer, b)
            return
        if self.kind == "const":
            if not v.is_constant or (self.pred is not None and not self.pred(v.data)):
                return
            b = {**b, _CONSTS: b.get(_CONSTS, ()) + (v,)}
        elif self.pred is not None and not self.pred(v):
            return
        if self.name is not None:
            prev = b.get(self.name, _ANY)
            if prev is not _ANY and prev is not v:
                return
            b = {**b, self.name: v}
        yield b


_NODES = "\0nodes"
_CONSTS = "\0consts"


def _match_seq(pats: Sequence[P], values: Sequence, b: dict) -> Iterator[dict]:
    if not pats:
        yield b
        return
    for b1 in pats[0]._match_value(values[0], b):
        yield from _match_seq(pats[1:], values[1:], b1)


def _attr_equal(have, want) -> bool:
    if isinstance(have, np.ndarray) or isinstance(want, np.ndarray):
        return bool(np.array_equal(np.asarray(have), np.asarray(want)))
    if isinstance(have, (list, tuple)) and isinstance(want, (list, tuple)):
        return len(have) == len(want) and all(_attr_equal(x, y) for x, y in zip(have, want))
    return have == want


@dataclass
class Match:
    """A successful match: the root node and the captures. `m["x"]` is a captured Value (or a
    captured Node for named node patterns); `m.array("c")` the data of a captured constant."""
    root: Any
    bindings: dict = field(repr=False)

    def __getitem__(self, name: str):
        try:
            return self.bindings[name]
        except KeyError:
            known = ", ".join(k for k in self.bindings if not k.startswith("\0"))
            raise KeyError(f"no capture '{name}' in this match (captures: {known})") from None

    def __contains__(self, name: str) -> bool:
        return name in self.bindings

    def get(self, name: str, default=None):
        return self.bindings.get(name, default)

    def array(self, name: str) -> np.ndarray:
        v = self[name]
        if getattr(v, "data", None) is None:
            raise TypeError(f"capture '{name}' is not a constant")
        return v.data

    @property
    def nodes(self) -> tuple:
        """Every node the pattern matched, root first (pre-order, duplicates removed)."""
        seen, out = set(), []
        for n in self.bindings.get(_NODES, ()):
            if id(n) not in seen:
                seen.add(id(n))
                out.append(n)
        return tuple(out)

    @property
    def constants(self) -> tuple:
        """Every constant matched by a P.const."""
        seen, out = set(), []
        for c in self.bindings.get(_CONSTS, ()):
            if id(c) not in seen:
                seen.add(id(c))
                out.append(c)
        return tuple(out)
