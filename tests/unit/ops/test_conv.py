"""Conv and ConvTranspose against onnx.reference (and torch where onnx.reference is wrong:
grouped ConvTranspose), hand-computed cases, shape rules and errors."""
import time

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from backends.reference import run_graph
from compiler.errors import ShapeInferenceError
from compiler.ir.graph import Graph
from compiler.ir.types import TensorType

RNG = np.random.default_rng(3)


def rand(shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def run(op, x, w, b=None, **attrs):
    """x is a graph input, w and b constants; checks the result against the inferred type."""
    g = Graph()
    xi = g.add_input("x", TensorType(x.dtype, x.shape))
    ins = [xi, g.add_constant(w, "w")] + ([g.add_constant(b, "b")] if b is not None else [])
    y = g.op(op, *ins, **attrs)
    g.set_outputs([y])
    out = run_graph(g, {"x": x})[y.name]
    assert out.dtype == y.type.dtype.np_dtype
    assert tuple(out.shape) == y.type.shape
    return out


def infer(op, x_shape, w_shape, b_shape=None, dtype="f32", **attrs):
    g = Graph()
    ins = [g.add_input("x", TensorType(dtype, x_shape)), g.add_input("w", TensorType(dtype, w_shape))]
    if b_shape is not None:
        ins.append(g.add_input("b", TensorType(dtype, b_shape)))
    return g.op(op, *ins, **attrs).type


def onnx_ref(op, x, w, b=None, **attrs):
    names = ["x", "w"] + (["b"] if b is not None else [])
    arrays = [x, w] + ([b] if b is not None else [])
    node = helper.make_node(op, names, ["y"], **attrs)
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, a.shape) for n, a in zip(names, arrays)]
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    model = helper.make_model(helper.make_graph([node], "t", ins, [out]),
                              opset_imports=[helper.make_opsetid("", 22)])
    return ReferenceEvaluator(model).run(None, dict(zip(names, arrays)))[0]


# ---- Conv --------------------------------------------------------------------------------------

CONV_CASES = [
    # (x shape, w shape, attrs)
    ((2, 3, 7, 8), (4, 3, 3, 3), {}),
    ((1, 3, 9, 9), (4, 3, 3, 3), dict(pads=[1, 1, 1, 1])),
    ((2, 4, 7, 8), (6, 2, 3, 3), dict(group=2, strides=[2, 1], pads=[1, 0, 1, 2],
                                      dilations=[1, 2])),
    ((1, 6, 8, 8), (6, 1, 3, 3), dict(group=6, pads=[1, 1, 1, 1])),              # depthwise
    ((1, 4, 8, 8), (8, 1, 3, 3), dict(group=4, strides=[2, 2])),                 # multiplier 2
    ((1, 3, 10, 11), (2, 3, 3, 2), dict(strides=[3, 2], kernel_shape=[3, 2])),
    ((1, 3, 9), (4, 3, 3), dict(auto_pad="SAME_UPPER", strides=[2])),
    ((1, 3, 10), (4, 3, 4), dict(auto_pad="SAME_LOWER", strides=[3])),
    ((1, 3, 10), (4, 3, 4), dict(auto_pad="SAME_UPPER", strides=[3])),
    ((1, 3, 12), (2, 3, 3), dict(auto_pad="VALID", strides=[2], dilations=[3])),
    ((2, 5, 13), (3, 5, 1), {}),                                                  # 1x1, 1-D
    ((1, 3, 5, 6, 7), (4, 3, 2, 3, 2), dict(strides=[1, 2, 1], pads=[0, 1, 1, 1, 0, 0])),
    ((1, 4, 5, 6, 5), (4, 2, 3, 1, 2), dict(group=2, dilations=[2, 1, 1], auto_pad="VALID")),
    ((2, 3, 1, 1), (5, 3, 1, 1), {}),
]


@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("xs,ws,attrs", CONV_CASES)
def test_conv_matches_onnx_reference(xs, ws, attrs, with_bias):
    x, w = rand(xs), rand(ws)
    b = rand((ws[0],)) if with_bias else None
    out = run("Conv", x, w, b, **attrs)
    np.testing.assert_allclose(out, onnx_ref("Conv", x, w, b, **attrs), rtol=1e-4, atol=1e-4)


