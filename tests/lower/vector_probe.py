"""Evaluate single-node graphs' compute rules with a vector (Ramp) last index, as a kernel that
loads whole vectors from an inlined producer does: compute rules must accept a Ramp in the last
position and return a value with as many lanes. All graphs compile as one module."""
from __future__ import annotations

from contextlib import ExitStack

import numpy as np

from backends.llvm import compile_module
from compiler.loop import Buffer, IRBuilder, LoopFunc, LoopModule, Ramp, verify
from passes.lower import LowerTarget, load_rules
from passes.lower.context import ComputeCtx
from passes.lower.registry import COMPUTE_RULES
from passes.lower.tensor import BufferRef, ScalarConstRef


def _vector_func(lm: LoopModule, name: str, graph):
    """A function computing output 0 of graph's one node with the last axis as one vector."""
    node = graph.nodes[0]
    params, refs = [], []
    for k, v in enumerate(node.inputs):
        if v is None:
            refs.append(None)
        elif v.is_constant:
            data = np.asarray(v.data)
            refs.append(ScalarConstRef(v.shape, v.dtype, data) if data.size == 1 else
                        BufferRef(lm.add_const(f"{name}_c{k}", data.reshape(v.shape)), data))
        else:
            buf = Buffer(f"in{k}", v.dtype, v.shape)
            params.append(buf)
            refs.append(BufferRef(buf))
    out_t = node.outputs[0].type
    out = Buffer("out", out_t.dtype, out_t.shape)
    cc = ComputeCtx(node, refs, LowerTarget(), out_t, 0)
    shape = out_t.shape
    b = IRBuilder()
    with ExitStack() as stack:
        ivs = [stack.enter_context(b.for_(f"i{k}", d)) for k, d in enumerate(shape[:-1])]
        idx = tuple(ivs) + (Ramp(0, 1, shape[-1]),)
        value = COMPUTE_RULES[node.op](cc, idx)
        assert value.lanes == shape[-1], f"{name}: {value.lanes} lanes for {shape[-1]}"
        b.store(out, idx, value)
    lm.add_func(LoopFunc(name, params + [out], b.get()))


def run_vectorized(cases: dict, bounds_check: bool = True) -> dict:
    """{name: output 0} for cases {name: (single-node graph, feeds)}."""
    load_rules()
    lm = LoopModule("probe")
    for name, (graph, _) in cases.items():
        _vector_func(lm, name, graph)
    verify(lm)
    cm = compile_module(lm, num_threads=1, bounds_check=bounds_check)
    results = {}
    for name, (graph, feeds) in cases.items():
        node, out_t = graph.nodes[0], graph.nodes[0].outputs[0].type
        result = np.empty(out_t.shape, out_t.dtype.np_dtype)
        args = [np.ascontiguousarray(feeds[v.name]) for v in node.inputs
                if v is not None and not v.is_constant]
        cm[name](*args, result)
        results[name] = result
    return results
