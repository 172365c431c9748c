"""The graph verifier: checks every IR invariant and names the offending node.

Invariants: unique value names; each operand defined before use (inputs, constants, earlier
node results); use lists exactly mirror operands (no dangling or missing uses); outputs defined;
ops known with the right arity and attribute kinds; constants match their declared types; and
each node's declared result types agree with its op's shape rule."""
from __future__ import annotations

from ..errors import AiccError, UnsupportedError, VerificationError
from ..ops.registry import OPS, REQUIRED, check_attr_value
from .infer import infer_node_types
from .types import types_compatible


def _fail(where: str, message: str):
    raise VerificationError(f"{where}: {message}")


def _check_names_and_constants(graph) -> None:
    seen = set()
    for v in graph.values():
        if v.name in seen:
            _fail(f"graph @{graph.name}", f"value name %{v.name} is defined more than once")
        seen.add(v.name)
    for c in graph.constants:
        if c.data is None:
            _fail(f"constant %{c.name}", "has no data")
        if tuple(c.data.shape) != c.type.shape or c.data.dtype != c.type.dtype.np_dtype:
            _fail(f"constant %{c.name}", f"data is {c.data.dtype}{list(c.data.shape)} but the "
                  f"declared type is {c.type}")


def _check_uses(graph, node_set) -> None:
    for v in graph.values():
        for user, i in v.uses:
            if id(user) not in node_set:
                _fail(f"value %{v.name}", f"has a dangling use by {user.describe()}, which is not "
                      f"in graph @{graph.name}")
            if i >= len(user.inputs) or user.inputs[i] is not v:
                _fail(f"value %{v.name}", f"use list says {user.describe()} reads it as operand "
                      f"{i}, but that operand is something else")


def _check_signature(node, op) -> None:
    n_in, n_out = len(node.inputs), len(node.outputs)
    if n_in < op.min_inputs or (op.max_inputs is not None and n_in > op.max_inputs):
        hi = "any" if op.max_inputs is None else op.max_inputs
        _fail(node.describe(), f"has {n_in} operands; {op.name} takes {op.min_inputs} to {hi}")
    if n_out < op.min_outputs or (op.max_outputs is not None and n_out > op.max_outputs):
        hi = "any" if op.max_outputs is None else op.max_outputs
        _fail(node.describe(), f"has {n_out} results; {op.name} gives {op.min_outputs} to {hi}")
    for k, value in node.attrs.items():
        spec = op.attrs.get(k)
        if spec is None:
            known = ", ".join(sorted(op.attrs)) or "none"
            _fail(node.describe(), f"unknown attribute '{k}' (known: {known})")
        if not check_attr_value(spec.kind, value):
            _fail(node.describe(), f"attribute '{k}' should be of kind {spec.kind}, got {value!r}")
    for k, spec in op.attrs.items():
        if spec.default is REQUIRED and k not in node.attrs:
            _fail(node.describe(), f"required attribute '{k}' is missing")


def verify_node(node) -> None:
    op = OPS.get(node.op)
    if op is None:
        _fail(node.describe(), f"unknown op '{node.op}'")
    _check_signature(node, op)
    try:
        inferred = infer_node_types(node, len(node.outputs))
    except UnsupportedError:
        raise
    except AiccError as e:
        _fail(node.describe(), f"shape rule rejects the node: {e}")
    if len(inferred) != len(node.outputs):
        _fail(node.describe(), f"shape rule gives {len(inferred)} results, node has {len(node.outputs)}")
    for out, t in zip(node.outputs, inferred):
        if not types_compatible(t, out.type) and not types_compatible(out.type, t):
            _fail(node.describe(), f"result %{out.name} is declared {out.type} but the {node.op} "
                  f"shape rule gives {t}")


def verify(graph) -> None:
    """Raise VerificationError naming the first broken invariant and the node involved."""
    from .graph import Graph
    _check_names_and_constants(graph)
    node_set = {id(n) for n in graph.nodes}
    _check_uses(graph, node_set)
    defined = {id(v) for v in graph.inputs} | {id(c) for c in graph.constants}
    for node in graph.nodes:
        if node.graph is not graph:
            _fail(node.describe(), f"is listed in graph @{graph.name} but does not belong to it")
        for i, v in enumerate(node.inputs):
            if v is None:
                continue
            if id(v) not in defined:
                _fail(node.describe(), f"operand {i} %{v.name} is used before it is defined "
                      "(or is not defined in this graph)")
            if (node, i) not in [(u, j) for u, j in v.uses if u is node]:
                _fail(node.describe(), f"operand {i} %{v.name} is missing from its use list")
        verify_node(node)
        for a in node.attrs.values():
            if isinstance(a, Graph):
                verify(a)
        defined.update(id(o) for o in node.outputs)
    if not graph.outputs:
        _fail(f"graph @{graph.name}", "has no outputs")
    for o in graph.outputs:
        if id(o) not in defined:
            _fail(f"graph @{graph.name}", f"output %{o.name} is not defined in the graph")
    names = graph.output_names
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        _fail(f"graph @{graph.name}", f"output name '{dup}' is used for more than one output")
