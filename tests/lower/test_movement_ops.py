"""Lowering of the data-movement ops (computes/movement.py, computes/slicing.py,
kernels/concat.py): compiled results equal the reference interpreter exactly, with and without
bounds checks, alone, fused with elementwise neighbours, and with vector (Ramp) indices."""
import re

import numpy as np
import pytest

from compiler.ir.graph import Graph
from compiler.ir.types import TensorType
from compiler.loop import Buffer
from passes.lower import LowerTarget, LoweringError, lower_graph
from passes.lower.context import ComputeCtx
from passes.lower.registry import COMPUTE_RULES
from passes.lower.tensor import BufferRef

from .util import check_against_reference, compile_graph, random_feeds, run_compiled
from .vector_probe import run_vectorized

I64 = np.int64
BOTH = pytest.mark.parametrize("bounds_check", [True, False])


def _graph(name, inputs):
    g = Graph(name)
    return g, [g.add_input(n, TensorType(dt, shape)) for n, dt, shape in inputs]


def _c(g, values, dtype=I64):
    return g.add_constant(np.array(values, dtype))


def _check(build, passes="", feeds=None, bounds_check=True):
    g = build()
    return check_against_reference(g, passes, feeds=feeds or random_feeds(g),
                                   bounds_check=bounds_check)


# ---- graphs -------------------------------------------------------------------------------------
def reshapes():
    g, (x, s) = _graph("reshapes", [("x", "f32", (2, 3, 4, 5)), ("s", "i32", (2, 1, 3))])
    outs = [g.op("Reshape", x, _c(g, v)) for v in
            ([6, 20], [5, 4, 3, 2], [2, 1, 60, 1], [-1], [0, 0, 20], [3, 8, 5])]
    outs += [g.op("Flatten", x, axis=a) for a in (0, 2, -1)]
    outs += [g.op("Squeeze", s, _c(g, [1])), g.op("Squeeze", s),
             g.op("Unsqueeze", s, _c(g, [0, -1])), g.op("Unsqueeze", x, _c(g, [2]))]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


def permutes():
    g, (x, y, z) = _graph("permutes", [("x", "f32", (2, 3, 4, 5)), ("y", "i64", (3, 1)),
                                       ("z", "u8", (1, 2, 3))])
    outs = [g.op("Transpose", x, perm=[0, 2, 3, 1]), g.op("Transpose", x),
            g.op("Transpose", x, perm=[3, 1, 0, 2]), g.op("Expand", y, _c(g, [2, 3, 4])),
            g.op("Expand", y, _c(g, [1, 1])), g.op("Tile", z, _c(g, [2, 1, 3])),
            g.op("Tile", y, _c(g, [1, 1]))]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


def splits():
    g, (x,) = _graph("splits", [("x", "f32", (4, 7, 6))])
    outs = list(g.op("Split", x, axis=1, n_outputs=3))
    outs += list(g.op("Split", x, _c(g, [1, 0, 5]), axis=-1, n_outputs=3))
    outs += list(g.op("Split", x, n_outputs=2))
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


def blocks():
    g, (x, y) = _graph("blocks", [("x", "f32", (2, 8, 3, 5)), ("y", "i32", (1, 3, 4, 6))])
    outs = [g.op("DepthToSpace", x, blocksize=2), g.op("DepthToSpace", x, blocksize=2,
                                                        mode="CRD"),
            g.op("SpaceToDepth", y, blocksize=2), g.op("DepthToSpace", x, blocksize=1)]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


def layouts():
    g, (x, b) = _graph("layouts", [("x", "f32", (2, 5, 3, 4)), ("b", "f32", (1, 2, 3, 2, 8))])
    lt = lambda v, s, d, **kw: g.op("LayoutTransform", v, src_layout=s, dst_layout=d, **kw)
    x8 = lt(x, "NCHW", "NCHW8c")
    outs = [x8, lt(x8, "NCHW8c", "NCHW", channels=5), lt(x, "NCHW", "NHWC"),
            lt(lt(x, "NCHW", "NHWC"), "NHWC", "NCHW4c"), lt(b, "NCHW8c", "NCHW4c"),
            lt(b, "NCHW8c", "NCHW4c", channels=13), lt(b, "NCHW8c", "NHWC", channels=9),
            lt(x8, "NCHW8c", "NCHW8c")]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


