"""Elementwise, broadcasting, comparison/logic, unary math, Cast/CastLike/Where/Clip."""
import math

import numpy as np
import pytest
from onnx import helper
from onnx.reference import ReferenceEvaluator

from backends.reference import run_graph
from compiler.errors import ShapeInferenceError
from compiler.ir.dtypes import from_numpy
from compiler.ir.graph import Graph
from compiler.ir.types import TensorType
from compiler.ops import OPS, OpKind
from compiler.ops.elementwise import ONNX_DTYPE
from compiler.ops.math_unary import erf

RNG = np.random.default_rng(0)


def run(op, *inputs, consts=(), num_outputs=1, **attrs):
    """Run a one-node graph; inputs at positions in `consts` become graph constants.
    Returns (list of result arrays, list of inferred output types)."""
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
    for a, o in zip(arrays, outs):   # the shape rule must predict the kernel's result
        assert a.shape == o.type.shape and a.dtype == o.type.dtype.np_dtype
    return arrays, [o.type for o in outs]


def run1(op, *inputs, **kw):
    return run(op, *inputs, **kw)[0][0]


def infer(op, *types, num_outputs=1, **attrs):
    g = Graph()
    vals = [None if t is None else g.add_input(f"x{i}", t) for i, t in enumerate(types)]
    out = g.op(op, *vals, n_outputs=num_outputs, **attrs)
    return [o.type for o in out] if isinstance(out, tuple) else out.type


def onnx_ref(op, *inputs, **attrs):
    names = [f"x{i}" if a is not None else "" for i, a in enumerate(inputs)]
    node = helper.make_node(op, names, ["y"], **attrs)
    feeds = {n: np.asarray(a) for n, a in zip(names, inputs) if a is not None}
    return ReferenceEvaluator(node).run(None, feeds)[0]


T = TensorType
F = np.float32


# ---- binary arithmetic ---------------------------------------------------------------------
@pytest.mark.parametrize("op,fn", [("Add", np.add), ("Sub", np.subtract), ("Mul", np.multiply),
                                   ("Div", np.divide)])
def test_binary_float_broadcast(op, fn):
    a = RNG.standard_normal((2, 3, 4)).astype(F)
    b = RNG.standard_normal((3, 1)).astype(F) + 3
    r = run1(op, a, b)
    assert r.shape == (2, 3, 4) and r.dtype == F
    np.testing.assert_allclose(r, fn(a, b), rtol=1e-6)
    np.testing.assert_allclose(r, onnx_ref(op, a, b), rtol=1e-6)


def test_binary_rank0_and_empty():
    assert run1("Add", np.array(2, np.int64), np.array(3, np.int64)) == 5
    r = run1("Mul", np.zeros((0, 3), F), np.ones((3,), F))
    assert r.shape == (0, 3)


def test_integer_arithmetic_wraps_and_keeps_dtype():
    a = np.array([120, -128], np.int8)
    b = np.array([10, -1], np.int8)
    np.testing.assert_array_equal(run1("Add", a, b), np.array([-126, 127], np.int8))
    np.testing.assert_array_equal(run1("Mul", np.array([200], np.uint8), np.array([2], np.uint8)),
                                  np.array([144], np.uint8))


def test_integer_div_truncates_toward_zero():
    a = np.array([7, -7, 7, -7, 6, -6, 0], np.int32)
    b = np.array([2, 2, -2, -2, 3, -3, 5], np.int32)
    r = run1("Div", a, b)
    assert r.dtype == np.int32
    np.testing.assert_array_equal(r, [3, -3, -3, 3, 2, 2, 0])
    r = run1("Div", np.array([7], np.uint16), np.array([2], np.uint16))
    np.testing.assert_array_equal(r, [3])


def test_pow_mixed_dtypes():
    x = np.array([1.5, 2.0, 4.0], F)
    r = run1("Pow", x, np.array([2, 3, -1], np.int64))
    assert r.dtype == F
    np.testing.assert_allclose(r, [2.25, 8.0, 0.25])
    r = run1("Pow", np.array([2, 3, -2], np.int32), np.array([10, 2, 3], np.int64))
    assert r.dtype == np.int32
    np.testing.assert_array_equal(r, [1024, 9, -8])
    # integer base, negative exponent: C's trunc(pow(x, y))
    np.testing.assert_array_equal(run1("Pow", np.array([2, 1, -1], np.int64),
                                       np.array([-1, -3, -3], np.int64)), [0, 1, -1])
    r = run1("Pow", np.array([4, 9], np.int64), np.array(0.5, F))
    np.testing.assert_array_equal(r, [2, 3])
    h = np.array([3.0], np.float16)
    assert run1("Pow", h, np.array([2.0], F)).dtype == np.float16
    assert infer("Pow", T("i64", (2, 1)), T("f32", (3,))) == T("i64", (2, 3))


