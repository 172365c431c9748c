"""Indexing ops: Slice, Gather, GatherElements, GatherND, ScatterElements, ScatterND, OneHot,
NonZero, Compress, Pad, Trilu, CumSum, ReverseSequence, TopK."""
import numpy as np
import pytest
from onnx import helper
from onnx.reference import ReferenceEvaluator

from backends.reference import run_graph
from backends.reference.interpreter import InterpreterError
from compiler.errors import ShapeInferenceError
from compiler.ir.dtypes import from_numpy
from compiler.ir.graph import Graph
from compiler.ir.types import TensorType
from compiler.ops import OPS, OpKind

RNG = np.random.default_rng(1)
I64 = np.int64
IMAX, IMIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min


def run(op, *inputs, consts=(), num_outputs=1, **attrs):
    """Run a one-node graph; inputs at positions in `consts` become graph constants. Checks
    that the inferred types predict the kernel's results; returns the result arrays."""
    g = Graph()
    vals, feeds = [], {}
    for i, a in enumerate(inputs):
        if a is None:
            vals.append(None)
        elif i in consts:
            vals.append(g.add_constant(np.asarray(a), f"c{i}"))
        else:
            a = np.asarray(a)
            vals.append(g.add_input(f"x{i}", TensorType(from_numpy(a.dtype), a.shape)))
            feeds[f"x{i}"] = a
    out = g.op(op, *vals, n_outputs=num_outputs, **attrs)
    outs = list(out) if isinstance(out, tuple) else [out]
    g.set_outputs(outs)
    res = run_graph(g, feeds)
    arrays = [res[o.name] for o in outs]
    for a, o in zip(arrays, outs):
        assert len(a.shape) == o.type.rank, (a.shape, o.type)    # "?"/symbols match anything
        assert all(isinstance(d, str) or d == n for d, n in zip(o.type.shape, a.shape)), \
            (a.shape, o.type)
        assert a.dtype == o.type.dtype.np_dtype
    return arrays


def run1(op, *inputs, **kw):
    return run(op, *inputs, **kw)[0]


def infer(op, *args, num_outputs=1, **attrs):
    """Inferred output type(s): TensorType args become graph inputs, arrays constants."""
    g = Graph()
    vals = []
    for i, a in enumerate(args):
        if a is None:
            vals.append(None)
        elif isinstance(a, TensorType):
            vals.append(g.add_input(f"x{i}", a))
        else:
            vals.append(g.add_constant(np.asarray(a), f"c{i}"))
    out = g.op(op, *vals, n_outputs=num_outputs, **attrs)
    return [o.type for o in out] if isinstance(out, tuple) else out.type


def onnx_ref(op, *inputs, n_out=1, **attrs):
    names = [f"x{i}" if a is not None else "" for i, a in enumerate(inputs)]
    node = helper.make_node(op, names, [f"y{i}" for i in range(n_out)], **attrs)
    feeds = {n: np.asarray(a) for n, a in zip(names, inputs) if a is not None}
    return ReferenceEvaluator(node).run(None, feeds)


def T(dt, *shape):
    return TensorType(dt, shape)


def errors(op, *args, match, **attrs):
    with pytest.raises(ShapeInferenceError, match=match):
        infer(op, *args, **attrs)


def ints(*v):
    return np.array(v, I64)


# ---- Slice -------------------------------------------------------------------------------------
X = np.arange(20, dtype=np.float32).reshape(4, 5)


@pytest.mark.parametrize("starts,ends,axes,steps", [
    ([1, 0], [2, 3], [0, 1], [1, 2]),             # ONNX example 1
    ([0, 1], [-1, 1000], None, None),             # example 2: negative end, clamped end
    ([3], [0], [1], [-1]),                        # negative step
    ([IMAX], [IMIN], [0], [-1]),                  # reverse a whole axis with the sentinels
    ([-1], [IMIN], [1], [-2]),                    # negative start and step 2
    ([0], [IMAX], [-1], [3]),
    ([10], [20], [0], [1]),                       # empty (start clamped to the end)
    ([2], [1], [0], [1]),                         # empty (end before start)
    ([-100], [100], [1], [1]),
    ([1, 2], [3, 4], [1, 0], None),               # axes out of order
])
def test_slice(starts, ends, axes, steps):
    args = [X, ints(*starts), ints(*ends), None if axes is None else ints(*axes),
            None if steps is None else ints(*steps)]
    while args[-1] is None:
        args.pop()
    ref = onnx_ref("Slice", *args)[0]
    y = run1("Slice", *args, consts=(1, 2, 3, 4))          # constants: static inferred shape
    np.testing.assert_array_equal(y, ref)
    np.testing.assert_array_equal(run1("Slice", *args), ref)   # runtime bounds: "?" dims


