"""Softmax, LogSoftmax, LayerNormalization, BatchNormalization, InstanceNormalization,
LpNormalization."""
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

RNG = np.random.default_rng(3)
F = np.float32


def run(op, *inputs, num_outputs=1, **attrs):
    g = Graph()
    vals, feeds = [], {}
    for i, a in enumerate(inputs):
        if a is None:
            vals.append(None)
            continue
        vals.append(g.add_input(f"x{i}", T(from_numpy(a.dtype), a.shape)))
        feeds[f"x{i}"] = a
    out = g.op(op, *vals, n_outputs=num_outputs, **attrs)
    outs = list(out) if isinstance(out, tuple) else [out]
    g.set_outputs(outs)
    res = run_graph(g, feeds)
    arrays = [res[o.name] for o in outs]
    for a, o in zip(arrays, outs):
        assert a.shape == o.type.shape and a.dtype == o.type.dtype.np_dtype, (a.shape, o.type)
    return arrays


def run1(op, *inputs, **attrs):
    return run(op, *inputs, **attrs)[0]


def infer(op, *types, num_outputs=1, **attrs):
    g = Graph()
    vals = [None if t is None else g.add_input(f"x{i}", t) for i, t in enumerate(types)]
    out = g.op(op, *vals, n_outputs=num_outputs, **attrs)
    return [o.type for o in out] if isinstance(out, tuple) else out.type


def onnx_ref(op, *inputs, num_outputs=1, **attrs):
    names = [f"x{i}" if a is not None else "" for i, a in enumerate(inputs)]
    node = helper.make_node(op, names, [f"y{j}" for j in range(num_outputs)], **attrs)
    feeds = {n: a for n, a in zip(names, inputs) if a is not None}
    return ReferenceEvaluator(node).run(None, feeds)


X = RNG.standard_normal((2, 3, 4, 5)).astype(F)