@pytest.mark.parametrize("fmod", [0, 1])
def test_mod(fmod):
    a = np.array([5, -5, 5, -5, 4], np.int32)
    b = np.array([3, 3, -3, -3, 2], np.int32)
    r = run1("Mod", a, b, fmod=fmod)
    expect = [2, -2, 2, -2, 0] if fmod else [2, 1, -1, -2, 0]
    np.testing.assert_array_equal(r, expect)
    np.testing.assert_array_equal(r, onnx_ref("Mod", a, b, fmod=fmod))
    fa, fb = np.array([5.5, -5.5], F), np.array([2.0, 2.0], F)
    np.testing.assert_allclose(run1("Mod", fa, fb, fmod=fmod), [1.5, -1.5] if fmod else [1.5, 0.5])


def test_mod_bad_attr():
    with pytest.raises(ShapeInferenceError, match="fmod must be 0 or 1"):
        infer("Mod", T("i32", (2,)), T("i32", (2,)), fmod=2)


# ---- variadic ------------------------------------------------------------------------------
def test_variadic_max_min_sum_mean():
    a = RNG.standard_normal((2, 1, 3)).astype(F)
    b = RNG.standard_normal((4, 1)).astype(F)
    c = RNG.standard_normal((3,)).astype(F)
    np.testing.assert_allclose(run1("Max", a, b, c), np.maximum(np.maximum(a, b), c))
    np.testing.assert_allclose(run1("Min", a, b, c), np.minimum(np.minimum(a, b), c))
    np.testing.assert_allclose(run1("Sum", a, b, c), a + b + c, rtol=1e-6)
    np.testing.assert_allclose(run1("Mean", a, b, c), (a + b + c) / 3, rtol=1e-6)
    assert run1("Mean", a, b, c).shape == (2, 4, 3)
    one = run1("Max", a)
    np.testing.assert_array_equal(one, a)
    np.testing.assert_array_equal(run1("Max", np.array([1, 5], np.uint8), np.array([3], np.uint8)),
                                  [3, 5])
    h = np.array([1.0, 2.0], np.float16)
    assert run1("Mean", h, h).dtype == np.float16


def test_variadic_errors():
    with pytest.raises(ShapeInferenceError, match="dtype"):
        infer("Mean", T("i32", (2,)), T("i32", (2,)))      # Mean is float-only
    with pytest.raises(ShapeInferenceError, match="input 2 has dtype f64"):
        infer("Sum", T("f32", (2,)), T("f32", (2,)), T("f64", (2,)))
    with pytest.raises(ShapeInferenceError, match="do not broadcast"):
        infer("Max", T("f32", (2,)), T("f32", (3,)))


# ---- comparison and logic ------------------------------------------------------------------
@pytest.mark.parametrize("op,fn", [("Equal", np.equal), ("Less", np.less),
                                   ("LessOrEqual", np.less_equal), ("Greater", np.greater),
                                   ("GreaterOrEqual", np.greater_equal)])
def test_comparisons(op, fn):
    a = RNG.integers(-2, 3, (2, 3)).astype(np.int64)
    b = RNG.integers(-2, 3, (3,)).astype(np.int64)
    r = run1(op, a, b)
    assert r.dtype == np.bool_
    np.testing.assert_array_equal(r, fn(a, b))
    assert infer(op, T("f16", ("N", 3)), T("f16", (3,))) == T("bool", ("N", 3))


def test_equal_on_bool_but_less_rejects_bool():
    r = run1("Equal", np.array([True, False]), np.array([True, True]))
    np.testing.assert_array_equal(r, [True, False])
    with pytest.raises(ShapeInferenceError, match="bool"):
        infer("Less", T("bool", (2,)), T("bool", (2,)))


@pytest.mark.parametrize("op,fn", [("And", np.logical_and), ("Or", np.logical_or),
                                   ("Xor", np.logical_xor)])
def test_logic(op, fn):
    a = np.array([[True, False], [True, True]])
    b = np.array([True, False])
    np.testing.assert_array_equal(run1(op, a, b), fn(a, b))
    with pytest.raises(ShapeInferenceError, match="expected one of bool"):
        infer(op, T("i32", (2,)), T("i32", (2,)))


def test_not():
    np.testing.assert_array_equal(run1("Not", np.array([True, False])), [False, True])
    with pytest.raises(ShapeInferenceError):
        infer("Not", T("f32", (2,)))


# ---- shape rules ---------------------------------------------------------------------------
def test_broadcast_symbolic_dims():
    assert infer("Add", T("f32", ("N", 1, 4)), T("f32", (3, 1))) == T("f32", ("N", 3, 4))
    assert infer("Sub", T("f32", ("N",)), T("f32", ("M",))) == T("f32", ("?",))
    assert infer("Mul", T("f32", ("N", 5)), T("f32", (1,))) == T("f32", ("N", 5))