def test_slice_types():
    assert infer("Slice", T("f32", "N", 8), ints(0), ints(IMAX), ints(0)).shape == ("N", 8)
    assert infer("Slice", T("f32", "N", 8), ints(-1), ints(IMIN), ints(0), ints(-1)).shape == \
        ("N", 8)
    assert infer("Slice", T("f32", "N", 8), ints(1), ints(3), ints(0)).shape == ("?", 8)
    assert infer("Slice", T("f32", "N", 8), ints(1), ints(-1), ints(1), ints(2)).shape == ("N", 3)
    assert infer("Slice", T("f32", "N", 8), T("i64", 1), ints(3), ints(1)).shape == ("N", "?")
    assert infer("Slice", T("f32", 4, 8), ints(1), ints(3), T("i64", 1)).shape == ("?", "?")
    assert infer("Slice", T("f32", 4, 8), T("i32", 1), T("i32", 1)).shape == ("?", 8)
    assert infer("Slice", T("f32", 0, 8), ints(0), ints(5), ints(0), ints(-1)).shape == (0, 8)


def test_slice_errors():
    errors("Slice", T("f32", 4, 8), ints(0), ints(1), ints(0), ints(0), match="must not contain 0")
    errors("Slice", T("f32", 4, 8), ints(0, 1), ints(1), match="same length")
    errors("Slice", T("f32", 4, 8), ints(0), ints(1), ints(2), match="out of range")
    errors("Slice", T("f32", 4, 8), ints(0, 0), ints(1, 1), ints(1, -1), match="repeat")
    errors("Slice", T("f32", 4, 8), np.zeros(1, np.float32), ints(1), match="i32 or i64")


# ---- Gather family ------------------------------------------------------------------------------
def test_gather():
    data = RNG.standard_normal((3, 4, 2)).astype(np.float32)
    idx = np.array([[0, -1], [2, 1]], np.int32)
    for axis in (0, 1, -1):
        n = data.shape[axis]
        y = run1("Gather", data, idx % n - (idx < 0) * n, axis=axis)
        np.testing.assert_array_equal(y, np.take(data, idx % n, axis=axis))
    assert run1("Gather", data, np.array(1, I64), axis=1).shape == (3, 2)    # scalar index
    assert run1("Gather", data, np.zeros((0,), I64)).shape == (0, 4, 2)
    with pytest.raises(InterpreterError, match="out of bounds"):
        run1("Gather", data, ints(3))


def test_gather_types():
    assert infer("Gather", T("f32", "N", 5, 6), T("i64", "B", 7), axis=1).shape == \
        ("N", "B", 7, 6)
    errors("Gather", T("f32", 3, 4), T("f32", 2), match="indices must be i32 or i64, got f32")
    errors("Gather", T("f32", 3, 4), T("i64", 2), axis=2, match="axis 2 is out of range")
    errors("Gather", T("f32"), T("i64", 2), match="rank >= 1")


def test_gather_elements():
    data = np.arange(12, dtype=np.int32).reshape(3, 4)
    idx = np.array([[0, 2, 1, -1], [-1, 1, 0, 0]], I64)
    y = run1("GatherElements", data, idx, axis=0)
    np.testing.assert_array_equal(y, onnx_ref("GatherElements", data, idx % 3, axis=0)[0])
    np.testing.assert_array_equal(y, [[0, 9, 6, 11], [8, 5, 2, 3]])
    idx = np.array([[0, 3], [-1, 1], [2, 2]], I64)
    y = run1("GatherElements", data, idx, axis=1)
    np.testing.assert_array_equal(y, [[0, 3], [7, 5], [10, 10]])
    y = run1("GatherElements", data, np.array([[1], [0]], I64), axis=1)  # smaller than data
    np.testing.assert_array_equal(y, [[1], [4]])
    assert infer("GatherElements", T("f32", "N", 4), T("i32", "M", 4)) == T("f32", "M", 4)
    errors("GatherElements", T("f32", 3, 4), T("i64", 3), match="same rank")
    errors("GatherElements", T("f32", 3, 4), T("i64", 2, 5), match="exceed data")


@pytest.mark.parametrize("dshape,idx,b", [
    ((2, 2), [[0, 0], [1, 1]], 0), ((2, 2), [[1], [0]], 0), ((2, 2, 2), [[0, 1], [1, 0]], 0),
    ((2, 2, 2), [[[0, 1]], [[1, 0]]], 0), ((2, 2, 2), [[1], [0]], 1),
    ((2, 3, 4), [[[2, -1]], [[0, 3]]], 1)])