def slices():
    g, (x,) = _graph("slices", [("x", "f32", (5, 6, 7))])
    specs = [([1], [4], None, None), ([0, -1], [100, -100], [2, 1], [2, -2]),
             ([-100, 6], [100, 0], [0, 2], [3, -1]), ([2], [2], [1], [1]),
             ([4, 10], [-10, -100], [-3, -2], [-1, -3]), ([1, 1, 1], [-1, -1, -1], None, None)]
    outs = []
    for st, en, ax, sp in specs:
        extra = [_c(g, ax)] + ([_c(g, sp)] if sp else []) if ax else []
        outs.append(g.op("Slice", x, _c(g, st), _c(g, en), *extra))
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


def gathers():
    g, (x, i) = _graph("gathers", [("x", "f32", (4, 5, 6)), ("i", "i64", (2, 3))])
    outs = [g.op("Gather", x, _c(g, v), axis=a) for v, a in
            (([1, 2, 3], 1), ([[0, -1], [3, 1]], 0), (2, -1), ([-1, -3, -5], 2),
             ([4, 4], 1), ([[2, 0, 1]], 2))]
    outs += [g.op("Gather", x, i, axis=0), g.op("Gather", x, i, axis=2),
             g.op("Gather", x, _c(g, [1, 0, 1], np.int32), axis=1)]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


def pads():
    g, (x, v, n) = _graph("pads", [("x", "f32", (3, 4, 5)), ("v", "f32", ()),
                                   ("n", "i32", (2, 3))])
    p = lambda mode, pads, *more, src=x: g.op("Pad", src, _c(g, pads), *more, mode=mode)
    outs = [p("constant", [0, 1, 2, 1, 0, 3]), p("constant", [1, 0, 0, 0, 2, 1], _c(g, 2.5,
                                                                                      np.float32)),
            p("constant", [1, 1, 1, 1, 1, 1], v), p("reflect", [2, 3, 1, 2, 0, 4]),
            p("edge", [2, 0, 3, 1, 4, 0]), p("wrap", [1, 2, 3, 3, 2, 1]),
            p("constant", [-1, 2, 1, -2, 1, -1]), p("reflect", [-1, 1, 2, 1, -2, 1]),
            p("edge", [1, -1, 0, -1, 1, 2]), p("wrap", [-1, 2, 0, 1, 3, -1]),
            p("reflect", [0, 9, 11, 0, 0, 0]), p("wrap", [0, 9, 11, 0, 0, 0]),
            p("constant", [1, 2], None, _c(g, [-2])), p("edge", [1, 2, 3, 4], None,
                                                         _c(g, [0, 2])),
            p("constant", [1, 1, 2, 2], _c(g, 7, np.int32), src=n), p("reflect", [1, 2, 1, 2],
                                                                       src=n)]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


def trilus():
    g, (x, k, b) = _graph("trilus", [("x", "f32", (2, 4, 6)), ("k", "i64", ()),
                                     ("b", "bool", (5, 3))])
    outs = [g.op("Trilu", x), g.op("Trilu", x, upper=0), g.op("Trilu", x, _c(g, 2)),
            g.op("Trilu", x, _c(g, -1), upper=0), g.op("Trilu", x, k), g.op("Trilu", x, k,
                                                                           upper=0),
            g.op("Trilu", b, _c(g, [1])), g.op("Trilu", x, _c(g, 9))]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


def concats():
    g, (a, b, c, e, m) = _graph("concats", [("a", "f32", (2, 3, 4)), ("b", "f32", (2, 1, 4)),
                                            ("c", "f32", (2, 5, 4)), ("e", "f32", (2, 0, 4)),
                                            ("m", "bool", (3,))])
    outs = [g.op("Concat", a, b, c, e, axis=1), g.op("Concat", a, a, axis=0),
            g.op("Concat", a, a, a, axis=-1), g.op("Concat", m, m, axis=0),
            g.op("Concat", e, e, axis=1), g.op("Concat", a, axis=2)]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


GRAPHS = [reshapes, permutes, splits, blocks, layouts, slices, gathers, pads, trilus, concats]


@BOTH
@pytest.mark.parametrize("build", GRAPHS, ids=lambda f: f.__name__)
def test_ops_match_reference(build, bounds_check):
    g = build()
    feeds = random_feeds(g)
    if "k" in feeds:
        feeds["k"] = np.array(1, I64)
    if build is gathers:
        feeds["i"] = np.array([[0, -1, 3], [-4, 2, 1]], I64)
    check_against_reference(g, feeds=feeds, bounds_check=bounds_check)


