"""Running an op's shape rule on a node (used when building nodes and by the verifier)."""
from __future__ import annotations

from ..errors import ShapeInferenceError
from ..ops.registry import get_op, make_call


def node_call(node, num_outputs: int):
    op = get_op(node.op)
    types = [v.type if v is not None else None for v in node.inputs]
    values = [v.data if v is not None else None for v in node.inputs]
    return make_call(op, node.name or (node.outputs[0].name if node.outputs else ""), node.attrs,
                     types, values, num_outputs)


def infer_node_types(node, num_outputs: int = 1):
    call = node_call(node, num_outputs)
    try:
        types = call.op.infer(call)
    except ShapeInferenceError:
        raise
    except (ValueError, IndexError, TypeError, KeyError) as e:
        raise call.error(f"shape inference failed: {e}") from e
    return list(types)
