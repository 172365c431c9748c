"""MatMul and Gemm: shape rules, numpy/ONNX-reference agreement, dtypes and errors."""
import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from backends.reference import run_graph
from compiler.errors import ShapeInferenceError
from compiler.ir.graph import Graph
from compiler.ir.types import TensorType

RNG = np.random.default_rng(7)


def rand(shape, dtype=np.float32):
    if np.dtype(dtype).kind in "iu":
        return RNG.integers(0, 5, size=shape).astype(dtype)
    return RNG.standard_normal(shape).astype(dtype)


def run(op, arrays, consts=(), **attrs):
    """Graph with inputs a0, a1, ... (consts: indices made constants; None = absent)."""
    g = Graph()
    vals, feeds = [], {}
    for i, a in enumerate(arrays):
        if a is None:
            vals.append(None)
        elif i in consts:
            vals.append(g.add_constant(a, f"c{i}"))
        else:
            vals.append(g.add_input(f"a{i}", TensorType(a.dtype, a.shape)))
            feeds[f"a{i}"] = a
    y = g.op(op, *vals, **attrs)
    g.set_outputs([y])
    out = run_graph(g, feeds)[y.name]
    assert out.dtype == y.type.dtype.np_dtype
    assert tuple(out.shape) == y.type.shape
    return out, y.type


def infer(op, types, **attrs):
    g = Graph()
    vals = [None if t is None else g.add_input(f"a{i}", t) for i, t in enumerate(types)]
    return g.op(op, *vals, **attrs).type


def onnx_ref(op, arrays, **attrs):
    names = [f"a{i}" if a is not None else "" for i, a in enumerate(arrays)]
    node = helper.make_node(op, names, ["y"], **attrs)
    ins = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
           for n, a in zip(names, arrays) if a is not None]
    out = helper.make_tensor_value_info("y", TensorProto.UNDEFINED, None)
    model = helper.make_model(helper.make_graph([node], "t", ins, [out]),
                              opset_imports=[helper.make_opsetid("", 21)])
    feeds = {n: a for n, a in zip(names, arrays) if a is not None}
    return ReferenceEvaluator(model).run(None, feeds)[0]


# ---- MatMul ------------------------------------------------------------------------------------

@pytest.mark.parametrize("sa,sb,expected", [
    ((3, 4), (4, 5), (3, 5)),
    ((4,), (4, 5), (5,)),
    ((3, 4), (4,), (3,)),
    ((4,), (4,), ()),
    ((2, 1, 3, 4), (5, 4, 2), (2, 5, 3, 2)),
    ((7, 3, 4), (4,), (7, 3)),
    ((4,), (6, 4, 2), (6, 2)),
    ((3, 0), (0, 5), (3, 5)),
    ((0, 4), (4, 2), (0, 2)),
])
def test_matmul_matches_numpy_and_onnx(sa, sb, expected):
    a, b = rand(sa), rand(sb)
    out, t = run("MatMul", [a, b])
    assert t.shape == expected
    np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, onnx_ref("MatMul", [a, b]), rtol=1e-5, atol=1e-6)
    if 0 in sa:
        assert not out.any()  # empty contraction gives zeros


def test_matmul_hand_computed():
    a = np.array([[1, 2], [3, 4]], np.float32)
    b = np.array([[5, 6], [7, 8]], np.float32)
    out, _ = run("MatMul", [a, b], consts={1})
    np.testing.assert_array_equal(out, [[19, 22], [43, 50]])
    vec, _ = run("MatMul", [np.array([1, 2], np.float32), b])
    np.testing.assert_array_equal(vec, [19, 22])


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32, np.uint64, np.float64,
                                   np.float16])
def test_matmul_dtypes(dtype):
    a, b = rand((2, 3, 4), dtype), rand((4, 3), dtype)
    out, _ = run("MatMul", [a, b])
    assert out.dtype == dtype
    ref = np.matmul(a.astype(np.float64), b.astype(np.float64))
    if np.dtype(dtype).kind in "iu":
        np.testing.assert_array_equal(out, ref.astype(dtype))
    else:
        np.testing.assert_allclose(out.astype(np.float64), ref, rtol=2e-3, atol=2e-3)


def test_matmul_symbolic_dims():
    t = infer("MatMul", [TensorType("f32", ("N", 3, 4)), TensorType("f32", (4, 5))])
    assert t.shape == ("N", 3, 5) and t.dtype.name == "f32"
    t = infer("MatMul", [TensorType("f32", ("B", "S", 64)), TensorType("f32", ("B", 64, "S"))])
    assert t.shape == ("B", "S", "S")
    t = infer("MatMul", [TensorType("f32", ("M", "K")), TensorType("f32", ("K", 2))])
    assert t.shape == ("M", 2)
    # symbolic batch against a static one: the static side wins
    t = infer("MatMul", [TensorType("f32", ("N", 2, 3)), TensorType("f32", (6, 3, 1))])
    assert t.shape == (6, 2, 1)


