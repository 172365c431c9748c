"""Layout and shape ops: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Expand, Tile, Shape,
Size, Identity, Concat, Split, ConstantOfShape, Range, EyeLike, DepthToSpace, SpaceToDepth."""
import numpy as np
import pytest
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from backends.reference import run_graph
from compiler.errors import ShapeInferenceError
from compiler.ir.dtypes import from_numpy
from compiler.ir.graph import Graph
from compiler.ir.types import TensorType
from compiler.ops import OPS, OpKind

RNG = np.random.default_rng(0)
I64 = np.int64


def run(op, *inputs, consts=(), num_outputs=1, **attrs):
    """Run a one-node graph; inputs at positions in `consts` become graph constants. Checks
    that the inferred types predict the kernel's results exactly; returns the result arrays."""
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


X23 = np.arange(6, dtype=np.float32).reshape(2, 3)


# ---- Reshape ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,allowzero,expect", [
    ([3, 2], 0, (3, 2)), ([-1], 0, (6,)), ([0, -1], 0, (2, 3)), ([1, -1, 2], 0, (1, 3, 2)),
    ([6, 1, 1], 0, (6, 1, 1)), ([-1, 0], 0, (2, 3))])
def test_reshape(shape, allowzero, expect):
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    y = run1("Reshape", x, np.array(shape, I64), consts=(1,), allowzero=allowzero)
    assert y.shape == expect
    np.testing.assert_array_equal(y.reshape(-1), x.reshape(-1))
    np.testing.assert_array_equal(y, onnx_ref("Reshape", x, np.array(shape, I64))[0])


def test_reshape_allowzero_and_empty():
    x = np.zeros((0, 3), np.int32)
    assert run1("Reshape", x, np.array([3, 0], I64), consts=(1,), allowzero=1).shape == (3, 0)
    assert run1("Reshape", x, np.array([0, 3], I64), consts=(1,)).shape == (0, 3)   # 0 copies
    errors("Reshape", T("i32", 0, 3), np.array([0, -1], I64), allowzero=1, match="both 0 and -1")


def test_reshape_symbolic_and_dynamic():
    assert infer("Reshape", T("f32", "N", 3, 4), np.array([0, -1], I64)).shape == ("N", 12)
    assert infer("Reshape", T("f32", "N", 3, 4), np.array([-1, 4], I64)).shape == ("?", 4)
    assert infer("Reshape", T("f32", "N", 3), np.array([0, 3, 1], I64)).shape == ("N", 3, 1)
    assert infer("Reshape", T("f32", 2, 3), T("i64", 4)).shape == ("?",) * 4    # shape input
    errors("Reshape", T("f32", 2, 3), T("i64", "K"), match="unknown length")


def test_reshape_errors():
    errors("Reshape", T("f32", 2, 3), np.array([4, -1], I64),
           match=r"cannot reshape f32\[2,3\] \(6 elements\) to \[4,-1\]")
    errors("Reshape", T("f32", 2, 3), np.array([4, 2], I64), match="cannot reshape")
    errors("Reshape", T("f32", 2, 3), np.array([-1, -1], I64), match="at most one")
    errors("Reshape", T("f32", 6), np.array([2, 0], I64), match="copies input dim 1")
    errors("Reshape", T("f32", 6), np.array([2.0, 3.0], np.float32), match="i32 or i64")


# ---- Flatten / Squeeze / Unsqueeze -------------------------------------------------------------
@pytest.mark.parametrize("axis,expect", [(0, (1, 24)), (1, (2, 12)), (-1, (6, 4)), (3, (24, 1))])
def test_flatten(axis, expect):
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    y = run1("Flatten", x, axis=axis)
    np.testing.assert_array_equal(y, x.reshape(expect))


def test_flatten_symbolic_and_errors():
    assert infer("Flatten", T("f32", "N", 3, 4)).shape == ("N", 12)
    assert infer("Flatten", T("f32", "N", 3, "M"), axis=2).shape == ("?", "M")
    assert infer("Flatten", T("f32", 2, 0, "M"), axis=2).shape == (0, "M")
    errors("Flatten", T("f32", 2, 3), axis=3, match=r"axis 3 is out of range \[-2, 2\]")


def test_squeeze():
    x = RNG.standard_normal((1, 3, 1, 2)).astype(np.float32)
    assert run1("Squeeze", x).shape == (3, 2)
    y = run1("Squeeze", x, np.array([-2], I64), consts=(1,))
    np.testing.assert_array_equal(y, x.reshape(1, 3, 2))
    assert infer("Squeeze", T("f32", "N", 1, 4), np.array([1], I64)).shape == ("N", 4)
    assert infer("Squeeze", T("f32", "N", 1), np.array([0], I64)).shape == (1,)   # N must be 1
    assert infer("Squeeze", T("f32", 1, 1, 4), T("i64", 2)).shape == ("?",)
    errors("Squeeze", T("f32", 1, 3), np.array([1], I64), match="axis 1 .* size is 3, not 1")
    errors("Squeeze", T("f32", "N", 1), match="give the axes")
    errors("Squeeze", T("f32", 1, 3), np.array([2], I64), match="out of range")