def test_conv_matches_torch_grouped_dilated():
    x, w, b = rand((2, 6, 11, 9)), rand((9, 2, 3, 2)), rand((9,))
    out = run("Conv", x, w, b, group=3, strides=[2, 1], dilations=[2, 3], pads=[1, 2, 1, 2])
    ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b),
                                     stride=(2, 1), padding=(1, 2), dilation=(2, 3), groups=3)
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-4, atol=1e-4)


def test_conv_hand_computed():
    x = np.array([[[1, 2, 3, 4]]], np.float32)
    w = np.array([[[1, 1]]], np.float32)
    np.testing.assert_array_equal(run("Conv", x, w), [[[3, 5, 7]]])
    np.testing.assert_array_equal(run("Conv", x, w, np.array([10], np.float32), strides=[2]),
                                  [[[13, 17]]])
    # padding and dilation: taps at i-1 and i+1
    np.testing.assert_array_equal(run("Conv", x, w, pads=[1, 1], dilations=[2]),
                                  [[[2, 4, 6, 3]]])
    # SAME_LOWER puts the odd pad at the beginning: [0,1,2,3,4] -> pairs
    np.testing.assert_array_equal(run("Conv", x, w, auto_pad="SAME_LOWER"), [[[1, 3, 5, 7]]])
    np.testing.assert_array_equal(run("Conv", x, w, auto_pad="SAME_UPPER"), [[[3, 5, 7, 4]]])


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_conv_other_float_dtypes(dtype):
    x, w, b = rand((1, 2, 5, 5), dtype), rand((3, 2, 3, 3), dtype), rand((3,), dtype)
    out = run("Conv", x, w, b, pads=[1, 1, 1, 1])
    assert out.dtype == dtype
    ref = onnx_ref("Conv", x.astype(np.float32), w.astype(np.float32), b.astype(np.float32),
                   pads=[1, 1, 1, 1])
    np.testing.assert_allclose(out.astype(np.float32), ref, rtol=1e-2, atol=2e-2)


def test_conv_empty_batch():
    out = run("Conv", np.zeros((0, 3, 5, 5), np.float32), rand((2, 3, 3, 3)))
    assert out.shape == (0, 2, 3, 3)


def test_conv_shape_inference_symbolic():
    assert infer("Conv", ("N", 3, 224, 224), (64, 3, 7, 7), (64,), strides=[2, 2],
                 pads=[3, 3, 3, 3]).shape == ("N", 64, 112, 112)
    assert infer("Conv", ("N", 3, "H", "W"), (8, 3, 3, 3)).shape == ("N", 8, "?", "?")
    assert infer("Conv", ("N", 3, "H", "W"), (8, 3, 1, 1)).shape == ("N", 8, "H", "W")
    assert infer("Conv", ("N", 3, "H", "W"), (8, 3, 3, 3),
                 auto_pad="SAME_UPPER").shape == ("N", 8, "H", "W")
    assert infer("Conv", ("N", 3, "H", 10), (8, 3, 3, 3), auto_pad="SAME_LOWER",
                 strides=[2, 2]).shape == ("N", 8, "?", 5)
    assert infer("Conv", ("N", "C", 10), (8, 4, 3), group=2).shape == ("N", 8, 8)


@pytest.mark.parametrize("xs,ws,bs,attrs,msg", [
    ((1, 64, 8, 8), (16, 3, 3, 3), None, {},
     "W has 3 input channels per group, X has 64 channels with group=1"),
    ((1, 4, 8, 8), (6, 4, 3, 3), None, dict(group=2), "W has 4 input channels per group"),
    ((1, 4, 8, 8), (5, 2, 3, 3), None, dict(group=2), "not divisible by group=2"),
    ((1, 3, 8, 8), (4, 3, 3), None, {}, "W must have the rank of X (4)"),
    ((3, 8), (4, 3, 3), None, {}, "X must have rank >= 3"),
    ((1, 3, 8, 8), (4, 3, 3, 3), None, dict(pads=[1, 1]), "pads has 2 values [1, 1]; expected 4"),
    ((1, 3, 8, 8), (4, 3, 3, 3), None, dict(pads=[1, -1, 1, 1]), "non-negative"),
    ((1, 3, 8, 8), (4, 3, 3, 3), None, dict(strides=[1, 1, 1]), "strides has 3 values"),
    ((1, 3, 8, 8), (4, 3, 3, 3), None, dict(strides=[0, 1]), "strides [0, 1] must all be >= 1"),
    ((1, 3, 8, 8), (4, 3, 3, 3), None, dict(dilations=[1]), "dilations has 1 values"),
    ((1, 3, 8, 8), (4, 3, 3, 3), None, dict(kernel_shape=[3, 2]), "does not match W"),
    ((1, 3, 8, 8), (4, 3, 3, 3), None, dict(group=0), "group must be >= 1"),
    ((1, 3, 8, 8), (4, 3, 3, 3), None, dict(auto_pad="SAME"), "auto_pad is 'SAME'"),
    ((1, 3, 8, 8), (4, 3, 3, 3), None, dict(auto_pad="VALID", pads=[1, 1, 1, 1]),
     "cannot be used together"),
    ((1, 3, 8, 8), (4, 3, 3, 3), (3,), {}, "B must be 1-D of length M=4"),
    ((1, 3, 2, 8), (4, 3, 3, 3), None, {}, "smaller than the (dilated) kernel extent 3"),
    ((1, 3, 5, 8), (4, 3, 3, 3), None, dict(dilations=[3, 1]), "kernel extent 7"),
])
def test_conv_errors(xs, ws, bs, attrs, msg):
    with pytest.raises(ShapeInferenceError) as e:
        infer("Conv", xs, ws, bs, **attrs)
    assert msg in str(e.value), str(e.value)