def test_binary_errors():
    with pytest.raises(ShapeInferenceError, match=r"input 1 has dtype f64, but input 0 has f32"):
        infer("Add", T("f32", (2,)), T("f64", (2,)))
    with pytest.raises(ShapeInferenceError, match=r"do not broadcast.*\[2, 3\] vs \[4\]"):
        infer("Sub", T("f32", (2, 3)), T("f32", (4,)))
    with pytest.raises(ShapeInferenceError, match="expected one of"):
        infer("Add", T("bool", (2,)), T("bool", (2,)))
    with pytest.raises(ShapeInferenceError, match="Mul node"):
        infer("Mul", T("f32", (2,)), T("i32", (2,)))


def test_kinds_and_commutativity():
    assert OPS["Add"].kind == OpKind.BROADCAST and OPS["Add"].commutative
    assert not OPS["Sub"].commutative and not OPS["Div"].commutative
    for op in ("Mul", "Max", "Min", "Sum", "Mean", "And", "Or", "Xor", "Equal"):
        assert OPS[op].commutative, op
    assert OPS["Exp"].kind == OpKind.ELEMWISE and OPS["Cast"].kind == OpKind.ELEMWISE
    assert OPS["Where"].kind == OpKind.BROADCAST


# ---- unary math ----------------------------------------------------------------------------
_X = RNG.standard_normal((3, 4)).astype(F)
_POS = np.abs(_X) + 0.1
_UNIT = np.tanh(_X) * 0.9
UNARY = [("Neg", _X, np.negative), ("Abs", _X, np.abs), ("Sign", _X, np.sign),
         ("Exp", _X, np.exp), ("Log", _POS, np.log), ("Sqrt", _POS, np.sqrt),
         ("Reciprocal", _POS, np.reciprocal), ("Floor", _X * 3, np.floor),
         ("Ceil", _X * 3, np.ceil), ("Sin", _X, np.sin), ("Cos", _X, np.cos), ("Tan", _X, np.tan),
         ("Asin", _UNIT, np.arcsin), ("Acos", _UNIT, np.arccos), ("Atan", _X, np.arctan),
         ("Sinh", _X, np.sinh), ("Cosh", _X, np.cosh), ("Asinh", _X, np.arcsinh),
         ("Acosh", _POS + 1, np.arccosh), ("Atanh", _UNIT, np.arctanh)]


@pytest.mark.parametrize("op,x,fn", UNARY, ids=[u[0] for u in UNARY])
def test_unary_math(op, x, fn):
    r = run1(op, x)
    assert r.dtype == F and r.shape == x.shape
    np.testing.assert_allclose(r, fn(x.astype(np.float64)), rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(r, onnx_ref(op, x), rtol=2e-6, atol=1e-6)
    h = run1(op, x.astype(np.float16))
    assert h.dtype == np.float16
    np.testing.assert_allclose(h.astype(np.float64), fn(x.astype(np.float16).astype(np.float64)),
                               rtol=2e-3, atol=2e-3)
    assert infer(op, T("f64", ("B", 4))) == T("f64", ("B", 4))


@pytest.mark.parametrize("op", ["Exp", "Log", "Sqrt", "Sin", "Erf", "Floor", "Round",
                                "Reciprocal", "IsNaN"])
def test_float_only_math_rejects_ints(op):
    with pytest.raises(ShapeInferenceError, match=r"input 0 has dtype i32; expected one of f16"):
        infer(op, T("i32", (2,)))


def test_integer_unary():
    a = np.array([-3, 0, 5, -128], np.int8)
    np.testing.assert_array_equal(run1("Neg", a[:3]), [3, 0, -5])
    np.testing.assert_array_equal(run1("Abs", a[:3]), [3, 0, 5])
    np.testing.assert_array_equal(run1("Sign", a), [-1, 0, 1, -1])
    np.testing.assert_array_equal(run1("Sign", np.array([0, 7], np.uint32)), [0, 1])
    with pytest.raises(ShapeInferenceError):
        infer("Neg", T("u8", (2,)))           # ONNX Neg has no unsigned types


def test_round_half_to_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1.2, -2.7], F)
    np.testing.assert_array_equal(run1("Round", x), [0, 2, 2, -0, -2, 1, -3])


