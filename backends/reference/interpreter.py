"""Execute a graph node by node with each op's numpy reference semantics."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from compiler.ir.evaluate import EvaluationError, evaluate_graph
from compiler.ir.graph import Graph


# One error type for everything the interpreter rejects: bad feeds and failing kernels.
InterpreterError = EvaluationError


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
    named = check_feed(graph, feeds)
    results = evaluate_graph(graph, [named[v.name] for v in graph.inputs], check_types)
    return dict(zip(graph.output_names, results))