def test_conv_dtype_errors():
    with pytest.raises(ShapeInferenceError, match="dtype i32"):
        infer("Conv", (1, 3, 8, 8), (4, 3, 3, 3), dtype="i32")
    g = Graph()
    x = g.add_input("x", TensorType("f32", (1, 3, 8, 8)))
    w = g.add_input("w", TensorType("f64", (4, 3, 3, 3)))
    with pytest.raises(ShapeInferenceError, match="dtype f64"):
        g.op("Conv", x, w)


def test_conv_resnet_stem_is_fast():
    x, w = rand((1, 3, 224, 224)), rand((64, 3, 7, 7))
    t = time.perf_counter()
    out = run("Conv", x, w, strides=[2, 2], pads=[3, 3, 3, 3])
    x2, w2 = rand((1, 64, 56, 56)), rand((64, 64, 3, 3))
    run("Conv", x2, w2, pads=[1, 1, 1, 1])
    assert out.shape == (1, 64, 112, 112)
    assert time.perf_counter() - t < 2.0


# ---- ConvTranspose ----------------------------------------------------------------------------

CONVT_CASES = [
    ((2, 4, 5, 6), (4, 3, 3, 3), {}),
    ((2, 4, 5, 6), (4, 3, 3, 3), dict(strides=[2, 2], pads=[1, 0, 0, 1], output_padding=[1, 0])),
    ((2, 4, 5, 6), (4, 3, 3, 2), dict(strides=[2, 3], dilations=[2, 1], pads=[0, 1, 2, 1])),
    ((1, 2, 5), (2, 3, 3), dict(strides=[2], output_shape=[12])),
    ((1, 2, 5), (2, 3, 3), dict(strides=[2], output_shape=[9], auto_pad="SAME_UPPER")),
    ((1, 2, 5), (2, 3, 3), dict(strides=[2], output_shape=[8], auto_pad="SAME_LOWER")),
    ((1, 2, 5), (2, 3, 3), dict(strides=[2], auto_pad="SAME_UPPER")),
    ((1, 2, 5), (2, 3, 4), dict(strides=[2], auto_pad="SAME_LOWER")),
    ((1, 2, 5), (2, 3, 4), dict(strides=[2], auto_pad="SAME_UPPER")),
    ((1, 2, 5), (2, 3, 3), dict(strides=[3], auto_pad="VALID")),
    ((1, 2, 4), (2, 3, 4), dict(strides=[2], output_padding=[1], pads=[1, 1])),
    ((1, 2, 3, 3, 2), (2, 2, 2, 2, 3), dict(strides=[1, 2, 1], pads=[0, 1, 0, 1, 0, 1])),
    ((1, 3, 4, 4), (3, 2, 1, 1), dict(strides=[2, 2])),
    ((1, 3, 4, 4), (3, 2, 3, 3), dict(kernel_shape=[3, 3], pads=[2, 2, 2, 2])),
]