def test_reshape_index_maps_stay_affine():
    # only the (6, 20) <- (2, 3, 4, 5) groups that merge dims divide; pure unsqueezes and
    # squeezes keep the output's own index variables
    g, (x,) = _graph("affine", [("x", "f32", (3, 1, 4))])
    g.set_outputs([g.op("Unsqueeze", g.op("Squeeze", x, _c(g, [1])), _c(g, [0, 3]))], ["y"])
    text = str(check_against_reference(g))
    assert " / " not in text and " % " not in text, text


# ---- runtime Gather indices: wrap negatives, clamp the rest -------------------------------------
@BOTH
def test_gather_runtime_indices_are_clamped(bounds_check):
    g, (x, i) = _graph("gclamp", [("x", "f32", (3, 4)), ("i", "i32", (6,))])
    g.set_outputs([g.op("Gather", x, i, axis=1)], ["y"])
    xv = np.arange(12, dtype=np.float32).reshape(3, 4)
    iv = np.array([0, -1, -4, 3, 100, -100], np.int32)
    _, cm = compile_graph(g, bounds_check=bounds_check)
    got = run_compiled(cm, g, {"x": xv, "i": iv})["y"]
    np.testing.assert_array_equal(got, xv[:, [0, 3, 0, 3, 3, 0]])


def test_gather_constant_out_of_range_index_is_a_lowering_error():
    g, (x,) = _graph("gbad", [("x", "f32", (3, 4))])
    g.set_outputs([g.op("Gather", x, _c(g, [0, 4]), axis=1)], ["y"])
    with pytest.raises(LoweringError, match=r"Gather.*index 4 is out of bounds for axis 1"):
        lower_graph(g, LowerTarget())


@pytest.mark.parametrize("op,inputs", [("Pad", ["pads"]), ("Slice", ["starts", "ends"])])
def test_runtime_bounds_are_a_clear_error(op, inputs):
    g, (x, *rest) = _graph("rt", [("x", "f32", (3, 4))] +
                           [(n, "i64", (2,)) for n in inputs])
    node = g.create_node(op, [x] + rest, output_types=[TensorType("f32", (3, 4))])
    refs = [BufferRef(Buffer(v.name, v.dtype, v.shape)) for v in node.inputs]
    cc = ComputeCtx(node, refs, LowerTarget(), node.outputs[0].type)
    with pytest.raises(LoweringError, match=rf"input 1 \({inputs[0]}\) must be a constant"):
        COMPUTE_RULES[op](cc, (0, 0))


# ---- vector (Ramp) indices, as kernels that load vectors from an inlined producer use -----------
def _single(op, x_shape, *consts, x_dtype="f32", **attrs):
    def build():
        g, (x,) = _graph(op.lower(), [("x", x_dtype, x_shape)])
        g.set_outputs([g.op(op, x, *[_c(g, c) for c in consts],
                            **attrs)], ["y"])
        return g
    return build


VECTOR_CASES = [
    _single("Reshape", (2, 3, 4, 5), [6, 20]), _single("Reshape", (6, 20), [2, 3, 4, 5]),
    _single("Transpose", (2, 3, 8), perm=[2, 0, 1]), _single("Expand", (3, 1), [2, 3, 8]),
    _single("Tile", (2, 3), [2, 3]), _single("Tile", (2, 1), [1, 8]),
    _single("Slice", (4, 9), [1, 8], [4, -100], [0, 1], [1, -2]),
    _single("Gather", (4, 9), [3, 0, 2, 2, 1], axis=0),
    _single("Gather", (4, 9), [3, -1, 2, 7, 1], axis=1),
    _single("Gather", (4, 9), [2, 2, 2], axis=1), _single("Gather", (4, 9), [1, 2, 3], axis=1),
    _single("Pad", (3, 5), [1, 2, 0, 3], mode="constant"),
    _single("Pad", (3, 5), [1, 2, 0, 3], mode="reflect"),
    _single("Pad", (3, 1), [1, 2, 0, 3], mode="reflect"),
    _single("Pad", (3, 5), [1, 2, 6, 7], mode="wrap"),
    _single("Pad", (3, 5), [1, 2, 0, 3], mode="edge"),
    _single("Trilu", (5, 7), [1], upper=0), _single("DepthToSpace", (1, 8, 2, 3), blocksize=2),
    _single("SpaceToDepth", (1, 2, 4, 6), blocksize=2),
    _single("LayoutTransform", (1, 5, 2, 3), src_layout="NCHW", dst_layout="NCHW8c"),
    _single("Split", (4, 8), axis=0, num_outputs=1), _single("Squeeze", (3, 1, 8)),
]


