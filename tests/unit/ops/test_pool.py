"""Pooling ops against onnx.reference, against a brute-force loop oracle written here (for the
cases where onnx.reference is known to be wrong), hand-computed cases, shapes and errors."""
import itertools
import math

import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from backends.reference import run_graph
from compiler.errors import ShapeInferenceError
from compiler.ir.graph import Graph
from compiler.ir.types import TensorType

RNG = np.random.default_rng(11)


def rand(shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def run(op, x, num_outputs=1, **attrs):
    g = Graph()
    xi = g.add_input("x", TensorType(x.dtype, x.shape))
    ys = g.op(op, xi, n_outputs=num_outputs, **attrs)
    ys = list(ys) if num_outputs > 1 else [ys]
    g.set_outputs(ys)
    res = run_graph(g, {"x": x})
    for y in ys:
        assert res[y.name].dtype == y.type.dtype.np_dtype
        assert tuple(res[y.name].shape) == y.type.shape
    return [res[y.name] for y in ys]


def infer(op, shape, dtype="f32", num_outputs=1, **attrs):
    g = Graph()
    out = g.op(op, g.add_input("x", TensorType(dtype, shape)), n_outputs=num_outputs, **attrs)
    return [v.type for v in out] if num_outputs > 1 else out.type


def onnx_ref(op, x, num_outputs=1, **attrs):
    outs = ["y", "i"][:num_outputs]
    node = helper.make_node(op, ["x"], outs, **attrs)
    et = helper.np_dtype_to_tensor_dtype(x.dtype)
    model = helper.make_model(
        helper.make_graph([node], "t", [helper.make_tensor_value_info("x", et, x.shape)],
                          [helper.make_tensor_value_info(o, TensorProto.UNDEFINED, None)
                           for o in outs]),
        opset_imports=[helper.make_opsetid("", 22)])
    return ReferenceEvaluator(model).run(None, {"x": x})


def brute_pool(x, kind, kernel_shape, strides=None, pads=None, dilations=None, ceil_mode=0,
               count_include_pad=0, p=2, auto_pad="NOTSET", storage_order=0):
    """Direct loop over output positions and taps (small inputs only)."""
    n = x.ndim - 2
    spatial = x.shape[2:]
    strides = strides or [1] * n
    dilations = dilations or [1] * n
    pads = pads or [0] * (2 * n)
    outs, begins = [], []
    for i in range(n):
        L, k, s, d = spatial[i], kernel_shape[i], strides[i], dilations[i]
        eff = (k - 1) * d + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = math.ceil(L / s)
            total = max(0, (o - 1) * s + eff - L)
            pb = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            pe = total - pb
        elif auto_pad == "VALID":
            o, pb, pe = (L - eff) // s + 1, 0, 0
        else:
            pb, pe = pads[i], pads[n + i]
            f = (L + pb + pe - eff) / s + 1
            o = math.ceil(f) if ceil_mode else math.floor(f)
            if ceil_mode and (o - 1) * s >= L + pb:
                o -= 1
        outs.append(o)
        begins.append((pb, pe))
    y = np.zeros(x.shape[:2] + tuple(outs), np.float64)
    idx = np.full(y.shape, -1, np.int64)
    for nn, c in itertools.product(range(x.shape[0]), range(x.shape[1])):
        for o in itertools.product(*(range(v) for v in outs)):
            vals, where, region = [], [], 0
            for j in itertools.product(*(range(k) for k in kernel_shape)):
                pos = [o[i] * strides[i] - begins[i][0] + j[i] * dilations[i] for i in range(n)]
                if all(-begins[i][0] <= pos[i] < spatial[i] + begins[i][1] for i in range(n)):
                    region += 1
                if all(0 <= pos[i] < spatial[i] for i in range(n)):
                    vals.append(float(x[(nn, c) + tuple(pos)]))
                    where.append(pos)
            v = np.array(vals)
            if kind == "max":
                a = int(np.argmax(v))
                y[(nn, c) + o] = v[a]
                pos = where[a]
                order = range(n) if storage_order else range(n - 1, -1, -1)
                flat, mult = 0, 1
                for i in order:
                    flat += pos[i] * mult
                    mult *= spatial[i]
                idx[(nn, c) + o] = (nn * x.shape[1] + c) * math.prod(spatial) + flat
            elif kind == "avg":
                y[(nn, c) + o] = v.sum() / (region if count_include_pad else len(v))
            else:
                y[(nn, c) + o] = (np.abs(v) ** p).sum() ** (1.0 / p)
    return y, idx


# ---- MaxPool -----------------------------------------------------------------------------------

MAX_CASES = [
    ((2, 3, 7, 8), dict(kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1])),
    ((2, 3, 7, 8), dict(kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1], storage_order=1)),
    ((2, 3, 7, 8), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    ((1, 2, 8, 9), dict(kernel_shape=[2, 2], dilations=[2, 2], strides=[1, 2], ceil_mode=1,
                        pads=[1, 1, 0, 0])),
    ((1, 2, 4), dict(kernel_shape=[2], strides=[2], pads=[0, 1], ceil_mode=1)),
    ((1, 2, 9), dict(kernel_shape=[3], strides=[2], auto_pad="SAME_UPPER")),
    ((1, 2, 11), dict(kernel_shape=[4], strides=[3], auto_pad="VALID")),
    ((1, 2, 4, 5, 6), dict(kernel_shape=[2, 3, 2], strides=[2, 1, 2], pads=[0, 1, 1, 1, 1, 0])),
    ((1, 2, 4, 5, 6), dict(kernel_shape=[2, 3, 2], strides=[2, 1, 2], pads=[0, 1, 1, 1, 1, 0],
                           storage_order=1)),
    ((1, 1, 112, 112), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
]


@pytest.mark.parametrize("xs,attrs", MAX_CASES)
def test_maxpool_with_indices_matches_onnx(xs, attrs):
    x = rand(xs)
    y, idx = run("MaxPool", x, 2, **attrs)
    ry, ridx = onnx_ref("MaxPool", x, 2, **attrs)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(idx, ridx)
    # the values are the input at the indices
    flat = x.reshape(-1) if not attrs.get("storage_order") else None
    if flat is not None:
        np.testing.assert_array_equal(flat[idx], y)
    (y1,) = run("MaxPool", x, **attrs)
    np.testing.assert_array_equal(y1, y)


@pytest.mark.parametrize("xs,attrs", [
    ((1, 2, 10), dict(kernel_shape=[4], strides=[3], auto_pad="SAME_LOWER")),
    ((1, 2, 7, 6), dict(kernel_shape=[2, 3], strides=[2, 2], auto_pad="SAME_LOWER",
                        storage_order=1)),
    ((2, 1, 6, 7), dict(kernel_shape=[2, 2], dilations=[2, 3], pads=[1, 2, 2, 0], ceil_mode=1,
                        strides=[3, 2])),
])
def test_maxpool_matches_brute_force(xs, attrs):
    # onnx.reference uses floor(L/stride) outputs for SAME_LOWER, against its own spec
    x = rand(xs)
    y, idx = run("MaxPool", x, 2, **attrs)
    by, bidx = brute_pool(x, "max", **attrs)
    np.testing.assert_array_equal(y, by.astype(np.float32))
    np.testing.assert_array_equal(idx, bidx)


def test_maxpool_indices_hand_computed():
    x = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)
    y, idx = run("MaxPool", x, 2, kernel_shape=[2, 2], strides=[2, 2])
    np.testing.assert_array_equal(y[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(idx[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(idx[0, 1], [[21, 23], [29, 31]])
    _, idx = run("MaxPool", x, 2, kernel_shape=[2, 2], strides=[2, 2], storage_order=1)
    np.testing.assert_array_equal(idx[0, 0], [[5, 13], [7, 15]])
    np.testing.assert_array_equal(idx[0, 1], [[21, 29], [23, 31]])
    # ties: the first tap in row-major order wins
    _, idx = run("MaxPool", np.ones((1, 1, 2, 2), np.float32), 2, kernel_shape=[2, 2])
    assert idx.tolist() == [[[[0]]]]


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_maxpool_int_padding_never_wins(dtype):
    lo = np.iinfo(dtype).min
    x = np.full((1, 1, 3, 3), lo, dtype)
    x[0, 0, 2, 2] = lo + 1
    y, idx = run("MaxPool", x, 2, kernel_shape=[3, 3], pads=[2, 2, 2, 2], strides=[2, 2])
    assert y.dtype == dtype
    assert (y >= lo).all()
    assert (idx >= 0).all() and (idx < 9).all()        # never a padded position
    np.testing.assert_array_equal(x.reshape(-1)[idx], y)
    assert y[0, 0, 0, 0] == lo and idx[0, 0, 0, 0] == 0
    assert y[0, 0, 2, 2] == lo + 1 and idx[0, 0, 2, 2] == 8
    xi = RNG.integers(np.iinfo(dtype).min, np.iinfo(dtype).max, (2, 2, 5, 5)).astype(dtype)
    y, _ = run("MaxPool", xi, 2, kernel_shape=[2, 2], pads=[1, 1, 1, 1])
    np.testing.assert_array_equal(y, brute_pool(xi, "max", [2, 2], pads=[1, 1, 1, 1])[0])


def test_maxpool_float_minus_inf_input_indices_stay_inside():
    x = np.full((1, 1, 2, 2), -np.inf, np.float32)
    y, idx = run("MaxPool", x, 2, kernel_shape=[2, 2], pads=[1, 1, 1, 1])
    assert np.isneginf(y).all()
    assert idx.reshape(-1).tolist() == [0, 0, 1, 0, 0, 1, 2, 2, 3]


# ---- AveragePool / LpPool ---------------------------------------------------------------------

AVG_CASES = [
    ((2, 3, 7, 8), dict(kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1])),
    ((2, 3, 7, 8), dict(kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1],
                        count_include_pad=1)),
    ((2, 3, 7, 8), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    ((2, 3, 7, 8), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1, pads=[1, 1, 1, 1],
                        count_include_pad=1)),
    ((2, 3, 8, 8), dict(kernel_shape=[2, 3], strides=[3, 3], ceil_mode=1, pads=[1, 1, 1, 1],
                        count_include_pad=1)),
    ((1, 2, 9), dict(kernel_shape=[3], strides=[2], auto_pad="SAME_UPPER")),
    ((1, 2, 10), dict(kernel_shape=[4], strides=[3], auto_pad="SAME_LOWER", count_include_pad=1)),
    ((1, 2, 9, 9), dict(kernel_shape=[3, 2], dilations=[2, 3], pads=[2, 1, 1, 2])),
    ((1, 2, 9, 9), dict(kernel_shape=[3, 2], dilations=[2, 3], pads=[2, 1, 1, 2],
                        count_include_pad=1)),
    ((1, 2, 4, 5, 6), dict(kernel_shape=[2, 3, 2], strides=[2, 1, 2], auto_pad="VALID")),
    ((1, 2, 4, 5, 6), dict(kernel_shape=[2, 3, 2], pads=[1, 1, 0, 0, 1, 1], count_include_pad=1)),
]


@pytest.mark.parametrize("xs,attrs", AVG_CASES)
def test_averagepool_matches_onnx_and_brute_force(xs, attrs):
    x = rand(xs)
    (y,) = run("AveragePool", x, **attrs)
    np.testing.assert_allclose(y, onnx_ref("AveragePool", x, **attrs)[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y, brute_pool(x, "avg", **attrs)[0], rtol=1e-5, atol=1e-6)


def test_averagepool_hand_computed():
    x = np.array([[[1, 2, 3, 4]]], np.float32)
    (y,) = run("AveragePool", x, kernel_shape=[2], pads=[1, 1])
    np.testing.assert_allclose(y, [[[1, 1.5, 2.5, 3.5, 4]]])
    (y,) = run("AveragePool", x, kernel_shape=[2], pads=[1, 1], count_include_pad=1)
    np.testing.assert_allclose(y, [[[0.5, 1.5, 2.5, 3.5, 2]]])
    x5 = np.array([[[1, 2, 3, 4, 5]]], np.float32)
    (y,) = run("AveragePool", x5, kernel_shape=[2], strides=[2], ceil_mode=1)
    np.testing.assert_allclose(y, [[[1.5, 3.5, 5]]])     # the partial last window averages 1
    (y,) = run("AveragePool", x5, kernel_shape=[2], strides=[2])
    np.testing.assert_allclose(y, [[[1.5, 3.5]]])
    # ceil_mode never starts a window in the right padding: 4 + pad 1 would allow 3 windows
    (y,) = run("AveragePool", x, kernel_shape=[2], strides=[2], pads=[0, 1], ceil_mode=1)
    np.testing.assert_allclose(y, [[[1.5, 3.5]]])


LP_CASES = [
    ((2, 3, 7, 8), dict(kernel_shape=[3, 2], strides=[2, 2])),
    ((2, 3, 7, 8), dict(kernel_shape=[3, 2], strides=[2, 2], p=3)),
    ((2, 3, 7, 8), dict(kernel_shape=[3, 2], strides=[2, 2], pads=[1, 1, 1, 1], p=2)),
    ((1, 2, 9), dict(kernel_shape=[3], p=1)),
]


@pytest.mark.parametrize("xs,attrs", LP_CASES)
def test_lppool_matches_onnx(xs, attrs):
    x = rand(xs)
    (y,) = run("LpPool", x, **attrs)
    np.testing.assert_allclose(y, onnx_ref("LpPool", x, **attrs)[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("xs,attrs", [
    ((2, 3, 7, 8), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1, p=1)),
    ((1, 2, 7, 7), dict(kernel_shape=[2, 3], strides=[2, 2], ceil_mode=1, p=2, pads=[1, 0, 0, 1])),
    ((1, 2, 9), dict(kernel_shape=[3], dilations=[2], auto_pad="SAME_LOWER", p=3)),
])
def test_lppool_partial_windows_match_brute_force(xs, attrs):
    # onnx.reference scales a partial window's mean by the full kernel size instead of summing
    x = rand(xs)
    (y,) = run("LpPool", x, **attrs)
    np.testing.assert_allclose(y, brute_pool(x, "lp", **attrs)[0], rtol=1e-5, atol=1e-5)


def test_lppool_hand_computed():
    x = np.array([[[3, -4, 0, 5, 12]]], np.float32)
    (y,) = run("LpPool", x, kernel_shape=[2], strides=[3])
    np.testing.assert_allclose(y, [[[5, 13]]])


# ---- Global pools ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 3, 7), (2, 3, 5, 4), (1, 2, 3, 4, 2)])
def test_global_pools(shape):
    x = rand(shape)
    axes = tuple(range(2, len(shape)))
    (ya,) = run("GlobalAveragePool", x)
    (ym,) = run("GlobalMaxPool", x)
    (yl,) = run("GlobalLpPool", x, p=3)
    (y2,) = run("GlobalLpPool", x)
    np.testing.assert_allclose(ya, x.mean(axis=axes, keepdims=True), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ym, x.max(axis=axes, keepdims=True))
    np.testing.assert_allclose(yl, (np.abs(x) ** 3).sum(axis=axes, keepdims=True) ** (1 / 3),
                               rtol=1e-5)
    np.testing.assert_allclose(y2, np.sqrt((x ** 2).sum(axis=axes, keepdims=True)), rtol=1e-5)
    np.testing.assert_allclose(ya, onnx_ref("GlobalAveragePool", x)[0], rtol=1e-5, atol=1e-6)
    if len(shape) == 4:   # onnx.reference reduces the wrong axes unless spatial rank is 2
        np.testing.assert_array_equal(ym, onnx_ref("GlobalMaxPool", x)[0])


def test_global_pool_types():
    t = infer("GlobalAveragePool", ("N", 64, "H", "W"))
    assert t.shape == ("N", 64, 1, 1) and t.dtype.name == "f32"
    assert infer("GlobalMaxPool", ("N", 8, 5, 5, 5), dtype="f16").shape == ("N", 8, 1, 1, 1)
    (y,) = run("GlobalAveragePool", rand((1, 2, 3, 3), np.float16))
    assert y.dtype == np.float16
    with pytest.raises(ShapeInferenceError, match="rank >= 3"):
        infer("GlobalAveragePool", (2, 3))
    with pytest.raises(ShapeInferenceError, match="dtype i32"):
        infer("GlobalMaxPool", (1, 2, 3), dtype="i32")
    with pytest.raises(ShapeInferenceError, match="p must be >= 1"):
        infer("GlobalLpPool", (1, 2, 3), p=0)


# ---- shapes, dtypes, errors --------------------------------------------------------------------

def test_pool_shape_inference():
    assert infer("MaxPool", ("N", 64, 112, 112), kernel_shape=[3, 3], strides=[2, 2],
                 pads=[1, 1, 1, 1]).shape == ("N", 64, 56, 56)
    assert infer("AveragePool", ("N", 3, "H", "W"), kernel_shape=[3, 3],
                 pads=[1, 1, 1, 1]).shape == ("N", 3, "?", "?")
    assert infer("AveragePool", ("N", 3, "H", "W"), kernel_shape=[1, 1]).shape == ("N", 3, "H", "W")
    assert infer("MaxPool", ("N", 3, "H", 9), kernel_shape=[3, 3],
                 auto_pad="SAME_UPPER").shape == ("N", 3, "H", 9)
    assert infer("LpPool", ("N", 3, 7, 7), kernel_shape=[3, 3], strides=[2, 2],
                 ceil_mode=1).shape == ("N", 3, 3, 3)
    y, i = infer("MaxPool", ("N", 3, 8, 8), num_outputs=2, kernel_shape=[2, 2], strides=[2, 2])
    assert y.shape == i.shape == ("N", 3, 4, 4)
    assert y.dtype.name == "f32" and i.dtype.name == "i64"
    assert infer("MaxPool", (1, 3, 8), dtype="u8", kernel_shape=[2]).dtype.name == "u8"


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_pool_float_dtypes(dtype):
    x = rand((1, 2, 5, 5), dtype)
    for op in ("MaxPool", "AveragePool", "LpPool"):
        (y,) = run(op, x, kernel_shape=[2, 2], pads=[1, 1, 0, 0])
        assert y.dtype == dtype
        kind = {"MaxPool": "max", "AveragePool": "avg", "LpPool": "lp"}[op]
        ref = brute_pool(x.astype(np.float64), kind, [2, 2], pads=[1, 1, 0, 0])[0]
        np.testing.assert_allclose(y.astype(np.float64), ref, rtol=2e-3, atol=2e-3)


def test_pool_empty_batch():
    (y,) = run("AveragePool", np.zeros((0, 2, 4, 4), np.float32), kernel_shape=[2, 2])
    assert y.shape == (0, 2, 3, 3)
    y, i = run("MaxPool", np.zeros((0, 2, 4, 4), np.float32), 2, kernel_shape=[2, 2])
    assert y.shape == i.shape == (0, 2, 3, 3)


@pytest.mark.parametrize("op,shape,dtype,attrs,msg", [
    ("MaxPool", (1, 3, 8, 8), "f32", {}, "kernel_shape is required"),
    ("MaxPool", (1, 3, 8, 8), "f32", dict(kernel_shape=[3]), "kernel_shape [3] has 1 values"),
    ("MaxPool", (1, 3, 8, 8), "f32", dict(kernel_shape=[0, 3]), "must be positive"),
    ("MaxPool", (1, 3, 8, 8), "f32", dict(kernel_shape=[3, 3], pads=[1, 1]), "pads has 2 values"),
    ("MaxPool", (1, 3, 8, 8), "f32", dict(kernel_shape=[3, 3], strides=[2]), "strides has 1"),
    ("MaxPool", (1, 3, 8, 8), "f32", dict(kernel_shape=[3, 3], dilations=[0, 1]), ">= 1"),
    ("MaxPool", (1, 3, 8, 8), "f32", dict(kernel_shape=[3, 3], ceil_mode=2), "ceil_mode must"),
    ("MaxPool", (1, 3, 8, 8), "f32", dict(kernel_shape=[3, 3], storage_order=3),
     "storage_order must"),
    ("MaxPool", (1, 3, 8, 8), "i32", dict(kernel_shape=[3, 3]), "dtype i32"),
    ("MaxPool", (3, 8), "f32", dict(kernel_shape=[3]), "rank >= 3"),
    ("MaxPool", (1, 3, 2, 8), "f32", dict(kernel_shape=[3, 3]), "input length 2"),
    ("MaxPool", (1, 3, 8, 8), "f32", dict(kernel_shape=[3, 3], auto_pad="SAME_UPPER",
                                          pads=[1, 1, 1, 1]), "cannot be used together"),
    ("AveragePool", (1, 3, 8, 8), "u8", dict(kernel_shape=[3, 3]), "dtype u8"),
    ("AveragePool", (1, 3, 8, 8), "f32", dict(kernel_shape=[3, 3], count_include_pad=5),
     "count_include_pad must be 0 or 1"),
    ("AveragePool", (1, 3, 8, 8), "f32", dict(kernel_shape=[3, 3], auto_pad="FOO"),
     "auto_pad is 'FOO'"),
    ("LpPool", (1, 3, 8, 8), "f32", dict(kernel_shape=[3, 3], p=0), "p must be >= 1"),
])
def test_pool_errors(op, shape, dtype, attrs, msg):
    with pytest.raises(ShapeInferenceError) as e:
        infer(op, shape, dtype, **attrs)
    assert msg in str(e.value), str(e.value)
    assert op in str(e.value)
