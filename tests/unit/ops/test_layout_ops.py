"""Layout ops: LayoutTransform (NCHW <-> NCHW{k}c <-> NHWC, channel padding), ConvNCHWc and
ConvNHWC against Conv, the blocked/NHWC pools against the NCHW pools; shape rules and errors."""
import numpy as np
import pytest

from backends.reference import run_graph
from compiler.errors import ShapeInferenceError
from compiler.ir.graph import Graph
from compiler.ir.parser import parse_graph
from compiler.ir.printer import print_graph
from compiler.ir.types import TensorType
from compiler.ops import OPS, OpKind
from compiler.ops.layout import (from_nchw, pack_conv_weight, pad_axis, parse_layout, to_nchw,
                                 unpack_conv_weight)

RNG = np.random.default_rng(7)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def run(op, x, *consts, **attrs):
    """One-node graph: x an input, the rest constants; checks the result against the type."""
    g = Graph()
    ins = [g.add_input("x", TensorType("f32", x.shape))]
    ins += [g.add_constant(c, f"c{i}") if c is not None else None for i, c in enumerate(consts)]
    y = g.op(op, *ins, **attrs)
    g.set_outputs([y])
    assert print_graph(parse_graph(print_graph(g), weights=g.weights())) == print_graph(g)
    out = run_graph(g, {"x": x})[y.name]
    assert tuple(out.shape) == y.type.shape and out.dtype == np.float32
    return out


def infer(op, *shapes, **attrs):
    g = Graph()
    ins = [g.add_input(f"i{k}", TensorType("f32", s)) if s is not None else None
           for k, s in enumerate(shapes)]
    return g.op(op, *ins, **attrs).type


# ---- layouts -----------------------------------------------------------------------------------

def test_parse_layout():
    assert parse_layout("NCHW") == ("NCHW", 0)
    assert parse_layout("NHWC") == ("NHWC", 0)
    assert parse_layout("NCHW16c") == ("NCHWc", 16)
    for bad in ("NCHWc", "NCHW0c", "NCWH", "nchw8c", "NCHW8C"):
        with pytest.raises(ValueError, match="unknown layout"):
            parse_layout(bad)


def test_kinds():
    assert OPS["LayoutTransform"].kind == OpKind.INJECTIVE
    assert OPS["ConvNCHWc"].kind == OpKind.OUT_ELEMWISE_FUSABLE
    assert OPS["ConvNHWC"].kind == OpKind.OUT_ELEMWISE_FUSABLE
    assert OPS["MaxPoolNCHWc"].kind == OPS["MaxPool"].kind
    assert OPS["GlobalAveragePoolNHWC"].kind == OpKind.REDUCTION