@pytest.mark.parametrize("ta,tb,msg", [
    (TensorType("f32", (3, 4)), TensorType("f32", (5, 6)), "inner dimensions differ (4 vs 5)"),
    (TensorType("f32", (4,)), TensorType("f32", (3,)), "inner dimensions differ"),
    (TensorType("f32", (3, 4)), TensorType("f64", (4, 5)), "dtype"),
    (TensorType("f32", ()), TensorType("f32", (4, 5)), "rank >= 1"),
    (TensorType("bool", (3, 4)), TensorType("bool", (4, 5)), "dtype bool"),
    (TensorType("i8", (3, 4)), TensorType("i8", (4, 5)), "dtype i8"),
    (TensorType("f32", (2, 3, 4)), TensorType("f32", (3, 4, 5)), "broadcast"),
])
def test_matmul_errors(ta, tb, msg):
    with pytest.raises(ShapeInferenceError) as e:
        infer("MatMul", [ta, tb])
    assert msg in str(e.value) and "MatMul" in str(e.value)


# ---- Gemm --------------------------------------------------------------------------------------

@pytest.mark.parametrize("trans_a", [0, 1])
@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("c_shape", [None, (), (1,), (5,), (3, 1), (1, 5), (3, 5)])
def test_gemm_matches_onnx(trans_a, trans_b, c_shape):
    m, k, n = 3, 4, 5
    a = rand((k, m) if trans_a else (m, k))
    b = rand((n, k) if trans_b else (k, n))
    c = None if c_shape is None else rand(c_shape)
    attrs = dict(alpha=0.5, beta=2.0, transA=trans_a, transB=trans_b)
    out, t = run("Gemm", [a, b, c], consts={2}, **attrs)
    assert t.shape == (m, n)
    expected = 0.5 * (a.T if trans_a else a) @ (b.T if trans_b else b)
    if c is not None:
        expected = expected + 2.0 * c
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out, onnx_ref("Gemm", [a, b, c], **attrs), rtol=1e-5, atol=1e-5)


def test_gemm_defaults_and_hand_computed():
    a = np.array([[1, 2]], np.float32)
    b = np.array([[3], [4]], np.float32)
    c = np.array([10], np.float32)
    out, t = run("Gemm", [a, b, c])
    assert t.shape == (1, 1) and out.tolist() == [[21.0]]
    out, _ = run("Gemm", [a, b, c], beta=0.0)
    assert out.tolist() == [[11.0]]


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_gemm_integer(dtype):
    a, b, c = rand((3, 4), dtype), rand((5, 4), dtype), rand((5,), dtype)
    out, _ = run("Gemm", [a, b, c], transB=1, alpha=2.0, beta=3.0)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, 2 * (a @ b.T) + 3 * c)
    out, _ = run("Gemm", [a, b, c], transB=1)
    np.testing.assert_array_equal(out, a @ b.T + c)


def test_gemm_f16_keeps_dtype():
    a, b = rand((2, 3), np.float16), rand((3, 4), np.float16)
    out, _ = run("Gemm", [a, b], alpha=1.5)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.astype(np.float32),
                               1.5 * a.astype(np.float32) @ b.astype(np.float32), atol=1e-2)


def test_gemm_symbolic():
    t = infer("Gemm", [TensorType("f32", ("N", 8)), TensorType("f32", (16, 8)),
                       TensorType("f32", (16,))], transB=1)
    assert t.shape == ("N", 16)
    t = infer("Gemm", [TensorType("f32", (8, "N")), TensorType("f32", (8, 4))], transA=1)
    assert t.shape == ("N", 4)


@pytest.mark.parametrize("types,attrs,msg", [
    ([(3, 4), (5, 6)], {}, "inner dimensions differ (4 vs 5)"),
    ([(3, 4), (4, 5)], {"transA": 1}, "inner dimensions differ (3 vs 4)"),
    ([(2, 3, 4), (4, 5)], {}, "must be 2-D"),
    ([(4,), (4, 5)], {}, "must be 2-D"),
    ([(3, 4), (4, 5), (3,)], {}, "does not broadcast to (M, N) = (3, 5)"),
    ([(3, 4), (4, 5), (5, 3)], {}, "does not broadcast"),
    ([(3, 4), (4, 5), (1, 3, 5)], {}, "rank <= 2"),
    ([(3, 4), (4, 5)], {"transA": 2}, "transA must be 0 or 1"),
])
def test_gemm_errors(types, attrs, msg):
    with pytest.raises(ShapeInferenceError) as e:
        infer("Gemm", [TensorType("f32", s) for s in types], **attrs)
    assert msg in str(e.value)


def test_gemm_dtype_mismatch():
    with pytest.raises(ShapeInferenceError, match="dtype"):
        infer("Gemm", [TensorType("f32", (3, 4)), TensorType("f32", (4, 5)),
                       TensorType("f64", (5,))])