def test_unsqueeze():
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    y = run1("Unsqueeze", x, np.array([0, -1], I64), consts=(1,))
    assert y.shape == (1, 3, 4, 1)
    np.testing.assert_array_equal(y, onnx_ref("Unsqueeze", x, np.array([0, -1], I64))[0])
    assert run1("Unsqueeze", np.float32(2.5), np.array([0], I64), consts=(1,)).shape == (1,)
    assert infer("Unsqueeze", T("f32", "N", 4), np.array([1, 3], I64)).shape == ("N", 1, 4, 1)
    errors("Unsqueeze", T("f32", 3), np.array([0, 0], I64), match="repeat an axis")
    errors("Unsqueeze", T("f32", 3), np.array([3], I64), match="out of range for rank 2")


# ---- Transpose / Expand / Tile -----------------------------------------------------------------
def test_transpose():
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(run1("Transpose", x), x.transpose(2, 1, 0))
    np.testing.assert_array_equal(run1("Transpose", x, perm=[1, 0, 2]), x.transpose(1, 0, 2))
    assert infer("Transpose", T("f32", "N", 3, 4), perm=[2, 0, 1]).shape == (4, "N", 3)
    errors("Transpose", T("f32", 2, 3), perm=[0, 0], match="not a permutation")
    errors("Transpose", T("f32", 2, 3), perm=[1, 0, 2], match="not a permutation")


def test_expand():
    x = np.array([[1], [2], [3]], np.int32)
    y = run1("Expand", x, np.array([2, 1, 4], I64), consts=(1,))
    np.testing.assert_array_equal(y, x * np.ones((2, 1, 4), np.int32))
    assert y.dtype == np.int32
    # shape smaller than the input (bidirectional)
    np.testing.assert_array_equal(run1("Expand", x, np.array([1], I64), consts=(1,)), x)
    assert infer("Expand", T("f32", "N", 1), np.array([1, 5], I64)).shape == ("N", 5)
    assert infer("Expand", T("f32", 3, 1), T("i64", 3)).shape == ("?", 3, "?")
    errors("Expand", T("f32", 3, 2), np.array([4, 4], I64), match="do not broadcast")


def test_tile():
    x = np.arange(6, dtype=np.int64).reshape(2, 3)
    y = run1("Tile", x, np.array([2, 1], I64), consts=(1,))
    np.testing.assert_array_equal(y, np.tile(x, (2, 1)))
    assert run1("Tile", x, np.array([0, 3], I64), consts=(1,)).shape == (0, 9)
    assert infer("Tile", T("f32", "N", 3), np.array([1, 2], I64)).shape == ("N", 6)
    assert infer("Tile", T("f32", "N", 3), np.array([2, 2], I64)).shape == ("?", 6)
    errors("Tile", T("f32", 2, 3), np.array([2], I64), match="1 entries but .* rank 2")


# ---- Shape / Size / Identity -------------------------------------------------------------------
@pytest.mark.parametrize("attrs,expect", [({}, [2, 3, 4]), ({"start": -1}, [4]),
                                          ({"end": -1}, [2, 3]), ({"start": 1, "end": 2}, [3]),
                                          ({"start": -10, "end": 10}, [2, 3, 4]),
                                          ({"start": 2, "end": 1}, [])])
def test_shape(attrs, expect):
    y = run1("Shape", np.zeros((2, 3, 4), np.float32), **attrs)
    assert y.dtype == np.int64 and y.tolist() == expect


def test_shape_size_identity_types():
    assert infer("Shape", T("f32", "N", 3)) == T("i64", 2)
    assert infer("Shape", T("f32")) == T("i64", 0)
    assert infer("Size", T("f32", "N", 3)) == T("i64")
    assert run1("Size", np.zeros((2, 0, 3), np.int8)).tolist() == 0
    assert run1("Size", np.zeros((2, 5), np.int8)).tolist() == 10
    x = np.array([True, False])
    np.testing.assert_array_equal(run1("Identity", x), x)
    assert infer("Identity", T("u8", "N")) == T("u8", "N")


