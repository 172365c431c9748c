"""Lowering of the indexed gathers (compute rules in passes/lower/computes/indexing.py:
GatherElements, GatherND, ReverseSequence, OneHot) and scatters (kernel rules in
passes/lower/kernels/gather_scatter.py: ScatterElements, ScatterND with every reduction)."""
import numpy as np
import pytest

from compiler.ir.graph import Graph
from compiler.ir.types import TensorType
from passes.graph.fuse import _commit
from passes.lower import LoweringError, LowerTarget, lower_graph

from .util import check_against_reference, compile_graph, run_compiled

REDUCTIONS = ["none", "add", "mul", "max", "min"]
rng = np.random.default_rng(0)


def _f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("bounds_check", [True, False])
def test_gathers(bounds_check):
    g = Graph("gathers")
    x = g.add_input("x", TensorType("f32", (4, 5, 6)))
    ie = g.add_input("ie", TensorType("i32", (4, 3, 6)))      # GatherElements, axis 1
    ind = g.add_input("ind", TensorType("i64", (4, 3, 2)))    # GatherND, batch_dims 1
    i2 = g.add_input("i2", TensorType("i64", (2, 3, 3)))      # GatherND, full-depth index
    lens = g.add_input("lens", TensorType("i64", (5,)))
    hot = g.add_input("hot", TensorType("f32", (3, 4)))
    onoff = g.add_constant(np.array([2, 7], np.int32))
    outs = [
        g.op("GatherElements", x, ie, axis=1),
        g.op("GatherElements", x, g.add_constant(np.array([[[-1, 0, 3]]], np.int64)), axis=-1),
        g.op("GatherND", x, ind, batch_dims=1),
        g.op("GatherND", x, i2),
        g.op("GatherND", x, g.add_constant(np.array([[3, 4], [-1, -5]], np.int64))),
        g.op("ReverseSequence", x, lens, batch_axis=1, time_axis=0),
        g.op("ReverseSequence", g.op("Transpose", x, perm=[1, 0, 2]), lens,
             batch_axis=0, time_axis=1),
        g.op("OneHot", hot, g.add_constant(np.array(5, np.int64)), onoff, axis=1),
        g.op("OneHot", ie, g.add_constant(np.array([4], np.int32)), onoff),
    ]
    g.set_outputs(outs, [f"y{k}" for k in range(len(outs))])
    feeds = {
        "x": _f32(4, 5, 6), "ie": rng.integers(-5, 5, (4, 3, 6)).astype(np.int32),
        "ind": np.stack([rng.integers(-5, 5, (4, 3)), rng.integers(-6, 6, (4, 3))], -1),
        "i2": np.stack([rng.integers(-4, 4, (2, 3)), rng.integers(0, 5, (2, 3)),
                        rng.integers(-6, 6, (2, 3))], -1),
        "lens": np.array([0, 4, 3, 1, 2]),
        "hot": rng.integers(-7, 7, (3, 4)).astype(np.float32),   # some outside [-5, 5): all off
    }
    check_against_reference(g, feeds=feeds, bounds_check=bounds_check)


def test_out_of_range_runtime_gather_indices_are_clamped():
    """The reference raises; compiled code clamps (wrapped) indices and sequence lengths into
    range and never reads out of bounds."""
    g = Graph("gather_oob")
    x = g.add_input("x", TensorType("f32", (4, 3)))
    ie = g.add_input("ie", TensorType("i64", (2, 3)))
    ind = g.add_input("ind", TensorType("i64", (2, 1)))
    lens = g.add_input("lens", TensorType("i64", (3,)))
    g.set_outputs([g.op("GatherElements", x, ie), g.op("GatherND", x, ind),
                   g.op("ReverseSequence", x, lens, batch_axis=1, time_axis=0)],
                  ["el", "nd", "rs"])
    _, cm = compile_graph(g, bounds_check=True)
    xv = _f32(4, 3)
    got = run_compiled(cm, g, {"x": xv, "ie": np.array([[9, -1, -7], [2, 4, 0]]),
                               "ind": np.array([[-9], [4]]), "lens": np.array([9, -2, 2])})
    cols = np.arange(3)
    np.testing.assert_array_equal(got["el"], xv[[[3, 3, 0], [2, 3, 0]], cols])
    np.testing.assert_array_equal(got["nd"], xv[[0, 3]])
    want = xv.copy()
    want[:, 0] = xv[::-1, 0]
    want[:2, 2] = xv[1::-1, 2]
    np.testing.assert_array_equal(got["rs"], want)


def _scatter_graph(reductions):
    g = Graph("scatters")
    x = g.add_input("x", TensorType("f32", (4, 5, 6)))
    ie = g.add_input("ie", TensorType("i32", (4, 3, 6)))
    ue = g.add_input("ue", TensorType("f32", (4, 3, 6)))
    ind = g.add_input("ind", TensorType("i64", (7, 2)))       # repeated rows: combined in order
    un = g.add_input("un", TensorType("f32", (7, 6)))
    outs = []
    for r in reductions:
        outs.append(g.op("ScatterElements", x, ie, ue, axis=1, reduction=r))
        outs.append(g.op("ScatterND", x, ind, un, reduction=r))
    g.set_outputs(outs, [f"y{k}" for k in range(len(outs))])
    return g


def _scatter_feeds():
    ind = np.stack([rng.integers(-4, 4, 7), rng.integers(-5, 5, 7)], -1)
    ind[3] = ind[0]
    return {"x": _f32(4, 5, 6), "ie": rng.integers(-5, 5, (4, 3, 6)).astype(np.int32),
            "ue": _f32(4, 3, 6), "ind": ind, "un": _f32(7, 6)}


