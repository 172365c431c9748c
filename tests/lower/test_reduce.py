"""Reduction kernels (passes/lower/kernels/reduce.py): Reduce*, ArgMax/ArgMin and the global
pools, compiled and compared with the reference interpreter, with and without bounds checks,
for 8- and 16-lane vectors. Many ops share one graph so one compile covers them."""
import numpy as np
import pytest

from compiler.ir.graph import Graph
from compiler.ir.types import TensorType
from compiler.ops.layout import from_nchw

from .util import check_against_reference, random_feeds

REDUCE = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
          "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"]
FLOAT_ONLY = {"ReduceLogSum", "ReduceLogSumExp"}


def check(g, feeds=None, *, bits=256, threads=2, passes="", both_checks=True):
    """Compile g (after `passes`) with bounds checks (and without), compare with the reference
    on the original graph; returns the loop module."""
    half = any(v.dtype.name == "f16" for v in g.outputs)
    return check_against_reference(
        g, passes, feeds=feeds, bits=bits, threads=threads, opt_level=2,
        rtol=2e-3 if half else 1e-4, atol=2e-3 if half else 1e-5,
        bounds_check=(True, False) if both_checks else True)


def _reduce_graph(dtype, shape, axes_list, ops):
    g = Graph("reduce")
    x = g.add_input("x", TensorType(dtype, shape))
    outs, names = [], []
    for op in ops:
        for k, axes in enumerate(axes_list):
            ins = [x] if axes is None else [x, g.add_constant(np.array(axes, np.int64))]
            outs.append(g.op(op, *ins, keepdims=k % 2))
            names.append(f"{op}_{k}")
    g.set_outputs(outs, names)
    return g


# inner (last axis reduced, with a vector tail), outer (kept last axis), mixed, all, negative
AXES = [[2], [1], [0, 2], None, [-1, -2]]


def test_float_reductions_over_inner_outer_and_mixed_axes():
    rng = np.random.default_rng(1)
    feeds = {"x": rng.uniform(0.2, 2.0, (3, 5, 37)).astype(np.float32)}
    check(_reduce_graph("f32", (3, 5, 37), [[0, 2], [1]], REDUCE), feeds, bits=512,
          both_checks=False)
    check(_reduce_graph("f32", (3, 5, 37), AXES, ["ReduceSum", "ReduceMax"]), feeds, bits=256)


# per dtype: the ops whose semantics depend on it (wrapping, i64 / u64 sums, f32 statistics)
DTYPE_OPS = {"f16": REDUCE, "f64": ["ReduceSum", "ReduceMean", "ReduceL2", "ReduceLogSumExp"],
             "i32": [o for o in REDUCE if o not in FLOAT_ONLY],
             "u8": ["ReduceMean", "ReduceL2", "ReduceMax", "ReduceMin", "ReduceL1"],
             "i8": ["ReduceSum", "ReduceMean", "ReduceL1", "ReduceL2", "ReduceSumSquare"]}


@pytest.mark.parametrize("dtype", sorted(DTYPE_OPS))
def test_reductions_per_dtype(dtype):
    g = _reduce_graph(dtype, (4, 3, 21), [[0, 2]], DTYPE_OPS[dtype])
    feeds = random_feeds(g)
    if dtype.startswith("f"):
        feeds["x"] = np.abs(feeds["x"]) + np.asarray(0.5, feeds["x"].dtype)   # LogSum domain
    check(g, feeds, both_checks=False)


def test_bool_max_min_are_any_all():
    g = _reduce_graph("bool", (6, 40), [[1], [0]], ["ReduceMax", "ReduceMin"])
    x = np.random.default_rng(2).random((6, 40)) < 0.9
    x[1] = True
    x[2] = False
    check(g, {"x": x}, both_checks=False)


