"""cse: structural common-subexpression elimination.

Two nodes are the same expression when they have the same op, attributes, result types and
operands; operands of commutative ops are compared as a multiset; constants are compared by
value (dtype, shape and bytes), so two equal weights become one."""
from __future__ import annotations

import hashlib

import numpy as np

from compiler.ops import OPS
from compiler.transform import Pass, register_pass


def _freeze(value):
    """A hashable, exact key for an attribute value."""
    if isinstance(value, np.ndarray):
        return ("tensor", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (list, tuple)):
        return ("list",) + tuple(_freeze(v) for v in value)
    if isinstance(value, float):
        return ("float", value.hex() if value == value else "nan")
    if hasattr(value, "nodes"):         # a nested graph: no structural key, never merged
        return ("graph", id(value))
    return (type(value).__name__, value)


def constant_key(data: np.ndarray):
    return (data.dtype.str, data.shape, hashlib.sha1(np.ascontiguousarray(data).tobytes()).digest())


@register_pass
class CommonSubexpressionElimination(Pass):
    """Merge structurally equal nodes and equal constants."""
    name = "cse"
    opt_level = 1

    def run(self, graph, ctx) -> bool:
        merged = 0
        canon: dict = {}
        for c in list(graph.constants):
            key = constant_key(c.data)
            first = canon.get(key)
            if first is None or not np.array_equal(first.data, c.data, equal_nan=c.data.dtype.kind == "f"):
                canon.setdefault(key, c)
                continue
            graph.replace_all_uses_with(c, first)
            graph.erase_constant(c)
            merged += 1
        seen: dict = {}
        for node in list(graph.nodes):
            opdef = OPS.get(node.op)
            operands = [id(v) if v is not None else None for v in node.inputs]
            if opdef is not None and opdef.commutative and None not in operands:
                operands = sorted(operands)
            key = (node.op, tuple(operands),
                   tuple(sorted((k, _freeze(v)) for k, v in node.attrs.items())),
                   tuple(o.type for o in node.outputs))
            first = seen.get(key)
            if first is None:
                seen[key] = node
                continue
            for old, new in zip(node.outputs, first.outputs):
                graph.replace_all_uses_with(old, new)
            graph.erase_node(node)
            merged += 1
        if merged:
            ctx.log(f"merged {merged} duplicate nodes/constants", self.name)
        return merged > 0
