"""Reduce* (axes input, keepdims, noop_with_empty_axes, empty sets) and ArgMax/ArgMin."""
import numpy as np
import pytest
from onnx import helper
from onnx.reference import ReferenceEvaluator

from backends.reference import run_graph
from compiler.errors import ShapeInferenceError
from compiler.ir.dtypes import from_numpy
from compiler.ir.graph import Graph
from compiler.ir.types import TensorType as T
from compiler.ops import OPS, OpKind

RNG = np.random.default_rng(2)
F = np.float32


def run1(op, x, axes=None, **attrs):
    """Reduce `x` with `axes` as a constant input (omitted when None)."""
    g = Graph()
    xv = g.add_input("x", T(from_numpy(x.dtype), x.shape))
    args = [xv] if axes is None else [xv, g.add_constant(np.asarray(axes, np.int64), "axes")]
    y = g.op(op, *args, **attrs)
    g.set_outputs([y])
    r = run_graph(g, {"x": x})[y.name]
    assert r.shape == y.type.shape and r.dtype == y.type.dtype.np_dtype, (r.shape, y.type)
    return r


def infer(op, xt, axes=None, axes_type=None, **attrs):
    g = Graph()
    args = [g.add_input("x", xt)]
    if axes is not None:
        args.append(g.add_constant(np.asarray(axes, np.int64), "axes"))
    elif axes_type is not None:
        args.append(g.add_input("axes", axes_type))
    return g.op(op, *args, **attrs).type


def onnx_ref(op, x, axes=None, **attrs):
    names = ["x"] if axes is None else ["x", "axes"]
    node = helper.make_node(op, names, ["y"], **attrs)
    feeds = {"x": x} if axes is None else {"x": x, "axes": np.asarray(axes, np.int64)}
    return ReferenceEvaluator(node).run(None, feeds)[0]


X = RNG.standard_normal((2, 3, 4)).astype(F)
NUMPY = {
    "ReduceSum": lambda x, a, k: np.sum(x, axis=a, keepdims=k),
    "ReduceMean": lambda x, a, k: np.mean(x, axis=a, keepdims=k),
    "ReduceMax": lambda x, a, k: np.max(x, axis=a, keepdims=k),
    "ReduceMin": lambda x, a, k: np.min(x, axis=a, keepdims=k),
    "ReduceProd": lambda x, a, k: np.prod(x, axis=a, keepdims=k),
    "ReduceL1": lambda x, a, k: np.sum(np.abs(x), axis=a, keepdims=k),
    "ReduceL2": lambda x, a, k: np.sqrt(np.sum(x * x, axis=a, keepdims=k)),
    "ReduceSumSquare": lambda x, a, k: np.sum(x * x, axis=a, keepdims=k),
    "ReduceLogSum": lambda x, a, k: np.log(np.sum(x, axis=a, keepdims=k)),
    "ReduceLogSumExp": lambda x, a, k: np.log(np.sum(np.exp(x), axis=a, keepdims=k)),
}
REDUCE_OPS = sorted(NUMPY)


def _input_for(op):
    return np.abs(X) + 0.5 if op == "ReduceLogSum" else X


@pytest.mark.parametrize("op", REDUCE_OPS)
@pytest.mark.parametrize("axes,keepdims", [(None, 1), (None, 0), ([1], 1), ([-1, 0], 0),
                                           ([0, 1, 2], 1)])