def test_gather_nd(dshape, idx, b):
    data = np.arange(np.prod(dshape), dtype=np.float32).reshape(dshape)
    idx = np.array(idx, I64)
    y = run1("GatherND", data, idx, batch_dims=b)
    ref = onnx_ref("GatherND", data, np.where(idx < 0, idx + data.shape[b + 1], idx),
                   batch_dims=b)[0]
    np.testing.assert_array_equal(y, ref)


def test_gather_nd_types():
    assert infer("GatherND", T("f32", "N", 3, 4), T("i64", "N", 5, 1), batch_dims=1).shape == \
        ("N", 5, 4)
    errors("GatherND", T("f32", 3, 4), T("i64", 2, 3), match=r"in \[1, 2\]")
    errors("GatherND", T("f32", 3, 4), T("i64", 2, "K"), match="must be static")
    errors("GatherND", T("f32", 3, 4), T("i64", 2, 1), batch_dims=1, match="batch dim 0 differs")


# ---- Scatter family -----------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_elements(reduction):
    data = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    idx = np.array([[1, 0, 2], [0, -1, 1]], I64)
    upd = np.array([[10, 20, 30], [40, 50, 60]], np.float32)
    for axis in (0, 1):
        y = run1("ScatterElements", data, idx, upd, axis=axis, reduction=reduction)
        ref = onnx_ref("ScatterElements", data, np.where(idx < 0, idx + data.shape[axis], idx),
                       upd, axis=axis, reduction=reduction)[0]
        np.testing.assert_array_equal(y, ref)


def test_scatter_elements_duplicates_and_errors():
    y = run1("ScatterElements", np.zeros(3, np.int32), ints(1, 1, 2),
             np.array([5, 6, 7], np.int32), reduction="add")
    assert y.tolist() == [0, 11, 7]
    errors("ScatterElements", T("f32", 3), T("i64", 2), T("f32", 3), match="shape of indices")
    errors("ScatterElements", T("f32", 3), T("i64", 2), T("f16", 2), match="dtype f16")
    errors("ScatterElements", T("f32", 3), T("i64", 2), T("f32", 2), reduction="avg",
           match="reduction must be one of")


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_nd(reduction):
    data = np.arange(1, 25, dtype=np.int64).reshape(2, 3, 4)
    idx = np.array([[0, 1], [1, 2], [0, 0]], I64)
    upd = RNG.integers(-5, 5, (3, 4)).astype(np.int64)
    y = run1("ScatterND", data, idx, upd, reduction=reduction)
    np.testing.assert_array_equal(y, onnx_ref("ScatterND", data, idx, upd, reduction=reduction)[0])
    y = run1("ScatterND", data, np.array([[1]], I64), upd[None, :3], reduction=reduction)
    np.testing.assert_array_equal(
        y, onnx_ref("ScatterND", data, np.array([[1]], I64), upd[None, :3], reduction=reduction)[0])


def test_scatter_nd_types():
    assert infer("ScatterND", T("f32", "N", 4), T("i64", 5, 1), T("f32", 5, 4)) == T("f32", "N", 4)
    errors("ScatterND", T("f32", 3, 4), T("i64", 5, 1), T("f32", 5, 3),
           match=r"updates has shape \[5,3\], expected .* \[5,4\]")
    errors("ScatterND", T("f32", 3, 4), T("i64", 5, 3), T("f32", 5), match=r"in \[1, 2\]")


# ---- OneHot / NonZero / Compress ----------------------------------------------------------------
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_onehot(axis):
    idx = np.array([[0, 2, -1], [5, -4, 1]], I64)     # 5 and -4 are out of range for depth 3
    values = np.array([2, 9], np.int32)
    y = run1("OneHot", idx, np.array(3, I64), values, consts=(1,), axis=axis)
    ref = onnx_ref("OneHot", idx, np.array(3, I64), values, axis=axis)[0]
    np.testing.assert_array_equal(y, ref)
    assert y.dtype == np.int32 and (y == 9).sum() == 4


def test_onehot_types():
    assert infer("OneHot", T("i64", "N"), np.array([4.0], np.float32), T("f32", 2)) == \
        T("f32", "N", 4)
    assert infer("OneHot", T("i64", "N"), T("i64"), T("f32", 2), axis=0) == T("f32", "?", "N")
    errors("OneHot", T("i64", 3), T("i64"), T("f32", 3), match=r"\[off_value, on_value\]")
    errors("OneHot", T("i64", 3), T("i64"), T("f32", 2), axis=2, match="out of range")
    errors("OneHot", T("i64", 3), np.array(0, I64), T("f32", 2), match="depth must be >= 1")


