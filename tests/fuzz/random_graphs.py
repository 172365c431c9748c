"""Random valid graphs for fuzzing passes: a hypothesis strategy that grows a graph one op at a
time from a menu of ops whose shape rules it respects, with constants mixed in so that folding,
CSE and the simplifier have something to do."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from compiler import Graph, TensorType

UNARY = ["Relu", "Sigmoid", "Tanh", "Neg", "Abs", "Exp", "Softplus", "Identity", "Gelu", "Erf",
         "Floor", "HardSwish"]
BINARY = ["Add", "Sub", "Mul", "Max", "Min"]


def _const(draw, g, shape):
    kind = draw(st.sampled_from(["random", "zero", "one", "two"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    data = {"random": lambda: rng.standard_normal(shape),
            "zero": lambda: np.zeros(shape), "one": lambda: np.ones(shape),
            "two": lambda: np.full(shape, 2.0)}[kind]()
    return g.add_constant(data.astype(np.float32))


def _step(draw, g, pool):
    x = draw(st.sampled_from(pool))
    shape = x.type.shape
    choice = draw(st.sampled_from(["unary", "binary", "binary_const", "transpose", "reshape",
                                   "reduce", "softmax", "matmul", "concat", "double", "swap"]))
    if choice == "unary":
        return g.op(draw(st.sampled_from(UNARY)), x)
    if choice in ("binary", "binary_const"):
        same = [v for v in pool if v.type == x.type]
        other = draw(st.sampled_from(same)) if choice == "binary" else \
            _const(draw, g, draw(st.sampled_from([shape, shape[-1:], ()])))
        a, b = draw(st.permutations([x, other]))
        return g.op(draw(st.sampled_from(BINARY)), a, b)
    if choice == "double":      # the same expression twice (CSE fodder)
        op = draw(st.sampled_from(UNARY))
        return g.op("Add", g.op(op, x), g.op(op, x))
    if choice == "swap":        # op(a, b) beside op(b, a): equal only for commutative ops
        other = draw(st.sampled_from([v for v in pool if v.type == x.type]))
        op = draw(st.sampled_from(BINARY + ["Div"]))
        return g.op("Concat", g.op(op, x, other), g.op(op, other, x), axis=0)
    if choice == "transpose" and len(shape) >= 2:
        perm = draw(st.permutations(range(len(shape))))
        t = g.op("Transpose", x, perm=list(perm))
        return g.op("Transpose", t, perm=[list(perm).index(i) for i in range(len(shape))])
    if choice == "reshape":
        target = g.add_constant(np.array([-1], np.int64))
        flat = g.op("Reshape", x, target)
        back = g.add_constant(np.array(shape, np.int64))
        return g.op("Reshape", flat, back)
    if choice == "reduce" and len(shape) >= 1:
        axes = g.add_constant(np.array([draw(st.integers(-len(shape), len(shape) - 1))], np.int64))
        return g.op(draw(st.sampled_from(["ReduceSum", "ReduceMean", "ReduceMax"])), x, axes,
                    keepdims=1)
    if choice == "softmax" and len(shape) >= 1:
        return g.op("Softmax", x, axis=-1)
    if choice == "matmul" and len(shape) >= 1:
        w = _const(draw, g, (shape[-1], shape[-1]))
        return g.op("MatMul", x, w)
    if choice == "concat" and len(shape) >= 1:
        return g.op("Concat", x, x, axis=0)
    return g.op("Relu", x)


@st.composite
def random_graphs(draw, max_ops: int = 12):
    """(graph, feeds): a verified random f32 graph and matching random inputs."""
    g = Graph("fuzz")
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    inputs = [g.add_input(f"x{i}", TensorType("f32", shape)) for i in range(draw(st.integers(1, 2)))]
    pool = list(inputs)
    for _ in range(draw(st.integers(1, max_ops))):
        pool.append(_step(draw, g, pool))
    n_out = draw(st.integers(1, min(3, len(pool) - len(inputs))))
    outs = draw(st.lists(st.sampled_from(pool[len(inputs):]), min_size=n_out, max_size=n_out,
                         unique_by=id))
    g.set_outputs(outs, [f"out{i}" for i in range(len(outs))])
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    feeds = {v.name: rng.standard_normal(v.type.shape).astype(np.float32) for v in inputs}
    return g, feeds
