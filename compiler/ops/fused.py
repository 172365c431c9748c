"""FusedGroup: a node that stands for a subgraph (its `body`) which later lowers to one loop nest.
Its reference semantics is evaluating the body; its shape rule is the body's signature."""
from __future__ import annotations

from ..ir.types import types_compatible
from .registry import REQUIRED, OpKind, def_op


def _infer(call):
    body = call.attrs["body"]
    if len(body.inputs) != len(call.input_types):
        raise call.error(f"body @{body.name} takes {len(body.inputs)} inputs, the node has "
                         f"{len(call.input_types)} operands")
    for i, (p, t) in enumerate(zip(body.inputs, call.input_types)):
        if t is None or not types_compatible(t, p.type):
            raise call.error(f"operand {i} is {t}, body parameter %{p.name} is {p.type}")
    if len(body.outputs) != call.num_outputs:
        raise call.error(f"body @{body.name} returns {len(body.outputs)} values, the node has "
                         f"{call.num_outputs} results")
    return [v.type for v in body.outputs]


def _compute(call):
    from ..ir.evaluate import evaluate_graph
    return evaluate_graph(call.attrs["body"], call.values)


def_op("FusedGroup", OpKind.OPAQUE, _infer, _compute,
       attrs={"body": ("graph", REQUIRED),
              # the group's pattern kind (OpKind name of its anchor), for lowering's choice
              "kind": ("string", "opaque")},
       inputs=(0, None), outputs=(1, None),
       doc="A fused subgraph; lowering turns each group into one loop nest.")
