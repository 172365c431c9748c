"""Lowering of the scans (passes/lower/kernels/scan.py: CumSum, Compress, NonZero) and of TopK
(passes/lower/kernels/topk.py) against the reference interpreter."""
import numpy as np
import pytest

from compiler.ir.graph import Graph
from compiler.ir.types import TensorType
from passes.graph.fuse import _commit

from .util import check_against_reference, compile_graph, run_compiled

rng = np.random.default_rng(0)


def _const(g, v, dt=np.int64):
    return g.add_constant(np.array(v, dt))


# ---- CumSum ------------------------------------------------------------------------------------
@pytest.mark.parametrize("bounds_check", [True, False])
def test_cumsum_axes_exclusive_reverse(bounds_check):
    g = Graph("cumsum")
    x = g.add_input("x", TensorType("f32", (3, 4, 37)))
    xi = g.add_input("xi", TensorType("i32", (5, 6)))
    outs = []
    for k, axis in enumerate((0, 1, -1)):
        for ex in (0, 1):
            outs.append(g.op("CumSum", x, _const(g, axis), exclusive=ex, reverse=(k + ex) % 2))
    outs.append(g.op("CumSum", xi, _const(g, [1], np.int32), exclusive=1, reverse=1))
    g.set_outputs(outs, [f"y{k}" for k in range(len(outs))])
    check_against_reference(g, bounds_check=bounds_check)


def test_cumsum_long_inner_rows_are_chunked_and_parallel():
    g = Graph("cumsum_big")
    x = g.add_input("x", TensorType("f32", (2, 6, 5000)))
    g.set_outputs([g.op("CumSum", x, _const(g, 1), reverse=1)], ["y"])
    lm = check_against_reference(g)
    assert "parallel" in str(lm)


def test_cumsum_runtime_axis_dispatches():
    g = Graph("cumsum_axis")
    x = g.add_input("x", TensorType("f32", (3, 4, 5)))
    a = g.add_input("a", TensorType("i32", ()))
    g.set_outputs([g.op("CumSum", x, a, exclusive=1)], ["y"])
    _, cm = compile_graph(g)
    xv = rng.standard_normal((3, 4, 5)).astype(np.float32)
    for axis in (0, 1, 2, -1):
        got = run_compiled(cm, g, {"x": xv, "a": np.array(axis, np.int32)})["y"]
        want = np.cumsum(xv, axis=axis) - xv
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    got = run_compiled(cm, g, {"x": xv, "a": np.array(3, np.int32)})["y"]
    assert not got.any()                    # an axis out of range gives zeros


def test_cumsum_fused_epilogue():
    g = Graph("cumsum_relu")
    x = g.add_input("x", TensorType("f32", (4, 19)))
    c = g.op("CumSum", x, _const(g, 0))
    r = g.op("Relu", c)
    g.set_outputs([r], ["r"])
    _commit(g, [c.producer, r.producer], 0)
    assert [n.op for n in g.nodes] == ["FusedGroup"]
    check_against_reference(g)


# ---- TopK --------------------------------------------------------------------------------------
def _topk_graph(dtype, shape, specs):
    g = Graph("topk")
    x = g.add_input("x", TensorType(dtype, shape))
    outs = []
    for axis, k, largest in specs:
        outs += list(g.op("TopK", x, _const(g, [k]), axis=axis, largest=largest, n_outputs=2))
    g.set_outputs(outs, [f"y{k}" for k in range(len(outs))])
    return g


@pytest.mark.parametrize("bounds_check", [True, False])
def test_topk_ties_and_nans_follow_the_reference(bounds_check):
    """Few distinct values (many ties) and NaNs; k small (insertion) and large (merge sort)."""
    specs = [(1, 1, 1), (1, 5, 0), (1, 40, 1), (1, 90, 0), (0, 3, 1), (-1, 6, 0)]
    g = _topk_graph("f32", (3, 90, 7), specs)
    xv = rng.integers(-3, 4, (3, 90, 7)).astype(np.float32)
    xv[0, 5, :] = np.nan
    xv[1, ::7, 2] = np.nan
    xv[2, 3, 3] = -0.0
    check_against_reference(g, feeds={"x": xv}, bounds_check=bounds_check)