# ---- Concat / Split ----------------------------------------------------------------------------
def test_concat():
    a, b = np.ones((2, 3), np.float32), np.zeros((2, 1), np.float32)
    y = run1("Concat", a, b, axis=-1)
    np.testing.assert_array_equal(y, np.concatenate([a, b], axis=1))
    y = run1("Concat", a, np.zeros((0, 3), np.float32), a, axis=0)
    assert y.shape == (4, 3)
    assert run1("Concat", np.arange(3, dtype=np.int64), axis=0).tolist() == [0, 1, 2]


def test_concat_types_and_errors():
    assert infer("Concat", T("f32", "N", 3), T("f32", "N", 2), axis=1).shape == ("N", 5)
    assert infer("Concat", T("f32", "N", 3), T("f32", 4, 2), axis=1).shape == (4, 5)
    assert infer("Concat", T("f32", "N", 3), T("f32", 4, 3), axis=0).shape == ("?", 3)
    assert infer("Concat", T("f32", "N", 3), T("f32", 0, 3), axis=0).shape == ("N", 3)
    errors("Concat", T("f32", 3, 5), T("f32", 2, 5), axis=1,
           match=r"input 1 has shape \[2,5\] but input 0 has \[3,5\]; "
                 r"all dims except axis 1 must match")
    errors("Concat", T("f32", 3, 5), T("i32", 3, 5), axis=0, match="input 1 has dtype i32")
    errors("Concat", T("f32", 3, 5), T("f32", 3), axis=0, match="rank")
    errors("Concat", T("f32", 3), axis=1, match="out of range")


def split_node(x, *inputs, n, **attrs):
    """A Split node with the `num_outputs` attribute (g.op's num_outputs= is the result count)."""
    g = Graph()
    vals = [g.add_input("x", TensorType(from_numpy(x.dtype), x.shape))]
    vals += [g.add_constant(np.asarray(a), f"c{i}") for i, a in enumerate(inputs)]
    node = g.create_node("Split", vals, attrs, num_outputs=n)
    g.set_outputs(node.outputs)
    res = run_graph(g, {"x": x})
    outs = [res[o.name] for o in node.outputs]
    assert [o.shape for o in outs] == [o.type.shape for o in node.outputs]
    return outs


def test_split_even_uneven_and_sizes():
    x = np.arange(7, dtype=np.float32)
    ys = split_node(x, n=3, num_outputs=3)
    assert [y.tolist() for y in ys] == [[0, 1, 2], [3, 4, 5], [6]]
    ref = onnx_ref("Split", x, n_out=3, num_outputs=3)
    assert all(np.array_equal(a, b) for a, b in zip(ys, ref))
    ys = run("Split", x, np.array([2, 0, 5], I64), consts=(1,), num_outputs=3)
    assert [y.shape for y in ys] == [(2,), (0,), (5,)]
    x2 = RNG.standard_normal((2, 6)).astype(np.float32)
    ys = run("Split", x2, axis=-1, num_outputs=2)        # count from the node's results
    np.testing.assert_array_equal(ys[1], x2[:, 3:])
    assert [y.shape for y in split_node(np.zeros((0, 2), np.int32), n=2, num_outputs=2)] == \
        [(0, 2), (0, 2)]


def test_split_types_and_errors():
    t = infer("Split", T("f32", "N", 8), axis=1, num_outputs=2)
    assert [x.shape for x in t] == [("N", 4), ("N", 4)]
    t = infer("Split", T("f32", "N", 8), axis=0, num_outputs=2)
    assert [x.shape for x in t] == [("?", 8), ("?", 8)]
    t = infer("Split", T("f32", 8), T("i64", 2), num_outputs=2)
    assert [x.shape for x in t] == [("?",), ("?",)]
    errors("Split", T("f32", 5), num_outputs=4, match="leave -1 for the last")
    errors("Split", T("f32", 5), np.array([2, 2], I64), num_outputs=2, match="sum to 4")
    errors("Split", T("f32", 6), np.array([3, 3], I64), num_outputs=3,
           match="2 entries .* 3 outputs")
    errors("Split", T("f32"), num_outputs=1, match="scalar")
    with pytest.raises(ShapeInferenceError, match="num_outputs=3 but the node has 2"):
        split_node(np.zeros(6, np.float32), n=2, num_outputs=3)
    with pytest.raises(ShapeInferenceError, match="not both"):
        split_node(np.zeros(6, np.float32), np.array([3, 3], I64), n=2, num_outputs=2)