def test_rules_accept_a_vector_last_index():
    from backends.reference import run_graph
    cases = {}
    for k, build in enumerate(VECTOR_CASES):
        g = build()
        cases[f"{g.nodes[0].op.lower()}{k}"] = (g, random_feeds(g))
    got = run_vectorized(cases)
    for name, (g, feeds) in cases.items():
        np.testing.assert_array_equal(got[name], run_graph(g, feeds)["y"], err_msg=name)


# ---- fused with elementwise neighbours ----------------------------------------------------------
def fused_chain():
    g, (x, b) = _graph("chain", [("x", "f32", (2, 3, 4, 5)), ("b", "f32", (5,))])
    t = g.op("Transpose", g.op("Relu", x), perm=[0, 2, 1, 3])
    y = g.op("Add", g.op("Reshape", t, _c(g, [8, 3, 5])), b)
    z = g.op("Pad", g.op("Slice", g.op("Sigmoid", y), _c(g, [1]), _c(g, [-1]), _c(g, [1])),
             _c(g, [0, 1, 1, 0, 0, 1]), mode="reflect")
    g.set_outputs([g.op("Neg", z)], ["y"])
    return g


def concat_epilogue():
    g, (x, y, s) = _graph("cat_relu", [("x", "f32", (4, 3, 16)), ("y", "f32", (4, 5, 16)),
                                       ("s", "f32", (4, 8, 16))])
    g.set_outputs([g.op("Mul", g.op("Relu", g.op("Concat", g.op("Neg", x), y, axis=1)), s)],
                  ["y"])
    return g


def concat_mid_group():
    g, (x, y) = _graph("cat_mid", [("x", "f32", (4, 3, 6)), ("y", "f32", (4, 3, 6))])
    c = g.op("Concat", g.op("Add", x, y), g.op("Sub", x, y), axis=2)
    g.set_outputs([g.op("Exp", g.op("Transpose", g.op("Relu", c), perm=[2, 0, 1]))], ["y"])
    return g


def gather_split_fused():
    g, (x, i) = _graph("gsplit", [("x", "f32", (6, 10)), ("i", "i64", (3,))])
    a, b = g.op("Split", g.op("Gather", g.op("Tanh", x), i, axis=1), axis=0, n_outputs=2)
    g.set_outputs([g.op("Abs", a), g.op("Trilu", b)], ["a", "b"])
    return g


@BOTH
@pytest.mark.parametrize("build", [fused_chain, concat_epilogue, concat_mid_group,
                                   gather_split_fused], ids=lambda f: f.__name__)
def test_fused_groups_match_reference(build, bounds_check):
    g = build()
    feeds = random_feeds(g)
    if "i" in feeds:
        feeds["i"] = np.array([9, -2, 0], I64)
    lm = check_against_reference(g, "fuse,memory-plan", feeds=feeds, bounds_check=bounds_check)
    assert len([f for f in lm.funcs if f.name != "main"]) == 1, str(lm)


def test_concat_applies_the_fused_epilogue_in_its_own_stores():
    text = str(_check(concat_epilogue, "fuse,memory-plan"))
    stores = [ln.strip() for ln in text.splitlines() if re.match(r"\s*%\w+\[.*\] = ", ln)]
    # one store per input nest, straight into the result, with Relu and Mul applied
    assert len(stores) == 2, text
    assert all(st.startswith("%out_y[") and "max(" in st and "* %s[" in st for st in stores)


def test_transpose_into_a_reduction():
    # the reduction kernel loads vectors through the inlined Transpose (a Ramp lands mid-index)
    def build():
        g, (x,) = _graph("tr_reduce", [("x", "f32", (3, 4, 33))])
        t = g.op("Transpose", g.op("Relu", x), perm=[0, 2, 1])
        g.set_outputs([g.op("ReduceSum", t, _c(g, [2]), keepdims=0)], ["y"])
        return g
    _check(build, "fuse,memory-plan")


@BOTH
def test_big_tensors_take_the_parallel_path(bounds_check):
    def build():
        g, (x, y) = _graph("big", [("x", "f32", (64, 32, 33)), ("y", "f32", (64, 32, 33))])
        g.set_outputs([g.op("Transpose", x, perm=[2, 0, 1]), g.op("Concat", x, y, axis=1),
                       g.op("Pad", x, _c(g, [0, 1, 1, 0, 1, 1]), mode="edge")],
                      ["t", "c", "p"])
        return g
    lm = _check(build, bounds_check=bounds_check)
    assert str(lm).count("parallel") >= 4
