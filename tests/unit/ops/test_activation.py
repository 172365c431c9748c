"""Activation functions: values (vs hand formulas and onnx's reference), dtypes, shape rules."""
import math

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

RNG = np.random.default_rng(1)
F = np.float32


def run1(op, *inputs, **attrs):
    g = Graph()
    vals, feeds = [], {}
    for i, a in enumerate(inputs):
        a = np.asarray(a)
        vals.append(g.add_input(f"x{i}", T(from_numpy(a.dtype), a.shape)))
        feeds[f"x{i}"] = a
    y = g.op(op, *vals, **attrs)
    g.set_outputs([y])
    r = run_graph(g, feeds)[y.name]
    assert r.shape == y.type.shape and r.dtype == y.type.dtype.np_dtype
    return r


def infer(op, *types, **attrs):
    g = Graph()
    return g.op(op, *[g.add_input(f"x{i}", t) for i, t in enumerate(types)], **attrs).type


def onnx_ref(op, *inputs, **attrs):
    names = [f"x{i}" for i in range(len(inputs))]
    node = helper.make_node(op, names, ["y"], **attrs)
    return ReferenceEvaluator(node).run(None, dict(zip(names, inputs)))[0]


def _sig(x):
    return 1 / (1 + np.exp(-x))


_erf = np.vectorize(math.erf)
X = (RNG.standard_normal((3, 5)) * 4).astype(F)
X64 = X.astype(np.float64)
CASES = [
    ("Relu", {}, lambda x: np.maximum(x, 0)),
    ("LeakyRelu", {}, lambda x: np.where(x < 0, 0.01 * x, x)),
    ("LeakyRelu", {"alpha": 0.3}, lambda x: np.where(x < 0, 0.3 * x, x)),
    ("Sigmoid", {}, _sig),
    ("HardSigmoid", {}, lambda x: np.clip(0.2 * x + 0.5, 0, 1)),
    ("HardSigmoid", {"alpha": 0.5, "beta": 0.1}, lambda x: np.clip(0.5 * x + 0.1, 0, 1)),
    ("HardSwish", {}, lambda x: x * np.clip(x / 6 + 0.5, 0, 1)),
    ("Tanh", {}, np.tanh),
    ("Softplus", {}, lambda x: np.log1p(np.exp(x))),
    ("Softsign", {}, lambda x: x / (1 + np.abs(x))),
    ("Elu", {}, lambda x: np.where(x < 0, np.exp(x) - 1, x)),
    ("Elu", {"alpha": 0.5}, lambda x: np.where(x < 0, 0.5 * (np.exp(x) - 1), x)),
    ("Selu", {},
     lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1))),
    ("Celu", {"alpha": 2.0}, lambda x: np.maximum(x, 0) + np.minimum(0, 2 * (np.exp(x / 2) - 1))),
    ("Mish", {}, lambda x: x * np.tanh(np.log1p(np.exp(x)))),
    ("ThresholdedRelu", {}, lambda x: np.where(x > 1, x, 0)),
    ("ThresholdedRelu", {"alpha": 2.5}, lambda x: np.where(x > 2.5, x, 0)),
    ("Swish", {}, lambda x: x * _sig(x)),
    ("Swish", {"alpha": 1.702}, lambda x: x * _sig(1.702 * x)),
    ("Gelu", {}, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    ("Gelu", {"approximate": "tanh"},
     lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
]


@pytest.mark.parametrize("op,attrs,fn", CASES, ids=[f"{c[0]}{c[1]}" for c in CASES])
def test_activation_values(op, attrs, fn):
    r = run1(op, X, **attrs)
    assert r.dtype == F
    np.testing.assert_allclose(r, fn(X64), rtol=1e-5, atol=1e-6)
    if op not in ("Gelu", "Swish"):   # no bare-node reference implementation for these
        np.testing.assert_allclose(r, onnx_ref(op, X, **attrs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", sorted({c[0] for c in CASES}))
def test_activation_f16_f64_and_symbolic(op):
    h = run1(op, X.astype(np.float16))
    assert h.dtype == np.float16
    ref = run1(op, X.astype(np.float16).astype(np.float64))
    assert ref.dtype == np.float64
    np.testing.assert_allclose(h.astype(np.float64), ref, rtol=2e-3, atol=2e-3)
    assert infer(op, T("f32", ("N", 7))) == T("f32", ("N", 7))
    assert OPS[op].kind == OpKind.ELEMWISE
    empty = run1(op, np.zeros((0, 3), F))
    assert empty.shape == (0, 3)


@pytest.mark.parametrize("op", ["Sigmoid", "Softplus", "Mish", "Swish", "Elu", "Selu", "Celu",
                                "Gelu"])
def test_activation_extremes_are_finite(op):
    x = np.array([-1e4, -100.0, 100.0, 1e4], F)
    with np.errstate(all="raise"):
        r = run1(op, x)
    assert np.all(np.isfinite(r)), r
    expect = {"Sigmoid": 1.0, "Selu": 1.0507009873554805e4}.get(op, 1e4)
    assert r[-1] == pytest.approx(expect, rel=1e-6)


def test_relu_integer_and_errors():
    np.testing.assert_array_equal(run1("Relu", np.array([-3, 0, 4], np.int8)), [0, 0, 4])
    assert run1("Relu", np.array(-2.0, F)) == 0 and run1("Relu", np.array(-2.0, F)).shape == ()
    with pytest.raises(ShapeInferenceError, match="Relu node.*dtype u8"):
        infer("Relu", T("u8", (2,)))
    with pytest.raises(ShapeInferenceError, match="dtype i32; expected one of f16, f32, f64"):
        infer("Sigmoid", T("i32", (2,)))


def test_gelu_bad_approximate():
    with pytest.raises(ShapeInferenceError, match="approximate must be 'none' or 'tanh'"):
        infer("Gelu", T("f32", (2,)), approximate="erf")


def test_prelu_unidirectional_broadcast():
    x = RNG.standard_normal((2, 3, 4)).astype(F)
    slope = np.array([[0.1], [0.2], [0.3]], F)         # (3, 1) -> (2, 3, 4)
    r = run1("PRelu", x, slope)
    np.testing.assert_allclose(r, np.where(x < 0, x * slope, x), rtol=1e-6)
    np.testing.assert_allclose(r, onnx_ref("PRelu", x, slope), rtol=1e-6)
    r = run1("PRelu", np.array([-4, 3], np.int32), np.array([2], np.int32))
    np.testing.assert_array_equal(r, [-8, 3])
    assert infer("PRelu", T("f32", ("N", 3, 4)), T("f32", (3, 1))) == T("f32", ("N", 3, 4))
    assert OPS["PRelu"].kind == OpKind.BROADCAST


def test_prelu_errors():
    with pytest.raises(ShapeInferenceError, match=r"slope of shape \[2, 3, 4\] is not"):
        infer("PRelu", T("f32", (3, 4)), T("f32", (2, 3, 4)))   # would grow X
    with pytest.raises(ShapeInferenceError, match="not unidirectionally"):
        infer("PRelu", T("f32", (3, 4)), T("f32", (3,)))
    with pytest.raises(ShapeInferenceError, match="input 1 has dtype f64"):
        infer("PRelu", T("f32", (3, 4)), T("f64", (4,)))