def test_reduce_values(op, axes, keepdims):
    x = _input_for(op)
    r = run1(op, x, axes, keepdims=keepdims)
    a = None if axes is None else tuple(axes)
    expect = NUMPY[op](x.astype(np.float64), a, bool(keepdims))
    np.testing.assert_allclose(r, expect, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(r, onnx_ref(op, x, axes, keepdims=keepdims), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("op", REDUCE_OPS)
def test_reduce_noop_with_empty_axes(op):
    x = _input_for(op)
    for axes in (None, []):
        r = run1(op, x, axes, noop_with_empty_axes=1)
        assert r.shape == x.shape
        # "reduce over no axes" applies the op's per-element part (as onnx's reference does)
        np.testing.assert_allclose(r, onnx_ref(op, x, axes, noop_with_empty_axes=1), rtol=1e-6)
    # an empty axes tensor without the flag reduces everything
    assert run1(op, x, [], keepdims=0).shape == ()


def test_reduce_shape_rules():
    xt = T("f32", ("N", 3, 4))
    assert infer("ReduceSum", xt, [1]) == T("f32", ("N", 1, 4))
    assert infer("ReduceSum", xt, [-1], keepdims=0) == T("f32", ("N", 3))
    assert infer("ReduceMean", xt) == T("f32", (1, 1, 1))
    assert infer("ReduceMax", xt, keepdims=0) == T("f32", ())
    assert infer("ReduceMin", xt, noop_with_empty_axes=1) == xt
    # axes known only at run time
    assert infer("ReduceSum", T("f32", ("N", 1, 4)), axes_type=T("i64", (1,))) == \
        T("f32", ("?", 1, "?"))
    assert infer("ReduceSum", xt, axes_type=T("i64", (2,)), keepdims=0) == T("f32", ("?",))
    assert OPS["ReduceSum"].kind == OpKind.REDUCTION and OPS["ArgMax"].kind == OpKind.REDUCTION


def test_reduce_errors():
    xt = T("f32", (2, 3))
    with pytest.raises(ShapeInferenceError, match="axes 2 is out of range for rank 2"):
        infer("ReduceSum", xt, [2])
    with pytest.raises(ShapeInferenceError, match="repeat an axis"):
        infer("ReduceSum", xt, [1, -1])
    with pytest.raises(ShapeInferenceError, match="keepdims must be 0 or 1"):
        infer("ReduceSum", xt, keepdims=2)
    with pytest.raises(ShapeInferenceError, match="axes.*dtype f32"):
        infer("ReduceSum", xt, axes_type=T("f32", (1,)))
    with pytest.raises(ShapeInferenceError, match="static length"):
        infer("ReduceSum", xt, axes_type=T("i64", ("K",)), keepdims=0)
    with pytest.raises(ShapeInferenceError, match="ReduceLogSumExp node.*dtype i32"):
        infer("ReduceLogSumExp", T("i32", (2,)))
    with pytest.raises(ShapeInferenceError, match="dtype bool"):
        infer("ReduceSum", T("bool", (2,)))


def test_reduce_empty_sets():
    e = np.zeros((2, 0, 3), F)
    assert np.all(run1("ReduceSum", e, [1]) == 0)
    assert np.all(run1("ReduceProd", e, [1]) == 1)
    assert np.all(run1("ReduceSumSquare", e, [1]) == 0) and np.all(run1("ReduceL2", e, [1]) == 0)
    assert np.all(run1("ReduceMax", e, [1]) == -np.inf)
    assert np.all(run1("ReduceMin", e, [1]) == np.inf)
    assert np.all(run1("ReduceLogSumExp", e, [1]) == -np.inf)
    assert np.all(run1("ReduceLogSum", e, [1]) == -np.inf)
    assert run1("ReduceSum", e, [1]).shape == (2, 1, 3)
    ei = np.zeros((0, 2), np.int32)
    np.testing.assert_array_equal(run1("ReduceMax", ei, [0], keepdims=0),
                                  [np.iinfo(np.int32).min] * 2)
    np.testing.assert_array_equal(run1("ReduceMin", np.zeros((0,), np.uint8), keepdims=0), 255)
    # reducing the non-empty axis of an empty tensor gives an empty result
    assert run1("ReduceSum", e, [2]).shape == (2, 0, 1)


def test_reduce_integers():
    x = np.array([[1, -2, 3], [-4, 5, -8]], np.int32)
    r = run1("ReduceSum", x, [1], keepdims=0)
    assert r.dtype == np.int32
    np.testing.assert_array_equal(r, [2, -7])
    # integer mean truncates toward zero: 2/3 -> 0, -7/3 -> -2
    np.testing.assert_array_equal(run1("ReduceMean", x, [1], keepdims=0), [0, -2])
    np.testing.assert_array_equal(run1("ReduceProd", x, [0], keepdims=0), [-4, -10, -24])
    np.testing.assert_array_equal(run1("ReduceL1", x, [1], keepdims=0), [6, 17])
    # sqrt(14), sqrt(105) truncated
    np.testing.assert_array_equal(run1("ReduceL2", x, [1], keepdims=0), [3, 10])
    np.testing.assert_array_equal(run1("ReduceSumSquare", x, [1], keepdims=0), [14, 105])
    b = np.array([[True, False]])
    np.testing.assert_array_equal(run1("ReduceMax", b, [1], keepdims=0), [True])
    np.testing.assert_array_equal(run1("ReduceMin", b, [1], keepdims=0), [False])
    r = run1("ReduceSum", np.array([200, 100], np.uint32), keepdims=0)
    assert r.dtype == np.uint32 and r == 300


def test_reduce_f16_keeps_dtype_and_accumulates_wide():
    x = np.ones((4096, 2), np.float16)    # an f16 running sum along axis 0 stalls at 2048
    r = run1("ReduceSum", x, [0], keepdims=0)
    assert r.dtype == np.float16
    np.testing.assert_array_equal(r, [4096, 4096])
    np.testing.assert_array_equal(run1("ReduceMean", x, [0], keepdims=0), [1, 1])


def test_reduce_rank0():
    s = np.array(3.0, F)
    assert run1("ReduceSum", s) == 3.0 and run1("ReduceSum", s).shape == ()
    assert run1("ReduceL2", np.array(-3.0, F), keepdims=0) == 3.0


def test_logsumexp_is_stable():
    x = np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [-np.inf, -np.inf]], F)
    r = run1("ReduceLogSumExp", x, [1], keepdims=0)
    np.testing.assert_allclose(r[:2], [1000 + np.log(2), -1000 + np.log(2)], rtol=1e-6)
    assert r[2] == -np.inf
    assert run1("ReduceLogSumExp", np.array([np.inf, 1.0], F), keepdims=0) == np.inf