# ---- ConstantOfShape / Range / EyeLike -----------------------------------------------------------
def test_constant_of_shape():
    y = run1("ConstantOfShape", np.array([2, 3], I64), consts=(0,))
    assert y.dtype == np.float32 and y.shape == (2, 3) and not y.any()
    y = run1("ConstantOfShape", np.array([4], I64), value=np.array([7], np.int32))
    np.testing.assert_array_equal(y, np.full(4, 7, np.int32))
    assert run1("ConstantOfShape", np.array([], I64), consts=(0,),
                value=np.array([True])).shape == ()
    assert infer("ConstantOfShape", T("i64", 3), value=np.array([1.0])) == T("f64", "?", "?", "?")
    errors("ConstantOfShape", np.array([2, -1], I64), match="negative")
    errors("ConstantOfShape", np.array([2], I64), value=np.array([1, 2], np.int32),
           match="one element")
    t = numpy_helper.from_array(np.array([5], np.int64))
    ref = onnx_ref("ConstantOfShape", np.array([2, 2], I64), value=t)[0]
    np.testing.assert_array_equal(run1("ConstantOfShape", np.array([2, 2], I64),
                                       value=np.array([5], np.int64)), ref)


@pytest.mark.parametrize("start,limit,delta,dt", [(3, 9, 3, np.int32), (10, 4, -2, np.int64),
                                                  (0, 1, 0.1, np.float32), (1, 1, 1, np.int16),
                                                  (0.5, -2.0, -0.75, np.float64),
                                                  (5, 3, 1, np.int64), (0, 10, 3, np.int32),
                                                  (10, 0, -3, np.int64), (-7, 8, 4, np.int16)])
def test_range(start, limit, delta, dt):
    args = [np.array(v, dt) for v in (start, limit, delta)]
    y = run1("Range", *args)
    ref = onnx_ref("Range", *args)[0]
    assert y.dtype == dt and y.shape == ref.shape
    np.testing.assert_allclose(y, ref, rtol=1e-6)
    t = infer("Range", *args)                  # constants: the length is known
    assert t.shape == ref.shape
    assert infer("Range", *[T(from_numpy(dt)) for _ in range(3)]).shape == ("?",)


def test_range_errors():
    errors("Range", np.array(0, I64), np.array(3, I64), np.array(0, I64),
           match="delta must not be 0")
    errors("Range", T("i64"), T("i32"), T("i64"), match="input 1 has dtype i32")
    errors("Range", T("i64", 2), T("i64"), T("i64"), match="must be a scalar")
    errors("Range", T("bool"), T("bool"), T("bool"), match="dtype bool")


def test_eyelike():
    x = np.zeros((3, 4), np.float32)
    np.testing.assert_array_equal(run1("EyeLike", x, k=1), np.eye(3, 4, 1, dtype=np.float32))
    y = run1("EyeLike", x, dtype=7, k=-1)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, onnx_ref("EyeLike", x, dtype=7, k=-1)[0])
    errors("EyeLike", T("f32", 3), match="2-D")
    errors("EyeLike", T("f32", 3, 3), dtype=99, match="not a supported ONNX")


# ---- DepthToSpace / SpaceToDepth -----------------------------------------------------------------
@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_depth_to_space(mode):
    x = RNG.standard_normal((2, 8, 2, 3)).astype(np.float32)
    y = run1("DepthToSpace", x, blocksize=2, mode=mode)
    assert y.shape == (2, 2, 4, 6)
    np.testing.assert_array_equal(y, onnx_ref("DepthToSpace", x, blocksize=2, mode=mode)[0])
    z = run1("SpaceToDepth", y, blocksize=2)
    if mode == "DCR":      # SpaceToDepth inverts the DCR layout
        np.testing.assert_array_equal(z, x)
    np.testing.assert_array_equal(z, onnx_ref("SpaceToDepth", y, blocksize=2)[0])


def test_depth_space_types_and_errors():
    assert infer("DepthToSpace", T("f32", "N", 12, "H", 5), blocksize=2).shape == \
        ("N", 3, "?", 10)
    assert infer("SpaceToDepth", T("f32", "N", 3, 4, 6), blocksize=2).shape == ("N", 12, 2, 3)
    errors("DepthToSpace", T("f32", 1, 6, 2, 2), blocksize=2, match=r"channels .* divisible by 4")
    errors("SpaceToDepth", T("f32", 1, 6, 3, 2), blocksize=2, match="height .* divisible by 2")
    errors("DepthToSpace", T("f32", 6, 2, 2), blocksize=1, match="4-D")
    errors("DepthToSpace", T("f32", 1, 4, 2, 2), blocksize=2, mode="XYZ", match="DCR or CRD")


def test_kinds():
    for name in ("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Transpose", "Concat",
                 "Split", "Expand", "Tile", "DepthToSpace", "SpaceToDepth"):
        assert OPS[name].kind == OpKind.INJECTIVE, name
    for name in ("Shape", "Size", "ConstantOfShape", "Range", "EyeLike"):
        assert OPS[name].kind == OpKind.OPAQUE, name