def test_nonzero():
    x = np.array([[1, 0, 3], [0, 0, 6]], np.float32)
    y = run1("NonZero", x)
    np.testing.assert_array_equal(y, [[0, 0, 1], [0, 2, 2]])
    assert y.dtype == np.int64
    assert run1("NonZero", np.zeros((2, 2), bool)).shape == (2, 0)
    assert run1("NonZero", np.array(5, np.int32)).shape == (0, 1)      # ONNX scalar rule
    assert infer("NonZero", T("f32", "N", 3)) == T("i64", 2, "?")
    assert infer("NonZero", x) == T("i64", 2, 3)                        # constant input


def test_compress():
    x = np.arange(12, dtype=np.int32).reshape(3, 4)
    for axis, cond in ((0, [True, False, True]), (1, [False, True]), (-1, [1, 0, 0, 1]),
                       (None, [0, 1, 1])):
        cond = np.array(cond, bool)
        attrs = {} if axis is None else {"axis": axis}
        y = run1("Compress", x, cond, **attrs)
        np.testing.assert_array_equal(y, onnx_ref("Compress", x, cond, **attrs)[0])
        yc = run1("Compress", x, cond, consts=(1,), **attrs)       # known count
        np.testing.assert_array_equal(yc, y)
    errors("Compress", T("f32", 3), T("i64", 3), match="1-D bool")
    errors("Compress", T("f32", 2), np.array([0, 0, 1], bool), axis=0, match="beyond")


# ---- Pad -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
@pytest.mark.parametrize("pads", [[0, 2, 0, 0], [1, 1, 2, 2], [2, 1, 1, 3]])
def test_pad_modes(mode, pads):
    x = np.array([[1.0, 1.2, 0.5], [2.3, 3.4, 0.1], [4.5, 5.7, 8.8]], np.float32)
    y = run1("Pad", x, ints(*pads), consts=(1,), mode=mode)
    np.testing.assert_array_equal(y, onnx_ref("Pad", x, ints(*pads), mode=mode)[0])


def test_pad_constant_value_axes_and_negative():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    y = run1("Pad", x, ints(1, 2), np.array(-7, np.int32), ints(-1), consts=(1, 3))
    np.testing.assert_array_equal(y, np.pad(x, [(0, 0), (1, 2)], constant_values=-7))
    y = run1("Pad", x, ints(0, -1, 1, 0), consts=(1,))       # a negative pad crops
    np.testing.assert_array_equal(y, np.pad(x, [(0, 1), (0, 0)])[:, 1:])
    v = np.arange(1, 6, dtype=np.float32)                      # as onnxruntime
    assert run1("Pad", v, ints(-1, 3), mode="reflect").tolist() == [2, 3, 4, 5, 4, 3, 2]
    assert run1("Pad", v, ints(-1, 3), mode="wrap").tolist() == [2, 3, 4, 5, 2, 3, 4]
    assert run1("Pad", v, ints(-1, 3), mode="edge").tolist() == [2, 3, 4, 5, 5, 5, 5]
    assert run1("Pad", np.zeros((0, 2), bool), ints(1, 0, 1, 0), consts=(1,)).shape == (2, 2)


def test_pad_types_and_errors():
    assert infer("Pad", T("f32", "N", 3), ints(0, 1, 0, 1)) == T("f32", "N", 5)
    assert infer("Pad", T("f32", "N", 3), ints(1, 0, 1, 0)) == T("f32", "?", 3)
    assert infer("Pad", T("f32", "N", 3), T("i64", 4)) == T("f32", "?", "?")
    assert infer("Pad", T("f32", 2, 3), T("i64", 2), None, ints(1)) == T("f32", 2, "?")
    errors("Pad", T("f32", 2, 3), ints(1, 1), match=r"expected 2 \* 2")
    errors("Pad", T("f32", 2, 3), ints(0, -4, 0, 0), match="negative size")
    errors("Pad", T("f32", 2, 3), ints(0, 0, 0, 0), T("f64"), match="constant_value has dtype f64")
    errors("Pad", T("f32", 2, 3), ints(0, 0, 0, 0), mode="mirror", match="mode must be one of")
    errors("Pad", T("f32", 0, 3), ints(1, 0, 0, 0), mode="edge", match="empty")