@pytest.mark.parametrize("c,k", [(16, 8), (3, 8), (13, 4), (1, 16), (32, 16), (5, 1)])
def test_blocked_round_trip_pads_and_crops(c, k):
    x = rand(2, c, 5, 3)
    b = run("LayoutTransform", x, src_layout="NCHW", dst_layout=f"NCHW{k}c", channels=c)
    cb = -(-c // k)
    assert b.shape == (2, cb, 5, 3, k)
    # channel ch lives at [:, ch // k, :, :, ch % k]; the lanes past c are zeros
    for ch in range(cb * k):
        want = x[:, ch] if ch < c else 0
        np.testing.assert_array_equal(b[:, ch // k, :, :, ch % k], want)
    back = run("LayoutTransform", b, src_layout=f"NCHW{k}c", dst_layout="NCHW", channels=c)
    np.testing.assert_array_equal(back, x)


def test_every_pair_of_layouts_round_trips():
    x = rand(2, 11, 4, 6)
    layouts = ["NCHW", "NHWC", "NCHW4c", "NCHW8c", "NCHW16c"]
    for a in layouts:
        xa = from_nchw(x, a)
        for b in layouts:
            y = run("LayoutTransform", xa, src_layout=a, dst_layout=b, channels=11)
            np.testing.assert_array_equal(y, from_nchw(x, b))
            np.testing.assert_array_equal(to_nchw(y, b, 11), x)
    np.testing.assert_array_equal(run("LayoutTransform", x, src_layout="NCHW", dst_layout="NHWC"),
                                  x.transpose(0, 2, 3, 1))


def test_unblock_without_channels_keeps_every_lane():
    b = rand(1, 2, 3, 3, 4)
    y = run("LayoutTransform", b, src_layout="NCHW4c", dst_layout="NCHW")
    assert y.shape == (1, 8, 3, 3)
    np.testing.assert_array_equal(y[:, 5], b[:, 1, :, :, 1])


def test_layout_transform_shapes():
    assert str(infer("LayoutTransform", ("N", 3, "H", "W"), src_layout="NCHW",
                     dst_layout="NCHW8c")) == "f32[N,1,H,W,8]"
    assert str(infer("LayoutTransform", ("N", 2, 7, 7, 8), src_layout="NCHW8c",
                     dst_layout="NHWC", channels=10)) == "f32[N,7,7,10]"
    assert str(infer("LayoutTransform", (1, "C", 7, 7), src_layout="NCHW",
                     dst_layout="NCHW8c")) == "f32[1,?,7,7,8]"
    assert str(infer("LayoutTransform", (1, 4, 4, 3), src_layout="NHWC",
                     dst_layout="NCHW")) == "f32[1,3,4,4]"


@pytest.mark.parametrize("shape,attrs,msg", [
    ((1, 3, 4, 4), dict(src_layout="NCWH", dst_layout="NCHW8c"), "unknown layout"),
    ((1, 3, 4, 4), dict(src_layout="NCHW8c", dst_layout="NCHW"), "must have rank 5"),
    ((1, 1, 4, 4, 4), dict(src_layout="NCHW8c", dst_layout="NCHW"), "block size 8"),
    ((1, 2, 4, 4, 8), dict(src_layout="NCHW8c", dst_layout="NCHW", channels=17), "does not fit"),
    ((1, 2, 4, 4, 8), dict(src_layout="NCHW8c", dst_layout="NCHW", channels=8), "does not fit"),
    ((1, 3, 4, 4), dict(src_layout="NCHW", dst_layout="NCHW8c", channels=4), "channels=4"),
    ((1, 3, 4, 4), dict(src_layout="NCHW", dst_layout="NCHW8c", channels=0), "positive"),
])
def test_layout_transform_errors(shape, attrs, msg):
    with pytest.raises(ShapeInferenceError, match=msg):
        infer("LayoutTransform", shape, **attrs)


# ---- weights -------------------------------------------------------------------------------------

def test_pack_conv_weight_is_oihw_i_o():
    w = rand(16, 8, 3, 3)
    p = pack_conv_weight(w, 4, 8)
    assert p.shape == (2, 2, 3, 3, 4, 8)
    assert p[1, 1, 2, 0, 3, 5] == w[1 * 8 + 5, 1 * 4 + 3, 2, 0]
    np.testing.assert_array_equal(unpack_conv_weight(p), w)


# ---- ConvNCHWc -----------------------------------------------------------------------------------

def conv_nchwc(x, w, b, k, group=1, **attrs):
    """ConvNCHWc of NCHW x, OIHW w: pad channels as the layout pass does, run, unblock."""
    c, m, cg = x.shape[1], w.shape[0], w.shape[1]
    cp, mp = -(-c // k) * k, -(-m // k) * k
    if group == 1:
        wp, g = pad_axis(pad_axis(w, 0, mp), 1, cp), 1
    elif c % k == 0 and m % k == 0:
        wp, g = w, group
    else:                                  # depthwise over the padded channels
        assert group == c == m and cg == 1
        wp, g = pad_axis(w, 0, cp), cp
    iw = np.gcd(wp.shape[1], k)
    ins = [from_nchw(x, f"NCHW{k}c"), pack_conv_weight(wp, iw, k)]
    ins.append(None if b is None else pad_axis(b, 0, wp.shape[0]).reshape(-1, k))
    y = run("ConvNCHWc", *ins, group=g, **attrs)
    return to_nchw(y, f"NCHW{k}c", m)


CONV_CASES = [
    # (x shape, w shape, bias?, attrs)
    ((2, 16, 9, 9), (16, 16, 3, 3), True, {}),
    ((1, 3, 11, 10), (8, 3, 3, 3), True, dict(pads=[1, 1, 1, 1], strides=[2, 2])),
    ((1, 8, 12, 12), (10, 8, 3, 3), False, dict(dilations=[2, 2], pads=[2, 1, 2, 1])),
    ((1, 13, 7, 7), (5, 13, 1, 1), True, {}),
    ((1, 16, 8, 8), (32, 4, 3, 3), True, dict(group=4, pads=[1, 1, 1, 1])),     # grouped
    ((1, 16, 8, 8), (16, 1, 3, 3), True, dict(group=16, pads=[1, 1, 1, 1])),    # depthwise
    ((1, 12, 9, 9), (12, 1, 3, 3), True, dict(group=12, strides=[2, 2], pads=[1, 1, 1, 1])),
    ((1, 5, 6, 6), (5, 1, 3, 3), False, dict(group=5, auto_pad="SAME_UPPER")),
    ((1, 16, 7, 7), (32, 1, 3, 3), True, dict(group=16)),                       # multiplier 2
]


@pytest.mark.parametrize("k", [4, 8, 16])
@pytest.mark.parametrize("xs,ws,bias,attrs", CONV_CASES)
def test_conv_nchwc_matches_conv(xs, ws, bias, attrs, k):
    attrs = dict(attrs)
    group = attrs.pop("group", 1)
    c, m = xs[1], ws[0]
    if group not in (1, c) and (c % k or m % k) or (group == c and m != c and c % k):
        pytest.skip("the layout pass keeps this conv in NCHW")
    x, w = rand(*xs), rand(*ws)
    b = rand(m) if bias else None
    want = run("Conv", x, w, b, group=group, **attrs)
    got = conv_nchwc(x, w, b, k, group=group, **attrs)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("xs,ws,bias,attrs", CONV_CASES)
def test_conv_nhwc_matches_conv(xs, ws, bias, attrs):
    x, w = rand(*xs), rand(*ws)
    b = rand(ws[0]) if bias else None
    want = run("Conv", x, w, b, **attrs)
    got = run("ConvNHWC", x.transpose(0, 2, 3, 1).copy(), w.transpose(2, 3, 1, 0).copy(), b,
              **attrs)
    np.testing.assert_allclose(got.transpose(0, 3, 1, 2), want, rtol=1e-5, atol=1e-5)


def test_conv_padded_output_lanes_are_zero():
    x, w, b = rand(1, 3, 6, 6), rand(5, 3, 3, 3), rand(5)
    wp = pack_conv_weight(pad_axis(pad_axis(w, 0, 8), 1, 8), 8, 8)
    y = run("ConvNCHWc", from_nchw(x, "NCHW8c"), wp, pad_axis(b, 0, 8).reshape(1, 8))
    assert not y[..., 5:].any()


def test_conv_shapes():
    assert str(infer("ConvNCHWc", ("N", 2, "H", "W", 8), (4, 2, 3, 3, 8, 8), (4, 8),
                     pads=[1, 1, 1, 1])) == "f32[N,4,?,?,8]"
    assert str(infer("ConvNCHWc", (1, 2, 10, 10, 8), (4, 2, 3, 3, 8, 8), None,
                     strides=[2, 2])) == "f32[1,4,4,4,8]"
    assert str(infer("ConvNCHWc", (1, 2, 10, 10, 8), (2, 1, 3, 3, 1, 8), None,
                     group=16, pads=[1, 1, 1, 1])) == "f32[1,2,10,10,8]"
    assert str(infer("ConvNHWC", (1, 10, 10, 3), (3, 3, 3, 16), (16,))) == "f32[1,8,8,16]"


@pytest.mark.parametrize("op,shapes,attrs,msg", [
    ("ConvNCHWc", [(1, 16, 8, 8), (2, 2, 3, 3, 8, 8)], {}, "NCHW\\{k\\}c"),
    ("ConvNCHWc", [(1, 2, 8, 8, 8), (2, 16, 3, 3)], {}, "OIHW"),
    ("ConvNCHWc", [(1, 2, 8, 8, 8), (2, 1, 3, 3, 8, 8)], {}, "input channels per group"),
    ("ConvNCHWc", [(1, 2, 8, 8, 8), (2, 2, 3, 3, 8, 8), (16,)], {}, "B must be \\[2,8\\]"),
    ("ConvNCHWc", [(1, 2, 2, 2, 8), (2, 2, 3, 3, 8, 8)], {}, "smaller than"),
    ("ConvNHWC", [(1, 8, 8, 3), (3, 3, 4, 16)], {}, "input channels per group"),
    ("ConvNHWC", [(1, 8, 8, 3), (3, 3, 3, 16), (8,)], {}, "B must be \\[16\\]"),
    ("MaxPoolNCHWc", [(1, 16, 8, 8)], dict(kernel_shape=[2, 2]), "rank 5"),
])
def test_shape_errors(op, shapes, attrs, msg):
    with pytest.raises(ShapeInferenceError, match=msg) as e:
        infer(op, *shapes, **attrs)
    assert op in str(e.value)


# ---- pools ---------------------------------------------------------------------------------------

POOLS = [
    ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ("AveragePool", dict(kernel_shape=[2, 2], strides=[2, 2])),
    ("AveragePool", dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=1)),
    ("LpPool", dict(kernel_shape=[2, 2], p=2)),
    ("GlobalAveragePool", {}),
    ("GlobalMaxPool", {}),
    ("GlobalLpPool", dict(p=3)),
]


@pytest.mark.parametrize("op,attrs", POOLS)
def test_pools_in_other_layouts(op, attrs):
    x = rand(2, 11, 9, 9)
    want = run(op, x, **attrs)
    for layout, variant in (("NCHW8c", op + "NCHWc"), ("NCHW4c", op + "NCHWc"),
                            ("NHWC", op + "NHWC")):
        got = run(variant, from_nchw(x, layout), **attrs)
        np.testing.assert_allclose(to_nchw(got, layout, 11), want, rtol=1e-5, atol=1e-6)


def test_pool_indices_output_is_rejected():
    g = Graph()
    x = g.add_input("x", TensorType("f32", (1, 1, 4, 4, 8)))
    with pytest.raises(ShapeInferenceError, match="Indices"):
        g.op("MaxPoolNCHWc", x, n_outputs=2, kernel_shape=[2, 2])
