"""Execute a graph node by node with each op's numpy reference semantics."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from compiler.errors import AiccError
from compiler.ir.graph import Graph
from compiler.ir.types import TensorType
from compiler.ops.registry import get_op, make_call


class InterpreterError(AiccError):
    pass


def check_feed(graph: Graph, feeds: Mapping[str, np.ndarray]) -> dict:
    """Match user inputs to graph inputs by name, dtype and shape (symbolic dims bind once)."""
    missing = [v.name for v in graph.inputs if v.name not in feeds]
    extra = sorted(set(feeds) - {v.name for v in graph.inputs})
    if missing or extra:
        expected = ", ".join(f"{v.name}: {v.type}" for v in graph.inputs)
        parts = []
        if missing:
            parts.append(f"missing input(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unknown input(s) {', '.join(extra)}")
        raise InterpreterError(f"graph @{graph.name}: {'; '.join(parts)} (expects {expected})")
    bound: dict[str, int] = {}
    env = {}
    for v in graph.inputs:
        arr = np.asarray(feeds[v.name])
        if arr.dtype != v.type.dtype.np_dtype:
            raise InterpreterError(f"input '{v.name}': expected dtype {v.type.dtype} "
                                   f"({v.type.dtype.np_dtype}), got {arr.dtype}")
        if arr.ndim != v.type.rank:
            raise InterpreterError(f"input '{v.name}': expected shape {v.type}, got {list(arr.shape)}")
        for d, n in zip(v.type.shape, arr.shape):
            if isinstance(d, int) and d != n:
                raise InterpreterError(f"input '{v.name}': expected shape {v.type}, got {list(arr.shape)}")
            if isinstance(d, str) and d != "?":
                if bound.setdefault(d, n) != n:
                    raise InterpreterError(f"input '{v.name}': symbolic dim {d} is {n} here but "
                                           f"{bound[d]} in another input")
        env[v.name] = arr
    return env


def run_graph(graph: Graph, feeds: Mapping[str, np.ndarray], check_types: bool = True) -> dict:
    """Run `graph` on `feeds` ({input name: array}); returns {output name: array}."""
    env: dict[int, np.ndarray] = {}
    named = check_feed(graph, feeds)
    for v in graph.inputs:
        env[id(v)] = named[v.name]
    for c in graph.constants:
        env[id(c)] = c.data
    for node in graph.nodes:
        op = get_op(node.op)
        args = [env[id(v)] if v is not None else None for v in node.inputs]
        types = [TensorType(a.dtype, a.shape) if a is not None else None for a in args]
        call = make_call(op, node.name or node.outputs[0].name, node.attrs, types, args,
                         len(node.outputs))
        try:
            results = op.compute(call)
        except AiccError:
            raise
        except Exception as e:  # a kernel failure is reported with the node that caused it
            raise InterpreterError(f"{node.describe()} failed in the reference interpreter: "
                                   f"{type(e).__name__}: {e}") from e
        if len(results) != len(node.outputs):
            raise InterpreterError(f"{node.describe()}: kernel returned {len(results)} results, "
                                   f"expected {len(node.outputs)}")
        for out, r in zip(node.outputs, results):
            r = np.asarray(r)
            if check_types and r.dtype != out.type.dtype.np_dtype:
                raise InterpreterError(f"{node.describe()}: result %{out.name} has dtype {r.dtype}, "
                                       f"declared {out.type.dtype}")
            env[id(out)] = r
    return {v.name: env[id(v)] for v in graph.outputs}