# ---- Softmax / LogSoftmax ------------------------------------------------------------------
def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [0, 1, -1, -4])
def test_softmax_logsoftmax(axis):
    x = X * 5
    s = run1("Softmax", x, axis=axis)
    np.testing.assert_allclose(s, _softmax(x.astype(np.float64), axis), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=1e-5)
    np.testing.assert_allclose(s, onnx_ref("Softmax", x, axis=axis)[0], rtol=1e-5, atol=1e-7)
    ls = run1("LogSoftmax", x, axis=axis)
    np.testing.assert_allclose(ls, np.log(_softmax(x.astype(np.float64), axis)), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(ls, onnx_ref("LogSoftmax", x, axis=axis)[0], rtol=1e-5, atol=1e-5)


def test_softmax_default_axis_is_last_and_stable():
    x = np.array([[1000.0, 1001.0], [-1000.0, -1001.0]], F)
    s = run1("Softmax", x)
    np.testing.assert_allclose(s, [[0.26894142, 0.73105858], [0.73105858, 0.26894142]], rtol=1e-6)
    ls = run1("LogSoftmax", x)
    assert np.all(np.isfinite(ls))
    np.testing.assert_allclose(ls[0], [-1.31326169, -0.31326169], rtol=1e-6)
    h = run1("Softmax", x.astype(np.float16))
    assert h.dtype == np.float16
    np.testing.assert_allclose(h.astype(F), s, atol=1e-3)
    assert run1("Softmax", np.zeros((0, 4), F)).shape == (0, 4)


def test_softmax_shape_rules_and_errors():
    assert infer("Softmax", T("f32", ("B", "S", 8))) == T("f32", ("B", "S", 8))
    assert OPS["Softmax"].kind == OpKind.OPAQUE and OPS["LogSoftmax"].kind == OpKind.OPAQUE
    with pytest.raises(ShapeInferenceError, match="axis 2 is out of range for rank 2"):
        infer("Softmax", T("f32", (2, 3)), axis=2)
    with pytest.raises(ShapeInferenceError, match="LogSoftmax node.*dtype i64"):
        infer("LogSoftmax", T("i64", (2, 3)))


# ---- LayerNormalization --------------------------------------------------------------------
def _layernorm(x, scale, bias, axis, eps=1e-5):
    axes = tuple(range(axis % x.ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    inv = 1 / np.sqrt(var + eps)
    y = (x - mean) * inv * scale + (0 if bias is None else bias)
    return y, mean, inv


@pytest.mark.parametrize("axis", [-1, 2, 1])
def test_layernorm_three_outputs(axis):
    nshape = X.shape[axis:] if axis >= 0 else X.shape[axis:]
    scale = RNG.standard_normal(nshape).astype(F)
    bias = RNG.standard_normal(nshape).astype(F)
    y, mean, inv = run("LayerNormalization", X, scale, bias, num_outputs=3, axis=axis)
    ey, emean, einv = _layernorm(X.astype(np.float64), scale, bias, axis)
    np.testing.assert_allclose(y, ey, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mean, emean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inv, einv, rtol=1e-5)
    ref = onnx_ref("LayerNormalization", X, scale, bias, num_outputs=3, axis=axis)
    for ours, theirs in zip((y, mean, inv), ref):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
        assert ours.shape == theirs.shape


def test_layernorm_no_bias_epsilon_f16():
    scale = np.full((5,), 2.0, F)
    y = run1("LayerNormalization", X, scale, None, epsilon=0.5)
    np.testing.assert_allclose(y, _layernorm(X.astype(np.float64), 2.0, None, -1, 0.5)[0],
                               rtol=1e-5, atol=1e-5)
    y2 = run1("LayerNormalization", X, scale)        # B omitted entirely
    np.testing.assert_allclose(y2, _layernorm(X.astype(np.float64), 2.0, None, -1)[0],
                               rtol=1e-5, atol=1e-5)
    h, mean, inv = run("LayerNormalization", X.astype(np.float16), scale.astype(np.float16),
                       num_outputs=3)
    assert h.dtype == np.float16 and mean.dtype == F and inv.dtype == F
    np.testing.assert_allclose(h.astype(F), y2, atol=2e-2)


def test_layernorm_shape_rules_and_errors():
    types = infer("LayerNormalization", T("f16", ("B", "S", 64)), T("f16", (64,)), None,
                  num_outputs=3)
    assert types == [T("f16", ("B", "S", 64)), T("f32", ("B", "S", 1)), T("f32", ("B", "S", 1))]
    assert infer("LayerNormalization", T("f32", ("B", 4, 8)), T("f32", (4, 8)), axis=1,
                 num_outputs=2)[1] == T("f32", ("B", 1, 1))
    with pytest.raises(ShapeInferenceError, match=r"Scale of shape \[7\] is not unidirectionally"):
        infer("LayerNormalization", T("f32", (2, 8)), T("f32", (7,)))
    with pytest.raises(ShapeInferenceError, match="axis 3 is out of range for rank 2"):
        infer("LayerNormalization", T("f32", (2, 8)), T("f32", (8,)), axis=3)
    with pytest.raises(ShapeInferenceError, match="input 1 has dtype f16, but input 0 has f32"):
        infer("LayerNormalization", T("f32", (2, 8)), T("f16", (8,)))
    with pytest.raises(ShapeInferenceError, match="stash_type"):
        infer("LayerNormalization", T("f32", (2, 8)), T("f32", (8,)), stash_type=16)
    assert OPS["LayerNormalization"].kind == OpKind.OPAQUE


# ---- BatchNormalization --------------------------------------------------------------------
def _bn_params(c, dtype=F):
    scale = (RNG.random(c) + 0.5).astype(dtype)
    bias = RNG.standard_normal(c).astype(dtype)
    mean = RNG.standard_normal(c).astype(dtype)
    var = (RNG.random(c) + 0.1).astype(dtype)
    return scale, bias, mean, var


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3), (1, 3, 7)])
def test_batchnorm_inference(shape):
    x = RNG.standard_normal(shape).astype(F)
    s, b, m, v = _bn_params(3)
    y = run1("BatchNormalization", x, s, b, m, v, epsilon=1e-3)
    bc = (1, 3) + (1,) * (len(shape) - 2)
    expect = (x - m.reshape(bc)) / np.sqrt(v.reshape(bc) + 1e-3) * s.reshape(bc) + b.reshape(bc)
    np.testing.assert_allclose(y, expect, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y, onnx_ref("BatchNormalization", x, s, b, m, v, epsilon=1e-3)[0],
                               rtol=1e-5, atol=1e-5)