@pytest.mark.parametrize("bounds_check", [True, False])
def test_scatter_reductions(bounds_check):
    check_against_reference(_scatter_graph(REDUCTIONS), feeds=_scatter_feeds(),
                            bounds_check=bounds_check)


def test_scatter_integer_and_bool_data():
    g = Graph("scatter_types")
    xi = g.add_input("xi", TensorType("i32", (6,)))
    xb = g.add_input("xb", TensorType("bool", (6,)))
    idx = g.add_constant(np.array([[1], [-1], [1]], np.int64))
    ui = g.add_input("ui", TensorType("i32", (3,)))
    ub = g.add_input("ub", TensorType("bool", (3,)))
    outs = [g.op("ScatterND", xi, idx, ui, reduction=r) for r in REDUCTIONS]
    outs += [g.op("ScatterND", xb, idx, ub, reduction=r) for r in REDUCTIONS]
    g.set_outputs(outs, [f"y{k}" for k in range(len(outs))])
    feeds = {"xi": np.arange(6, dtype=np.int32) - 2, "xb": np.array([1, 0, 1, 0, 1, 0], bool),
             "ui": np.array([3, -4, 5], np.int32), "ub": np.array([0, 1, 1], bool)}
    check_against_reference(g, feeds=feeds)


def test_out_of_range_runtime_index_is_skipped():
    """The reference raises; compiled code drops that update (never writes out of bounds)."""
    g = Graph("scatter_oob")
    x = g.add_input("x", TensorType("f32", (5, 3)))
    ind = g.add_input("ind", TensorType("i64", (3, 1)))
    u = g.add_input("u", TensorType("f32", (3, 3)))
    ie = g.add_input("ie", TensorType("i64", (2, 3)))
    ue = g.add_input("ue", TensorType("f32", (2, 3)))
    g.set_outputs([g.op("ScatterND", x, ind, u, reduction="add"),
                   g.op("ScatterElements", x, ie, ue)], ["nd", "el"])
    _, cm = compile_graph(g, bounds_check=True)
    feeds = {"x": _f32(5, 3), "ind": np.array([[1], [7], [-6]]), "u": _f32(3, 3),
             "ie": np.array([[0, 9, 4], [-1, 2, -8]]), "ue": _f32(2, 3)}
    got = run_compiled(cm, g, feeds)
    nd = feeds["x"].copy()
    nd[1] += feeds["u"][0]
    el = feeds["x"].copy()
    for (r, c), v in np.ndenumerate(feeds["ue"]):
        j = feeds["ie"][r, c]
        if -5 <= j < 5:
            el[j, c] = v
    np.testing.assert_array_equal(got["nd"], nd)
    np.testing.assert_array_equal(got["el"], el)


def test_constant_out_of_range_index_is_a_compile_error():
    g = Graph("scatter_const_oob")
    x = g.add_input("x", TensorType("f32", (5, 3)))
    idx = g.add_constant(np.array([[1], [5]], np.int64))
    u = g.add_input("u", TensorType("f32", (2, 3)))
    y = g.create_node("ScatterND", [x, idx, u], {}, [TensorType("f32", (5, 3))],
                      name="sc").outputs[0]
    g.set_outputs([y], ["y"])
    with pytest.raises(LoweringError, match="'sc'.*index 5 is out of bounds"):
        lower_graph(g, LowerTarget())


def test_big_scatters_run_their_parallel_loops():
    g = Graph("scatter_big")
    x = g.add_input("x", TensorType("f32", (8, 64, 128)))
    ie = g.add_input("ie", TensorType("i64", (8, 32, 128)))
    ue = g.add_input("ue", TensorType("f32", (8, 32, 128)))
    ind = g.add_input("ind", TensorType("i64", (16, 1)))
    un = g.add_input("un", TensorType("f32", (16, 64, 128)))
    g.set_outputs([g.op("ScatterElements", x, ie, ue, axis=1, reduction="add"),
                   g.op("ScatterND", x, ind, un, reduction="max")], ["el", "nd"])
    feeds = {"x": _f32(8, 64, 128), "ie": rng.integers(-64, 64, (8, 32, 128)),
             "ue": _f32(8, 32, 128), "ind": rng.integers(-8, 8, (16, 1)),
             "un": _f32(16, 64, 128)}
    lm = check_against_reference(g, feeds=feeds, rtol=1e-5)
    assert str(lm).count("parallel") >= 2


def test_scatter_with_fused_producer_and_epilogue():
    """data comes from an inlined Add; the result goes through Relu in the scatter's own store
    (the scatter is assembled in scratch, never in the output buffer)."""
    g = Graph("scatter_fused")
    x = g.add_input("x", TensorType("f32", (4, 6)))
    ind = g.add_input("ind", TensorType("i64", (3, 1)))
    u = g.add_input("u", TensorType("f32", (3, 6)))
    a = g.op("Add", x, x)
    s = g.op("ScatterND", a, ind, u, reduction="add")
    r = g.op("Relu", s)
    g.set_outputs([r], ["r"])
    _commit(g, [a.producer, s.producer, r.producer], 0)
    assert [n.op for n in g.nodes] == ["FusedGroup"]
    feeds = {"x": _f32(4, 6), "ind": np.array([[2], [-1], [2]]), "u": _f32(3, 6)}
    lm = check_against_reference(g, feeds=feeds)
    kernel = next(f for f in lm.funcs if f.name != "main")
    stores = [ln for ln in str(kernel).splitlines() if ln.strip().startswith("%out_r[")]
    assert len(stores) == 1 and "max(" in stores[0]          # one store, through the Relu