def test_erf_accuracy_and_special_values():
    x = np.linspace(-6, 6, 20001)
    expect = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(erf(x) - expect)) < 1e-13
    x32 = x.astype(F)
    r = run1("Erf", x32)
    assert r.dtype == F
    exact32 = np.array([math.erf(float(v)) for v in x32])
    assert np.max(np.abs(r.astype(np.float64) - exact32)) < 1e-7
    special = run1("Erf", np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 30.0], F))
    np.testing.assert_array_equal(special[:4], [0, -0.0, 1, -1])
    assert np.isnan(special[4]) and special[5] == 1.0
    assert np.signbit(special[1])
    assert run1("Erf", np.array([0.5], np.float16)).dtype == np.float16


def test_isnan_isinf():
    x = np.array([1.0, np.nan, np.inf, -np.inf], F)
    np.testing.assert_array_equal(run1("IsNaN", x), [False, True, False, False])
    np.testing.assert_array_equal(run1("IsInf", x), [False, False, True, True])
    np.testing.assert_array_equal(run1("IsInf", x, detect_negative=0), [False, False, True, False])
    np.testing.assert_array_equal(run1("IsInf", x, detect_positive=0), [False, False, False, True])
    assert infer("IsInf", T("f16", ("N",))) == T("bool", ("N",))


# ---- Cast / CastLike -----------------------------------------------------------------------
def test_cast_table_matches_onnx():
    from onnx import TensorProto, helper as h
    for k, d in ONNX_DTYPE.items():
        assert np.dtype(h.tensor_dtype_to_np_dtype(k)) == d.np_dtype, (k, d)
    assert ONNX_DTYPE[TensorProto.FLOAT].name == "f32"


def test_cast():
    x = np.array([-2.7, -0.5, 0.0, 1.9, 300.0], F)
    r = run1("Cast", x, to=6)
    assert r.dtype == np.int32
    np.testing.assert_array_equal(r, [-2, 0, 0, 1, 300])
    np.testing.assert_array_equal(run1("Cast", x, to=9), [True, True, False, True, True])
    np.testing.assert_array_equal(run1("Cast", np.array([True, False]), to=1), [1.0, 0.0])
    np.testing.assert_array_equal(run1("Cast", np.array([200, -1], np.int16), to=3), [-56, -1])
    assert run1("Cast", x, to=10).dtype == np.float16
    assert infer("Cast", T("f32", ("N", 2)), to=7) == T("i64", ("N", 2))


def test_cast_bad_to():
    with pytest.raises(ShapeInferenceError, match="to=16 is not a supported"):
        infer("Cast", T("f32", (2,)), to=16)


def test_castlike():
    r, types = run("CastLike", np.array([1.7, -1.2], F), np.zeros((5, 5), np.int64))
    assert r[0].dtype == np.int64 and types[0] == T("i64", (2,))
    np.testing.assert_array_equal(r[0], [1, -1])


# ---- Where / Clip --------------------------------------------------------------------------
def test_where_broadcasts_three_ways():
    c = np.array([[True], [False]])
    x = np.arange(3, dtype=np.int64)
    y = np.array(-1, np.int64)
    r = run1("Where", c, x, y)
    np.testing.assert_array_equal(r, [[0, 1, 2], [-1, -1, -1]])
    assert infer("Where", T("bool", ("N", 1)), T("f32", (3,)), T("f32", ())) == T("f32", ("N", 3))
    with pytest.raises(ShapeInferenceError, match="condition"):
        infer("Where", T("f32", (2,)), T("f32", (2,)), T("f32", (2,)))
    with pytest.raises(ShapeInferenceError, match="input 2 has dtype i32"):
        infer("Where", T("bool", (2,)), T("f32", (2,)), T("i32", (2,)))


def test_clip():
    x = np.array([-3.0, -0.2, 0.4, 5.0], F)
    np.testing.assert_array_equal(run1("Clip", x, F(-1), F(1)), np.array([-1, -0.2, 0.4, 1], F))
    np.testing.assert_array_equal(run1("Clip", x, None, F(0)), np.array([-3, -0.2, 0, 0], F))
    np.testing.assert_array_equal(run1("Clip", x, F(0)), np.array([0, 0, 0.4, 5], F))
    np.testing.assert_array_equal(run1("Clip", x), x)
    # min > max: everything becomes max
    np.testing.assert_array_equal(run1("Clip", np.array([1, 5, 9], np.int32), np.int32(6),
                                       np.int32(2)), [2, 2, 2])
    np.testing.assert_array_equal(run1("Clip", x, np.array([0.0], F), consts=(1,)),
                                  np.array([0, 0, 0.4, 5], F))


def test_clip_errors():
    with pytest.raises(ShapeInferenceError, match="min.*must be a scalar"):
        infer("Clip", T("f32", (4,)), T("f32", (2,)))
    with pytest.raises(ShapeInferenceError, match=r"input 2 \(max\) has dtype f64"):
        infer("Clip", T("f32", (4,)), None, T("f64", ()))
