"""Lowering of the ops whose values come from static shapes and attributes (computes/shape.py):
Shape, Size, ConstantOfShape, Range, EyeLike. Compiled results equal the reference exactly."""
import numpy as np
import pytest

from backends.reference import run_graph
from compiler.ir.graph import Graph
from compiler.ir.types import TensorType

from .util import check_against_reference, random_feeds
from .vector_probe import run_vectorized


def _const(g, value, dtype):
    return g.add_constant(np.array(value, dtype))


def shapes():
    g = Graph("shapes")
    x = g.add_input("x", TensorType("f32", (2, 3, 5, 7)))
    b = g.add_input("b", TensorType("bool", (4,)))
    outs = [g.op("Shape", x), g.op("Shape", x, start=1), g.op("Shape", x, start=-3, end=-1),
            g.op("Shape", x, start=2, end=3), g.op("Shape", x, start=-100, end=100),
            g.op("Shape", x, start=3, end=1), g.op("Size", x), g.op("Size", b),
            g.op("Shape", b)]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


def fills():
    g = Graph("fills")
    s = _const(g, [2, 3, 4], np.int64)
    outs = [g.op("ConstantOfShape", s), g.op("ConstantOfShape", s, value=np.array([7], np.int64)),
            g.op("ConstantOfShape", s, value=np.array([True])),
            g.op("ConstantOfShape", s, value=np.array([-1.5], np.float32)),
            g.op("ConstantOfShape", _const(g, [5], np.int64), value=np.array([3], np.int32)),
            g.op("ConstantOfShape", _const(g, [], np.int64), value=np.array([2.5], np.float64)),
            g.op("ConstantOfShape", _const(g, [3, 0], np.int64))]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


def ranges():
    g = Graph("ranges")

    def rng(start, limit, delta, dtype, **attrs):
        return g.op("Range", *(_const(g, v, dtype) for v in (start, limit, delta)), **attrs)
    outs = [rng(0, 10, 1, np.int64), rng(10, -7, -3, np.int32), rng(1.5, 7.3, 0.7, np.float32),
            rng(5.0, -2.0, -0.25, np.float64), rng(3, 3, 1, np.int64), rng(-4, 40, 5, np.int16),
            rng(0.1, 30.0, 0.3, np.float16), rng(0.1, 30.0, 0.3, np.float16, stash_type=0),
            rng(0.0, 1.0, 0.1, np.float32)]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


def eyes():
    g = Graph("eyes")
    x = g.add_input("x", TensorType("f32", (4, 6)))
    i = g.add_input("i", TensorType("i32", (5, 3)))
    outs = [g.op("EyeLike", x), g.op("EyeLike", x, k=2), g.op("EyeLike", x, k=-1),
            g.op("EyeLike", i), g.op("EyeLike", i, dtype=9, k=1),
            g.op("EyeLike", x, dtype=7, k=-3), g.op("EyeLike", x, k=10),
            g.op("EyeLike", i, dtype=10)]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


@pytest.mark.parametrize("bounds_check", [True, False])
@pytest.mark.parametrize("build", [shapes, fills, ranges, eyes], ids=lambda f: f.__name__)
def test_ops_match_reference(build, bounds_check):
    g = build()
    lm = check_against_reference(g, bounds_check=bounds_check, rtol=0, atol=0)
    # the values are immediates: no kernel reads a graph input
    for f in lm.funcs:
        if f.name != "main":
            assert all(p.name.startswith("out_") for p in f.params), str(f)


def test_rules_accept_a_vector_last_index():
    cases = {}
    for build in (shapes, fills, ranges, eyes):
        g = build()
        for k, node in enumerate(g.nodes):
            shape = node.outputs[0].shape
            if not shape or 0 in shape or shape[-1] < 2:       # no vector to take
                continue
            one = Graph(f"{build.__name__}{k}")
            ins = [None if v is None else one.add_constant(v.data) if v.is_constant else
                   one.add_input(v.name, v.type) for v in node.inputs]
            one.set_outputs([one.op(node.op, *ins, **node.attrs)], ["y"])
            cases[one.name] = (one, random_feeds(one))
    got = run_vectorized(cases)
    for name, (g, feeds) in cases.items():
        want = run_graph(g, feeds)["y"]
        assert got[name].dtype == want.dtype, name
        np.testing.assert_array_equal(got[name], want, err_msg=name)