def test_empty_reductions_give_the_identity_and_noop_keeps_elements():
    g = Graph("empty")
    x = g.add_input("x", TensorType("f32", (3, 0, 4)))
    y = g.add_input("y", TensorType("f32", (2, 3, 5)))
    ax1 = g.add_constant(np.array([1], np.int64))
    none = g.add_constant(np.zeros((0,), np.int64))
    outs = [g.op(op, x, ax1, keepdims=1) for op in
            ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
             "ReduceLogSumExp")]
    outs += [g.op(op, y, none, keepdims=1, noop_with_empty_axes=1)
             for op in ("ReduceSum", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp")]
    outs.append(g.op("ReduceSum", y, none, keepdims=0))          # empty axes: every axis
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    feeds = random_feeds(g)
    check(g, feeds)


def test_log_sum_exp_of_infinite_and_nan_lines():
    g = _reduce_graph("f32", (4, 20), [[1], [0]], ["ReduceLogSumExp", "ReduceMax"])
    x = np.random.default_rng(3).standard_normal((4, 20)).astype(np.float32)
    x[0] = -np.inf
    x[1, 3] = np.inf
    x[2, 7] = np.nan
    check(g, {"x": x}, both_checks=False)


def _arg_graph(dtype, cases):
    """ArgMax and ArgMin (first / last index, keepdims alternating) of one input per case."""
    g = Graph("arg")
    outs = []
    for k, (shape, axis) in enumerate(cases):
        x = g.add_input(f"x{k}", TensorType(dtype, shape))
        outs += [g.op(op, x, axis=axis, keepdims=last, select_last_index=last)
                 for op in ("ArgMax", "ArgMin") for last in (0, 1)]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


ARG_CASES = [((3, 4, 37), 2), ((40, 3), 0), ((5, 7), -1), ((2, 64), 1)]


@pytest.mark.parametrize("bits", [256, 512])
def test_argmax_argmin_ties_first_or_last(bits):
    g = _arg_graph("f32", ARG_CASES)
    rng = np.random.default_rng(4)
    feeds = {f"x{k}": rng.integers(-3, 4, shape).astype(np.float32)      # many ties
             for k, (shape, _) in enumerate(ARG_CASES)}
    check(g, feeds, bits=bits, both_checks=bits == 512)


def test_argmax_argmin_dtypes():
    g = Graph("arg_dtypes")
    outs = []
    for k, (dtype, shape, axis) in enumerate([("i32", (3, 37), 1), ("u8", (21, 3), 0),
                                              ("f16", (3, 37), 1)]):
        x = g.add_input(f"x{k}", TensorType(dtype, shape))
        outs += [g.op(op, x, axis=axis, select_last_index=k % 2) for op in ("ArgMax", "ArgMin")]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    check(g, both_checks=False)


def test_argmax_argmin_nan_wins_and_infinities():
    x = np.array([[1, np.nan, 3, np.nan] * 10, [-np.inf] * 40, [np.inf, 1] * 20,
                  [2.0] * 39 + [np.nan]], np.float32)
    g = _arg_graph("f32", [(x.shape, 1), (x.T.shape, 0)])
    check(g, {"x0": x, "x1": np.ascontiguousarray(x.T)}, bits=512, both_checks=False)


def test_global_pools_in_every_layout():
    g = Graph("gpool")
    feeds, outs = {}, []
    x = np.random.default_rng(5).standard_normal((2, 24, 7, 5)).astype(np.float32)
    for layout in ("NCHW", "NCHW8c", "NCHW16c", "NCHW4c", "NHWC"):
        v = x if layout == "NCHW" else from_nchw(x, layout)
        suffix = {"NCHW": "", "NHWC": "NHWC"}.get(layout, "NCHWc")
        feeds[layout] = v
        xin = g.add_input(layout, TensorType("f32", v.shape))
        outs += [g.op("GlobalAveragePool" + suffix, xin), g.op("GlobalMaxPool" + suffix, xin),
                 g.op("GlobalLpPool" + suffix, xin, p=2)]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    check(g, feeds, bits=512, both_checks=False)


def test_global_pools_1d_and_3d_f16():
    g = Graph("gpool_nd")
    a = g.add_input("a", TensorType("f16", (2, 5, 33)))
    b = g.add_input("b", TensorType("f16", (1, 3, 4, 5, 6)))
    outs = [g.op(op, v) for v in (a, b) for op in ("GlobalAveragePool", "GlobalMaxPool")]
    outs += [g.op("GlobalLpPool", a, p=1), g.op("GlobalLpPool", b, p=3)]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    check(g, both_checks=False)


def test_reduction_with_fused_epilogue_and_injective_producer():
    g = Graph("fused")
    x = g.add_input("x", TensorType("f32", (4, 6, 35)))
    bias = g.add_constant(np.random.default_rng(6).standard_normal((4, 1, 6)).astype(np.float32))
    t = g.op("Transpose", x, perm=[0, 2, 1])
    s = g.op("ReduceSum", t, g.add_constant(np.array([1], np.int64)), keepdims=1)
    y1 = g.op("Relu", g.op("Add", s, bias))
    m = g.op("ReduceMean", x, g.add_constant(np.array([2], np.int64)), keepdims=0)
    y2 = g.op("Sigmoid", m)
    gp = g.op("Relu", g.op("GlobalAveragePool", g.op("Reshape", x, g.add_constant(
        np.array([4, 6, 5, 7], np.int64)))))
    g.set_outputs([y1, y2, gp], ["y1", "y2", "gp"])
    lm = check(g, passes="fuse,memory-plan")
    kernels = [f for f in lm.funcs if f.name != "main"]
    assert len(kernels) == 3 and all("_fused_" in f.name for f in kernels)
    text = str(kernels[1])
    assert "sigmoid(" in text and "reduce_add(" in text   # epilogue applied in the store


def test_big_reductions_run_parallel():
    g = _reduce_graph("f32", (96, 40, 33), [[2], [1]], ["ReduceSum", "ReduceMax"])
    lm = check(g, bits=512)
    assert " parallel" in str(lm)


def test_schedule_is_vectorised_along_or_across_lines():
    g = _reduce_graph("f32", (8, 64), [[1], [0]], ["ReduceSum"])
    lm = check(g, bits=512, both_checks=False)
    inner, outer = (str(f) for f in lm.funcs if f.name != "main")
    assert "ramp(" in inner and "reduce_add(" in inner            # along the line
    assert "reduce_add(" not in outer and "ramp(" in outer         # 16 columns per vector