def test_topk_integers_and_long_rows_in_scratch():
    g = _topk_graph("i64", (2, 5000), [(1, 100, 1), (1, 5000, 0), (0, 2, 0)])
    xv = rng.integers(-50, 50, (2, 5000))
    check_against_reference(g, feeds={"x": xv})


def test_topk_runtime_k_uses_the_declared_length():
    g = Graph("topk_rt")
    x = g.add_input("x", TensorType("f32", (4, 9)))
    k = g.add_input("k", TensorType("i64", (1,)))
    node = g.create_node("TopK", [x, k], {"axis": 1, "largest": 0},
                         [TensorType("f32", (4, 3)), TensorType("i64", (4, 3))], num_outputs=2)
    g.set_outputs(node.outputs, ["v", "i"])
    _, cm = compile_graph(g)
    xv = rng.standard_normal((4, 9)).astype(np.float32)
    got = run_compiled(cm, g, {"x": xv, "k": np.array([3])})
    order = np.argsort(xv, axis=1, kind="stable")[:, :3]
    np.testing.assert_array_equal(got["i"], order)
    np.testing.assert_array_equal(got["v"], np.take_along_axis(xv, order, 1))


# ---- Compress / NonZero ------------------------------------------------------------------------
@pytest.mark.parametrize("bounds_check", [True, False])
def test_compress_constant_conditions(bounds_check):
    g = Graph("compress")
    x = g.add_input("x", TensorType("f32", (3, 4, 37)))
    cases = [({"axis": 2}, [1, 0, 1] * 12), ({"axis": 0}, [0, 1]), ({"axis": -2}, [1, 0, 0, 1]),
             ({}, [1, 0, 0, 1, 1] * 20)]
    outs = [g.op("Compress", x, _const(g, c, bool), **a) for a, c in cases]
    g.set_outputs(outs, [f"y{k}" for k in range(len(outs))])
    check_against_reference(g, bounds_check=bounds_check)


def test_compress_and_nonzero_with_runtime_inputs_and_declared_shapes():
    """A runtime condition / input with a declared result size: entries past it are dropped,
    missing ones are zero, nothing is written out of bounds."""
    g = Graph("compress_rt")
    x = g.add_input("x", TensorType("f32", (4, 6)))
    cond = g.add_input("cond", TensorType("bool", (6,)))
    y = g.create_node("Compress", [x, cond], {"axis": 1},
                      [TensorType("f32", (4, 3))]).outputs[0]
    z = g.create_node("NonZero", [x], {}, [TensorType("i64", (2, 5))]).outputs[0]
    g.set_outputs([y, z], ["y", "z"])
    _, cm = compile_graph(g, bounds_check=True)
    xv = rng.standard_normal((4, 6)).astype(np.float32)
    for picks in ([1, 3, 4], [0, 1, 2, 3, 5], [2]):
        cv = np.isin(np.arange(6), picks)
        mask = np.zeros((4, 6), bool)
        mask.reshape(-1)[picks] = True
        got = run_compiled(cm, g, {"x": np.where(mask, xv, 0), "cond": cv})
        want_y = np.zeros((4, 3), np.float32)
        sel = np.compress(cv, np.where(mask, xv, 0), axis=1)[:, :3]
        want_y[:, :sel.shape[1]] = sel
        np.testing.assert_array_equal(got["y"], want_y)
        nz = np.stack(np.nonzero(mask))[:, :5]
        want_z = np.zeros((2, 5), np.int64)
        want_z[:, :nz.shape[1]] = nz
        np.testing.assert_array_equal(got["z"], want_z)


def test_nonzero_of_a_constant():
    g = Graph("nonzero")
    v = (rng.random((3, 4, 5)) < 0.3).astype(np.float32)
    g.set_outputs([g.op("NonZero", g.add_constant(v)),
                   g.op("NonZero", g.add_constant(v > 0))], ["a", "b"])
    check_against_reference(g, feeds={})


def test_compress_fused_epilogue():
    g = Graph("compress_relu")
    x = g.add_input("x", TensorType("f32", (5, 9)))
    c = g.op("Compress", x, _const(g, [1, 0, 1, 1, 0, 1, 1, 1, 0], bool), axis=1)
    r = g.op("Relu", c)
    g.set_outputs([r], ["r"])
    _commit(g, [c.producer, r.producer], 0)
    check_against_reference(g)
