"""Liveness of a graph's intermediate values over its execution order, and which operands a node
may overwrite in place (helpers of the memory-plan pass).

Step t is `graph.nodes[t]`. A value produced at step s and last read at step e is live on the
closed interval [s, e]: at step t a node's operands and results are live together, so a result
shares memory with an operand only through an explicit, checked in-place reuse."""
from __future__ import annotations

from compiler.ir.graph import Graph, Node, Value
from compiler.ops import OPS, OpKind

# Ops whose result is their operand's bytes in the same order: writing the result over the
# operand is a no-op copy, so the backend may alias them.
ALIAS_OPS = ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity")


def intermediates(graph: Graph) -> list[Value]:
    """Node results that are not graph outputs, in execution order: what the arena holds."""
    outs = {id(v) for v in graph.outputs}
    return [o for n in graph.nodes for o in n.outputs if id(o) not in outs]


def lifetimes(graph: Graph) -> dict[int, tuple[int, int]]:
    """{id(value): (first step, last step)} for every node result (unused ones die at birth)."""
    step = {id(n): t for t, n in enumerate(graph.nodes)}
    out = {}
    for t, n in enumerate(graph.nodes):
        for o in n.outputs:
            out[id(o)] = (t, max([step[id(u)] for u, _ in o.uses if id(u) in step], default=t))
    return out


def _same_storage_shape(a: Value, b: Value) -> bool:
    return (a.type.is_static and b.type.is_static and a.type.shape == b.type.shape
            and a.type.nbytes == b.type.nbytes)


def _body_inplace_params(body: Graph) -> list[int]:
    """Parameters of a one-result group body that only elementwise/broadcast ops of the result's
    shape read, directly or transitively: each result element then reads only the same element
    of the parameter, so the result may overwrite it."""
    (res,) = body.outputs
    found = []
    for k, p in enumerate(body.inputs):
        if not _same_storage_shape(p, res):
            continue
        ok, stack, seen = True, [u for u, _ in p.uses], set()
        while stack and ok:
            n = stack.pop()
            if id(n) in seen:
                continue
            seen.add(id(n))
            op = OPS.get(n.op)
            ok = (op is not None and op.kind <= OpKind.BROADCAST
                  and all(o.type.shape == res.type.shape for o in n.outputs))
            stack.extend(u for o in n.outputs for u, _ in o.uses)
        if ok:
            found.append(k)
    return found


def inplace_operands(node: Node) -> list[int]:
    """Operand positions whose buffer `node` may overwrite with its (single) result: operands of
    the result's shape and size read element for element (elementwise and broadcast ops,
    ALIAS_OPS, and such parameters of a one-result FusedGroup)."""
    if len(node.outputs) != 1:
        return []
    out = node.outputs[0]
    if node.op == "FusedGroup":
        body = node.attrs.get("body")
        if body is None or len(body.outputs) != 1:
            return []
        return [k for k in _body_inplace_params(body)
                if node.inputs[k] is not None and _same_storage_shape(node.inputs[k], out)]
    op = OPS.get(node.op)
    if op is None:
        return []
    if node.op in ALIAS_OPS:
        v = node.inputs[0]
        ok = v is not None and v.type.is_static and out.type.is_static \
            and v.type.nbytes == out.type.nbytes
        return [0] if ok else []
    if op.kind > OpKind.BROADCAST:
        return []
    return [k for k, v in enumerate(node.inputs) if v is not None and _same_storage_shape(v, out)]