def test_batchnorm_mixed_param_dtypes_and_f16():
    x = RNG.standard_normal((2, 3, 4)).astype(np.float16)
    s, b, m, v = _bn_params(3, F)
    y = run1("BatchNormalization", x, s, b, m.astype(np.float64), v.astype(np.float64))
    assert y.dtype == np.float16
    bc = (1, 3, 1)
    expect = (x.astype(F) - m.reshape(bc)) / np.sqrt(v.reshape(bc) + 1e-5) * s.reshape(bc) \
        + b.reshape(bc)
    np.testing.assert_allclose(y.astype(F), expect, atol=1e-2)


def test_batchnorm_errors():
    xt, p = T("f32", ("N", 3, 8, 8)), T("f32", (3,))
    assert infer("BatchNormalization", xt, p, p, p, p) == xt
    assert OPS["BatchNormalization"].kind == OpKind.BROADCAST
    with pytest.raises(ShapeInferenceError, match="training mode.*unsupported"):
        infer("BatchNormalization", xt, p, p, p, p, training_mode=1)
    with pytest.raises(ShapeInferenceError, match="1 output"):
        infer("BatchNormalization", xt, p, p, p, p, num_outputs=3)
    with pytest.raises(ShapeInferenceError, match=r"input 3 \(input_mean\) must have shape \[3\]"):
        infer("BatchNormalization", xt, p, p, T("f32", (4,)), p)
    with pytest.raises(ShapeInferenceError, match="rank >= 2"):
        infer("BatchNormalization", T("f32", (3,)), p, p, p, p)
    with pytest.raises(ShapeInferenceError, match="input 2 has dtype f64"):
        infer("BatchNormalization", xt, p, T("f64", (3,)), p, p)


# ---- InstanceNormalization -----------------------------------------------------------------
def test_instancenorm():
    s, b = (RNG.random(3) + 0.5).astype(F), RNG.standard_normal(3).astype(F)
    y = run1("InstanceNormalization", X, s, b, epsilon=1e-4)
    xd = X.astype(np.float64)
    mean = xd.mean(axis=(2, 3), keepdims=True)
    var = xd.var(axis=(2, 3), keepdims=True)
    expect = (xd - mean) / np.sqrt(var + 1e-4) * s.reshape(1, 3, 1, 1) + b.reshape(1, 3, 1, 1)
    np.testing.assert_allclose(y, expect, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y, onnx_ref("InstanceNormalization", X, s, b, epsilon=1e-4)[0],
                               rtol=1e-5, atol=1e-5)
    x3 = X[:, :, :, 0].copy()
    assert run1("InstanceNormalization", x3, s, b).shape == x3.shape


def test_instancenorm_errors():
    p = T("f32", (3,))
    assert infer("InstanceNormalization", T("f32", ("N", 3, "H", "W")), p, p) == \
        T("f32", ("N", 3, "H", "W"))
    with pytest.raises(ShapeInferenceError, match="rank >= 3"):
        infer("InstanceNormalization", T("f32", (2, 3)), p, p)
    with pytest.raises(ShapeInferenceError, match=r"input 1 \(scale\) must have shape \[3\]"):
        infer("InstanceNormalization", T("f32", (2, 3, 4)), T("f32", (4,)), p)


# ---- LpNormalization -----------------------------------------------------------------------
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("axis", [0, -1, 1])
def test_lpnorm(p, axis):
    x = X[0]
    y = run1("LpNormalization", x, p=p, axis=axis)
    norm = np.linalg.norm(x.astype(np.float64), ord=p, axis=axis, keepdims=True) if p == 2 else \
        np.abs(x.astype(np.float64)).sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(y, x / norm, rtol=1e-5, atol=1e-6)


def test_lpnorm_zero_vector_and_errors():
    x = np.array([[0.0, 0.0], [3.0, 4.0]], F)
    np.testing.assert_allclose(run1("LpNormalization", x), [[0, 0], [0.6, 0.8]], rtol=1e-6)
    np.testing.assert_allclose(run1("LpNormalization", x, p=1), [[0, 0], [3 / 7, 4 / 7]],
                               rtol=1e-6)
    with pytest.raises(ShapeInferenceError, match="p must be 1 or 2"):
        infer("LpNormalization", T("f32", (2, 2)), p=3)
    with pytest.raises(ShapeInferenceError, match="axis -3 is out of range"):
        infer("LpNormalization", T("f32", (2, 2)), axis=-3)
