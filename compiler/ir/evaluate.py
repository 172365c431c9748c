"""Evaluate a graph with each op's numpy reference semantics: the one node loop shared by the
reference interpreter (backends/reference), constant folding and fused-group semantics."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import AiccError
from ..ops.registry import get_op, make_call
from .types import TensorType


class EvaluationError(AiccError):
    """A node's reference kernel failed or returned something other than it declared."""


def evaluate_node(node, args: Sequence, check_types: bool = True) -> list:
    op = get_op(node.op)
    types = [TensorType(a.dtype, a.shape) if a is not None else None for a in args]
    call = make_call(op, node.name or node.outputs[0].name, node.attrs, types, list(args),
                     len(node.outputs))
    try:
        results = op.compute(call)
    except AiccError:
        raise
    except Exception as e:  # a kernel failure is reported with the node that caused it
        raise EvaluationError(f"{node.describe()} failed in the reference interpreter: "
                              f"{type(e).__name__}: {e}") from e
    if len(results) != len(node.outputs):
        raise EvaluationError(f"{node.describe()}: kernel returned {len(results)} results, "
                              f"expected {len(node.outputs)}")
    out = []
    for v, r in zip(node.outputs, results):
        r = np.asarray(r)
        if check_types and r.dtype != v.type.dtype.np_dtype:
            raise EvaluationError(f"{node.describe()}: result %{v.name} has dtype {r.dtype}, "
                                  f"declared {v.type.dtype}")
        out.append(r)
    return out


def evaluate_graph(graph, inputs: Sequence[np.ndarray], check_types: bool = True) -> list:
    """Run `graph` on positional `inputs` (already checked); returns the outputs in order."""
    env: dict[int, np.ndarray] = {id(v): a for v, a in zip(graph.inputs, inputs)}
    for c in graph.constants:
        env[id(c)] = c.data
    for node in graph.nodes:
        args = [env[id(v)] if v is not None else None for v in node.inputs]
        for v, r in zip(node.outputs, evaluate_node(node, args, check_types)):
            env[id(v)] = r
    return [env[id(v)] for v in graph.outputs]