@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("xs,ws,attrs", CONVT_CASES)
def test_conv_transpose_matches_onnx_reference(xs, ws, attrs, with_bias):
    x, w = rand(xs), rand(ws)
    b = rand((ws[1],)) if with_bias else None
    out = run("ConvTranspose", x, w, b, **attrs)
    np.testing.assert_allclose(out, onnx_ref("ConvTranspose", x, w, b, **attrs),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("group,cin,mg", [(2, 4, 3), (4, 4, 1), (3, 6, 2)])
def test_conv_transpose_grouped_matches_torch(group, cin, mg):
    # onnx.reference's ConvTranspose mishandles group > 1 with bias or >1 channel per group
    x, w, b = rand((2, cin, 5, 4)), rand((cin, mg, 3, 2)), rand((mg * group,))
    out = run("ConvTranspose", x, w, b, group=group, strides=[2, 3], pads=[1, 0, 1, 1],
              output_padding=[1, 2], dilations=[1, 1])
    ref = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=(2, 3),
        padding=(1, 0), output_padding=(1, 2), groups=group)
    # torch pads symmetrically: crop our extra end pad on axis 1 to compare
    np.testing.assert_allclose(out, ref.numpy()[:, :, :, :out.shape[3]], rtol=1e-4, atol=1e-4)


def test_conv_transpose_hand_computed():
    x = np.array([[[1, 2]]], np.float32)
    w = np.array([[[1, 1, 1]]], np.float32)
    np.testing.assert_array_equal(run("ConvTranspose", x, w, strides=[2]), [[[1, 1, 3, 2, 2]]])
    np.testing.assert_array_equal(run("ConvTranspose", x, w, strides=[2], pads=[1, 0]),
                                  [[[1, 3, 2, 2]]])
    # output_padding adds (bias-only) elements at the end
    np.testing.assert_array_equal(
        run("ConvTranspose", x, w, np.array([1], np.float32), strides=[2], output_padding=[1]),
        [[[2, 2, 4, 3, 3, 1]]])
    # output_shape: pads from the total padding, the odd one at the beginning unless SAME_UPPER
    np.testing.assert_array_equal(run("ConvTranspose", x, w, strides=[2], output_shape=[4]),
                                  [[[1, 3, 2, 2]]])
    np.testing.assert_array_equal(run("ConvTranspose", x, w, strides=[2], output_shape=[4],
                                      auto_pad="SAME_UPPER"), [[[1, 1, 3, 2]]])
    # an output_shape larger than the full result is zero-extended at both ends
    np.testing.assert_array_equal(run("ConvTranspose", x, w, strides=[2], output_shape=[7]),
                                  [[[0, 1, 1, 3, 2, 2, 0]]])


def test_conv_transpose_shapes_and_errors():
    assert infer("ConvTranspose", ("N", 8, 7, 7), (8, 4, 3, 3), strides=[2, 2], pads=[1, 1, 1, 1],
                 output_padding=[1, 1]).shape == ("N", 4, 14, 14)
    assert infer("ConvTranspose", ("N", 8, "H", 7), (8, 2, 4, 4), group=2,
                 strides=[2, 2]).shape == ("N", 4, "?", 16)
    assert infer("ConvTranspose", ("N", 8, "H", "W"), (8, 2, 3, 3), auto_pad="SAME_UPPER",
                 strides=[2, 2]).shape == ("N", 2, "?", "?")
    assert infer("ConvTranspose", ("N", 8, "H", "W"), (8, 2, 3, 3),
                 output_shape=[20, 30]).shape == ("N", 2, 20, 30)
    bad = [
        (((1, 8, 5, 5), (4, 2, 3, 3)), {}, "W has 4 input channels"),
        (((1, 6, 5, 5), (6, 2, 3, 3)), dict(group=4), "not divisible by group=4"),
        (((1, 8, 5, 5), (8, 2, 3, 3)), dict(output_padding=[2, 0], strides=[2, 2]),
         "output_padding [2, 0] must be smaller than stride or dilation"),
        (((1, 8, 5, 5), (8, 2, 3, 3)), dict(output_shape=[10]), "output_shape [10] has 1 values"),
        (((1, 8, 1, 5), (8, 2, 1, 3)), dict(pads=[1, 0, 0, 0]), "output length 0 is not positive"),
        (((1, 8, 5, 5), (8, 2, 3, 3)), dict(output_padding=[1]), "output_padding has 1 values"),
    ]
    for (xs, ws), attrs, msg in bad:
        with pytest.raises(ShapeInferenceError) as e:
            infer("ConvTranspose", xs, ws, **attrs)
        assert msg in str(e.value), str(e.value)
