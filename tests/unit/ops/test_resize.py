"""Resize against onnx.reference for every mode / coordinate transform / rounding mode, plus
hand-computed cases where the ONNX spec and onnx.reference disagree (we follow the spec, as
onnxruntime does), shape rules and errors."""
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from backends.reference import run_graph
from compiler.errors import ShapeInferenceError
from compiler.ir.graph import Graph
from compiler.ir.types import TensorType

RNG = np.random.default_rng(5)
X = RNG.standard_normal((1, 2, 5, 6)).astype(np.float32)


def S(*v):
    return np.array(v, np.float32)


def Z(*v):
    return np.array(v, np.int64)


def run(x, roi=None, scales=None, sizes=None, **attrs):
    g = Graph()
    xi = g.add_input("x", TensorType(x.dtype, x.shape))
    ins = [xi] + [g.add_constant(v, n) if v is not None else None
                  for n, v in (("roi", roi), ("scales", scales), ("sizes", sizes))]
    while ins[-1] is None:
        ins.pop()
    y = g.op("Resize", *ins, **attrs)
    g.set_outputs([y])
    out = run_graph(g, {"x": x})[y.name]
    assert out.dtype == y.type.dtype.np_dtype
    assert tuple(out.shape) == y.type.shape
    return out


def onnx_ref(x, roi=None, scales=None, sizes=None, **attrs):
    inits, names = [], []
    for n, v in (("roi", roi), ("scales", scales), ("sizes", sizes)):
        if v is not None:
            inits.append(numpy_helper.from_array(v, n))
        names.append(n if v is not None else "")
    while names and names[-1] == "":
        names.pop()
    node = helper.make_node("Resize", ["x"] + names, ["y"], **attrs)
    et = helper.np_dtype_to_tensor_dtype(x.dtype)
    model = helper.make_model(
        helper.make_graph([node], "t", [helper.make_tensor_value_info("x", et, x.shape)],
                          [helper.make_tensor_value_info("y", TensorProto.UNDEFINED, None)],
                          initializer=inits),
        opset_imports=[helper.make_opsetid("", 19)])
    return ReferenceEvaluator(model).run(None, {"x": x})[0]


def infer(x_type, *others, **attrs):
    g = Graph()
    ins = [g.add_input("x", x_type)]
    for i, o in enumerate(others):
        if o is None or isinstance(o, np.ndarray):
            ins.append(None if o is None else g.add_constant(o, f"c{i}"))
        else:
            ins.append(g.add_input(f"i{i}", o))
    return g.op("Resize", *ins, **attrs).type


# ---- against onnx.reference --------------------------------------------------------------------