# ---- ArgMax / ArgMin -----------------------------------------------------------------------
@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("last", [0, 1])
def test_arg(op, axis, keepdims, last):
    x = RNG.integers(-2, 3, (3, 4, 5)).astype(np.int32)   # many ties
    r = run1(op, x, axis=axis, keepdims=keepdims, select_last_index=last)
    assert r.dtype == np.int64
    np.testing.assert_array_equal(r, onnx_ref(op, x, axis=axis, keepdims=keepdims,
                                              select_last_index=last))


def test_arg_ties_and_shapes():
    x = np.array([[1.0, 3.0, 3.0, 0.0]], F)
    assert run1("ArgMax", x, axis=1, keepdims=0)[0] == 1
    assert run1("ArgMax", x, axis=1, keepdims=0, select_last_index=1)[0] == 2
    assert run1("ArgMin", x, axis=0).shape == (1, 4)
    assert infer("ArgMax", T("f32", ("N", 5)), axis=-1) == T("i64", ("N", 1))
    assert infer("ArgMin", T("f16", ("N", 5)), axis=0, keepdims=0) == T("i64", (5,))


def test_arg_errors():
    with pytest.raises(ShapeInferenceError, match="axis 2 is out of range for rank 2"):
        infer("ArgMax", T("f32", (2, 3)), axis=2)
    with pytest.raises(ShapeInferenceError, match="axis 1 of size 0"):
        infer("ArgMax", T("f32", (2, 0)), axis=1)
    with pytest.raises(ShapeInferenceError, match="dtype bool"):
        infer("ArgMin", T("bool", (2,)))