# ---- Trilu / CumSum / ReverseSequence ------------------------------------------------------------
@pytest.mark.parametrize("upper", [0, 1])
@pytest.mark.parametrize("k", [None, -1, 0, 2, 7])
def test_trilu(upper, k):
    x = RNG.integers(1, 9, (2, 3, 4)).astype(np.int64)
    args = (x,) if k is None else (x, np.array(k, I64))
    y = run1("Trilu", *args, upper=upper)
    np.testing.assert_array_equal(y, onnx_ref("Trilu", *args, upper=upper)[0])
    errors("Trilu", T("f32", 3), match="rank >= 2")


@pytest.mark.parametrize("exclusive,reverse", [(0, 0), (1, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("axis", [0, -1])
def test_cumsum(exclusive, reverse, axis):
    for x in (np.array([[1, 2, 3], [4, 5, 6]], np.int32), np.arange(6, dtype=np.float32)[::-1]):
        y = run1("CumSum", x, np.array(axis, np.int32), exclusive=exclusive, reverse=reverse)
        ref = onnx_ref("CumSum", x, np.array(axis, np.int32), exclusive=exclusive,
                       reverse=reverse)[0]
        np.testing.assert_array_equal(y, ref)
    assert run1("CumSum", np.array([1, 2, 3], np.int8), ints(0), exclusive=1).tolist() == [0, 1, 3]
    assert run1("CumSum", np.zeros((0, 2), np.float32), ints(0), exclusive=1).shape == (0, 2)
    errors("CumSum", T("f32", 3), ints(1), match="out of range")
    errors("CumSum", T("bool", 3), ints(0), match="numeric")


@pytest.mark.parametrize("batch_axis,time_axis", [(1, 0), (0, 1)])
def test_reverse_sequence(batch_axis, time_axis):
    x = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    lens = ints(4, 3, 2, 1) if batch_axis == 1 else ints(1, 2, 0, 4)
    y = run1("ReverseSequence", x, lens, batch_axis=batch_axis, time_axis=time_axis)
    ref = onnx_ref("ReverseSequence", x, lens, batch_axis=batch_axis, time_axis=time_axis)[0]
    np.testing.assert_array_equal(y, ref)
    errors("ReverseSequence", T("f32", 4, 3), T("i64", 4), match="has 4 entries .* size 3")
    errors("ReverseSequence", T("f32", 4, 3), T("i64", 3), batch_axis=0, time_axis=0,
           match="must be 0 and 1")


# ---- TopK ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("largest", [1, 0])
@pytest.mark.parametrize("axis", [-1, 0])
def test_topk(largest, axis):
    x = np.array([[3, 1, 3, 2], [5, 5, 0, 5], [1, 2, 2, 1]], np.float32)   # ties everywhere
    vals, idx = run("TopK", x, ints(2), num_outputs=2, axis=axis, largest=largest)
    rv, ri = onnx_ref("TopK", x, ints(2), n_out=2, axis=axis, largest=largest)
    np.testing.assert_array_equal(vals, rv)
    np.testing.assert_array_equal(idx, ri)
    assert idx.dtype == np.int64


def test_topk_ints_and_types():
    x = np.array([0, 255, 7, 255, 1], np.uint8)
    vals, idx = run("TopK", x, ints(3), consts=(1,), num_outputs=2)
    assert vals.tolist() == [255, 255, 7] and idx.tolist() == [1, 3, 2]
    vals, idx = run("TopK", x, ints(0), consts=(1,), num_outputs=2)
    assert vals.shape == (0,)
    assert infer("TopK", T("f32", "N", 10), ints(3), num_outputs=2) == \
        [T("f32", "N", 3), T("i64", "N", 3)]
    assert infer("TopK", T("f32", "N", 10), T("i64", 1), num_outputs=2, axis=0)[1] == \
        T("i64", "?", 10)
    errors("TopK", T("f32", 4), ints(5), num_outputs=2, match=r"K = 5 must be in \[0, 4\]")
    errors("TopK", T("f32", 4), ints(2), match="2 outputs")
    errors("TopK", T("f32", 4), ints(2, 3), num_outputs=2, match="1-element tensor, got i64")


def test_kinds():
    for name in ("Slice", "Gather", "Pad", "Trilu"):
        assert OPS[name].kind == OpKind.INJECTIVE, name
    for name in ("GatherElements", "GatherND", "ScatterElements", "ScatterND", "OneHot", "NonZero",
                 "TopK", "CumSum", "Compress", "ReverseSequence"):
        assert OPS[name].kind == OpKind.OPAQUE, name