SIZES_AND_SCALES = [dict(scales=S(1, 1, 2, 1.5)), dict(scales=S(1, 1, 0.6, 0.5)),
                    dict(scales=S(1, 1, 1.7, 2.3)), dict(sizes=Z(1, 2, 8, 4)),
                    dict(sizes=Z(1, 2, 1, 9)), dict(sizes=Z(1, 2, 3, 13))]


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("ctm", ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                                 "align_corners", "asymmetric"])
@pytest.mark.parametrize("which", range(len(SIZES_AND_SCALES)))
def test_resize_matches_onnx_reference(mode, ctm, which):
    kw = SIZES_AND_SCALES[which]
    if ctm == "align_corners" and "scales" in kw and which == 2:
        pytest.skip("onnx.reference divides by the fractional scale*L; covered by hand below")
    if ctm == "pytorch_half_pixel" and mode == "cubic" and which == 4:
        pytest.skip("onnx.reference maps length-1 outputs to -0.5, the spec to 0; covered below")
    out = run(X, **kw, mode=mode, coordinate_transformation_mode=ctm)
    np.testing.assert_allclose(out, onnx_ref(X, **kw, mode=mode, coordinate_transformation_mode=ctm),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("nearest_mode", ["round_prefer_floor", "round_prefer_ceil", "floor",
                                          "ceil"])
@pytest.mark.parametrize("kw", [dict(scales=S(1, 1, 2.5, 1.5),
                                     coordinate_transformation_mode="asymmetric"),
                                dict(sizes=Z(1, 2, 9, 13)),
                                dict(scales=S(1, 1, 0.5, 0.5))])
def test_resize_nearest_modes(nearest_mode, kw):
    out = run(X, mode="nearest", nearest_mode=nearest_mode, **kw)
    np.testing.assert_array_equal(out, onnx_ref(X, mode="nearest", nearest_mode=nearest_mode, **kw))


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
def test_resize_tf_crop_and_resize(mode):
    roi = np.array([0, 0, 0.2, -0.1, 1, 1, 0.9, 1.2], np.float32)
    kw = dict(roi=roi, sizes=Z(1, 2, 7, 8), mode=mode, extrapolation_value=3.5,
              coordinate_transformation_mode="tf_crop_and_resize")
    out = run(X, **kw)
    np.testing.assert_allclose(out, onnx_ref(X, **kw), rtol=1e-5, atol=1e-5)
    assert (out == 3.5).any()


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("policy", ["stretch", "not_larger", "not_smaller"])
def test_resize_axes_and_aspect_policy(mode, policy):
    kw = dict(axes=[3, 2], sizes=Z(9, 7), keep_aspect_ratio_policy=policy, mode=mode)
    out = run(X, **kw)
    expected_shape = {"stretch": (1, 2, 7, 9), "not_larger": (1, 2, 7, 8),
                      "not_smaller": (1, 2, 8, 9)}[policy]
    assert out.shape == expected_shape
    np.testing.assert_allclose(out, onnx_ref(X, **kw), rtol=1e-5, atol=1e-5)
    # negative axes mean the same axes
    np.testing.assert_array_equal(run(X, **dict(kw, axes=[-1, -2])), out)


@pytest.mark.parametrize("kw", [
    dict(mode="cubic", exclude_outside=1, scales=S(1, 1, 2, 1.5)),
    dict(mode="cubic", exclude_outside=1, cubic_coeff_a=-0.5, scales=S(1, 1, 0.5, 1.5)),
    dict(mode="linear", exclude_outside=1, scales=S(1, 1, 0.5, 1.5),
         coordinate_transformation_mode="asymmetric"),
    dict(mode="linear", antialias=1, scales=S(1, 1, 0.5, 0.35)),
    dict(mode="cubic", antialias=1, scales=S(1, 1, 0.5, 0.35)),
    dict(mode="cubic", antialias=1, sizes=Z(1, 2, 3, 10)),
    dict(mode="linear", antialias=1, axes=[2], scales=S(0.4)),
    dict(mode="linear", axes=[3], scales=S(1.6)),
])
def test_resize_exclude_outside_antialias_axes(kw):
    np.testing.assert_allclose(run(X, **kw), onnx_ref(X, **kw), rtol=1e-5, atol=1e-5)


def test_resize_3d_and_1d():
    x3 = RNG.standard_normal((1, 1, 3, 4, 5)).astype(np.float32)
    for mode in ("nearest", "linear", "cubic"):
        kw = dict(scales=S(1, 1, 2, 0.5, 1.4), mode=mode)
        np.testing.assert_allclose(run(x3, **kw), onnx_ref(x3, **kw), rtol=1e-5, atol=1e-5)
    x1 = np.array([0, 10, 20, 30], np.float32)
    kw = dict(sizes=Z(7), mode="linear")
    np.testing.assert_allclose(run(x1, **kw), onnx_ref(x1, **kw), rtol=1e-6)


# ---- hand-computed -----------------------------------------------------------------------------

def test_resize_hand_computed():
    x = np.array([[[[1, 2], [3, 4]]]], np.float32)
    np.testing.assert_array_equal(run(x, scales=S(1, 1, 2, 2))[0, 0],
                                  [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    x1 = np.array([0, 3], np.float32)
    np.testing.assert_allclose(run(x1, sizes=Z(4), mode="linear",
                                   coordinate_transformation_mode="align_corners"), [0, 1, 2, 3])
    np.testing.assert_allclose(run(x1, sizes=Z(4), mode="linear"), [0, 0.75, 2.25, 3])


def test_resize_align_corners_uses_integer_output_length():
    # spec (and onnxruntime): x = y * (L - 1) / (out - 1) with the integer out = floor(4.5) = 4
    x = np.array([0, 10, 20], np.float32)
    np.testing.assert_allclose(run(x, scales=S(1.5), mode="linear",
                                   coordinate_transformation_mode="align_corners"),
                               [0, 20 / 3, 40 / 3, 20], rtol=1e-6)


def test_resize_pytorch_half_pixel_length_one_output():
    x = np.array([[5, 1, 2, 7]], np.float32)
    for mode in ("nearest", "linear", "cubic"):
        out = run(x, sizes=Z(1, 1), mode=mode, coordinate_transformation_mode="pytorch_half_pixel")
        assert out.tolist() == [[5.0]]


def test_resize_tf_crop_extrapolation_hand_computed():
    x = np.arange(5, dtype=np.float32)
    out = run(x, roi=S(-0.5, 1.5), sizes=Z(5), mode="linear", extrapolation_value=-1.0,
              coordinate_transformation_mode="tf_crop_and_resize")
    np.testing.assert_allclose(out, [-1, 0, 2, 4, -1])
    out = run(x, roi=S(0.2, 0.8), sizes=Z(4), mode="linear",
              coordinate_transformation_mode="tf_crop_and_resize")
    np.testing.assert_allclose(out, [0.8, 1.6, 2.4, 3.2], rtol=1e-6)


def test_resize_output_length_from_scales_is_floor():
    x = np.arange(10, dtype=np.float32)
    assert run(x, scales=S(0.7)).shape == (6,)      # floor(10 * 0.699999988)
    assert run(x, scales=S(0.25)).shape == (2,)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int32, np.int64])
def test_resize_integer_inputs(dtype):
    info = np.iinfo(dtype)
    x = RNG.integers(max(info.min, -100), min(info.max, 200), (1, 1, 4, 5)).astype(dtype)
    for mode in ("nearest", "linear", "cubic"):
        kw = dict(scales=S(1, 1, 1.5, 2), mode=mode)
        out = run(x, **kw)
        assert out.dtype == dtype
        np.testing.assert_array_equal(out, onnx_ref(x, **kw))


def test_resize_f16_and_f64():
    for dtype in (np.float16, np.float64):
        x = X.astype(dtype)
        out = run(x, scales=S(1, 1, 2, 2), mode="linear")
        assert out.dtype == dtype
        np.testing.assert_allclose(out.astype(np.float32),
                                   onnx_ref(X, scales=S(1, 1, 2, 2), mode="linear"), atol=1e-2)


def test_resize_empty_batch_and_identity():
    out = run(np.zeros((0, 2, 3, 3), np.float32), scales=S(1, 1, 2, 2), mode="linear")
    assert out.shape == (0, 2, 6, 6)
    np.testing.assert_array_equal(run(X, scales=S(1, 1, 1, 1), mode="cubic"), X)


# ---- shapes and errors -------------------------------------------------------------------------

def test_resize_shape_inference():
    xt = TensorType("f32", ("N", 3, 16, 16))
    assert infer(xt, None, S(1, 1, 2, 0.5)).shape == ("N", 3, 32, 8)
    assert infer(xt, None, None, Z(1, 3, 7, 9)).shape == (1, 3, 7, 9)
    assert infer(xt, None, None, Z(7, 9), axes=[2, 3]).shape == ("N", 3, 7, 9)
    assert infer(xt, None, None, Z(8, 32), axes=[2, 3],
                 keep_aspect_ratio_policy="not_larger").shape == ("N", 3, 8, 8)
    assert infer(xt, None, TensorType("f32", (4,))).shape == ("?", "?", "?", "?")
    assert infer(xt, None, None, TensorType("i64", (2,)), axes=[2, 3]).shape == ("N", 3, "?", "?")
    assert infer(TensorType("f32", ("N", 3, "H", "W")), None, S(1, 1, 2, 2)).shape == (
        "N", 3, "?", "?")
    # an empty scales tensor counts as absent (the pre-opset-13 spelling)
    assert infer(xt, None, np.zeros(0, np.float32), Z(1, 3, 4, 4)).shape == (1, 3, 4, 4)
    assert infer(TensorType("u8", (1, 3, 4, 4)), None, S(1, 1, 2, 2)).dtype.name == "u8"


@pytest.mark.parametrize("others,attrs,msg", [
    ((None, S(1, 1, 2, 2), Z(1, 3, 4, 4)), {}, "got both"),
    ((None,), {}, "got neither"),
    ((None, S(2, 2)), {}, "scales has 2 values; expected 4"),
    ((None, None, Z(4, 4, 4)), dict(axes=[2, 3]), "sizes has 3 values; expected 2"),
    ((None, Z(1, 1, 2, 2)), {}, "scales must be a 1-D f32 tensor"),
    ((None, None, S(1, 3, 4, 4)), {}, "sizes must be a 1-D i64 tensor"),
    ((None, S(1, 1, 2, 0)), {}, "scales must be positive"),
    ((None, S(1, 1, 2, 2)), dict(mode="bilinear"), "mode is 'bilinear'"),
    ((None, S(1, 1, 2, 2)), dict(coordinate_transformation_mode="center"),
     "coordinate_transformation_mode is 'center'"),
    ((None, S(1, 1, 2, 2)), dict(nearest_mode="round"), "nearest_mode is 'round'"),
    ((None, S(1, 1, 2, 2)), dict(keep_aspect_ratio_policy="fit"), "keep_aspect_ratio_policy"),
    ((None, S(2, 2)), dict(axes=[2, 4]), "out of range for rank 4"),
    ((None, S(2, 2)), dict(axes=[2, -2]), "repeat an axis"),
    ((None, S(1, 1, 2, 2)), dict(coordinate_transformation_mode="tf_crop_and_resize"),
     "needs roi"),
    ((S(0, 1), S(1, 1, 2, 2)), dict(coordinate_transformation_mode="tf_crop_and_resize"),
     "roi has 2 values; expected 8"),
    ((None, S(1, 1, 2, 2)), dict(antialias=2), "antialias must be 0 or 1"),
])
def test_resize_errors(others, attrs, msg):
    with pytest.raises(ShapeInferenceError) as e:
        infer(TensorType("f32", (1, 3, 4, 4)), *others, **attrs)
    assert msg in str(e.value), str(e.value)


def test_resize_bool_needs_nearest():
    with pytest.raises(ShapeInferenceError, match="numeric"):
        infer(TensorType("bool", (1, 4)), None, S(1, 2), mode="linear")
    x = np.array([[True, False]])
    np.testing.assert_array_equal(run(x, scales=S(1, 2)), [[True, True, False, False]])
