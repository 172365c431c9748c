"""ConvNCHWc / ConvNHWC kernel rule (passes/lower/kernels/conv_layout*.py): dense, strided,
dilated, padded (asymmetric), grouped, depthwise and lane-gathered convolutions, mixed input and
weight blocks, run-time weights, fused epilogues, both register budgets (AVX2 / AVX-512
schedules), f64, and the layout pass end to end; against the reference interpreter on the
original graph, bounds-checked and unchecked."""
import re

import numpy as np
import pytest

from compiler.ir.graph import Graph
from compiler.ir.types import TensorType
from compiler.ops.layout import pack_conv_weight

from passes.lower.kernels.conv_layout import static_border_tiles

from .util import check_against_reference

RNG = np.random.default_rng(7)


def check(graph, passes="fuse", *, bits=512, threads=2, bounds_check=True, dtype="f32"):
    """Compare the compiled graph (after `passes`) with the reference on the original graph."""
    tol = {"f64": 1e-10, "f16": 2e-3}.get(dtype, 2e-4)
    return check_against_reference(graph, passes, rtol=tol, atol=tol, bits=bits,
                                   threads=threads, bounds_check=bounds_check)


def nchwc_graph(n, c, h, w, m, k, *, group=1, xb=8, ob=8, iw=None, bias=True, relu=True,
                residual=False, const_w=True, dtype="f32", **attrs):
    """ConvNCHWc on [n, c/xb, h, w, xb] data; weights packed from random OIHW."""
    np_dt = TensorType(dtype, ()).dtype.np_dtype
    kh, kw = k if isinstance(k, tuple) else (k, k)
    iw = iw or int(np.gcd(c // group, ob))
    g = Graph("nchwc")
    x = g.add_input("x", TensorType(dtype, (n, c // xb, h, w, xb)))
    wd = pack_conv_weight(RNG.standard_normal((m, c // group, kh, kw)).astype(np_dt), iw, ob)
    wv = g.add_constant(wd, "w") if const_w else g.add_input("w", TensorType(dtype, wd.shape))
    ins = [x, wv]
    if bias:
        bd = RNG.standard_normal((m // ob, ob)).astype(np_dt)
        ins.append(g.add_constant(bd, "b") if const_w else g.add_input("b", TensorType(dtype,
                                                                                     bd.shape)))
    y = g.op("ConvNCHWc", *ins, group=group, **attrs)
    if residual:
        y = g.op("Add", y, g.add_input("r", y.type))
    g.set_outputs([g.op("Relu", y) if relu else y], ["y"])
    return g


def nhwc_graph(n, c, h, w, m, k, *, group=1, bias=True, relu=True, **attrs):
    g = Graph("nhwc")
    x = g.add_input("x", TensorType("f32", (n, h, w, c)))
    wd = RNG.standard_normal((k, k, c // group, m)).astype(np.float32)
    ins = [x, g.add_constant(wd, "w")]
    if bias:
        ins.append(g.add_constant(RNG.standard_normal(m).astype(np.float32), "b"))
    y = g.op("ConvNHWC", *ins, group=group, **attrs)
    g.set_outputs([g.op("Relu", y) if relu else y], ["y"])
    return g


P1 = [1, 1, 1, 1]
NCHWC_CASES = [
    # (n, c, h, w, m, k, attrs): interior tiles + a remainder tile + border pixels
    ((1, 16, 6, 15, 32, 3), dict(pads=P1)),
    ((2, 16, 7, 9, 16, 3), dict(strides=[2, 2], pads=[0, 1, 2, 1])),        # asymmetric pads
    ((1, 8, 9, 12, 24, 3), dict(dilations=[2, 2], pads=[2, 2, 2, 2])),
    ((1, 16, 5, 8, 16, 1), dict(strides=[2, 2])),                           # 1x1 downsample
    ((1, 8, 4, 5, 8, (2, 3)), dict(pads=[1, 0, 0, 2])),                     # tiny, non-square
    ((1, 16, 6, 7, 32, 3), dict(group=2, pads=P1)),                         # 2 groups of 8 -> 16
    ((1, 16, 6, 7, 16, 3), dict(group=16, pads=P1)),                        # depthwise
    ((1, 16, 9, 9, 16, 3), dict(group=16, strides=[2, 2], pads=P1)),        # strided depthwise
    ((1, 16, 6, 7, 32, 3), dict(group=16, pads=P1)),                        # channel multiplier 2
    ((1, 16, 6, 7, 16, 3), dict(group=4, pads=P1)),                         # 4 groups per block
    ((1, 8, 5, 6, 8, 3), dict(auto_pad="SAME_UPPER", strides=[2, 2])),
    ((1, 8, 3, 3, 8, 5), dict(pads=[2, 2, 2, 2])),                          # no interior pixel
    ((2, 8, 5, 6, 40, 3), dict(pads=P1)),                                   # 5 blocks: a tail chunk
    ((1, 16, 3, 14, 16, 3), dict(pads=P1)),              # 3 tiles: 2 static border tiles
    ((1, 16, 3, 29, 16, 3), dict(strides=[2, 2], pads=[1, 2, 1, 0])),       # odd, strided
    ((1, 16, 4, 11, 16, 5), dict(pads=[2, 2, 2, 2], dilations=[1, 2])),     # 2-pixel borders
]


@pytest.mark.parametrize("shape,attrs", NCHWC_CASES)
def test_conv_nchwc(shape, attrs):
    check(nchwc_graph(*shape, **attrs), bits=512)


@pytest.mark.parametrize("shape,attrs", NCHWC_CASES[:2] + NCHWC_CASES[6:7])
def test_conv_nchwc_avx2_schedule(shape, attrs):
    check(nchwc_graph(*shape, **attrs), bits=256, threads=1)


@pytest.mark.parametrize("xb,ob,iw,group", [
    (8, 8, 4, 1),        # weight lanes: half an input block
    (4, 8, 4, 1),        # input blocks of 4, output blocks of 8
    (8, 16, 16, 1),      # a weight block spans two input blocks
    (16, 8, 8, 2),       # groups of 8 channels inside input blocks of 16
    (16, 8, 1, 16),      # depthwise, input blocks wider than output blocks: gathered lanes
])
def test_input_and_weight_blocks_differ(xb, ob, iw, group):
    check(nchwc_graph(1, 16, 5, 7, 16 if group > 1 else 32, 3, xb=xb, ob=ob, iw=iw,
                      group=group, pads=P1))


def test_unchecked_build_and_batch():
    check(nchwc_graph(2, 16, 7, 10, 16, 3, pads=P1), bounds_check=False)
    check(nchwc_graph(2, 16, 7, 10, 16, 3, group=16, pads=P1), bounds_check=False)


def test_run_time_weights():
    check(nchwc_graph(1, 16, 6, 9, 16, 3, const_w=False, pads=P1))
    check(nchwc_graph(1, 16, 6, 9, 16, 3, group=16, const_w=False, pads=P1))


def test_fused_residual_epilogue_and_parallel_rows():
    # above the parallel threshold: one `parallel` loop over (batch, chunk of 4 or 1 blocks,
    # row), the 5 output blocks making a full and a tail chunk
    lm = check(nchwc_graph(2, 16, 12, 12, 40, 3, residual=True, pads=P1), threads=2)
    kernels = [f for f in lm.funcs if f.name != "main"]
    assert len(kernels) == 1                     # conv + add + relu in one kernel
    assert "parallel" in str(kernels[0])
    assert not any(b.scope == "arena" for b in lm.buffers if "convnchwc" in b.name)


def test_no_bias_no_epilogue():
    check(nchwc_graph(1, 8, 5, 9, 16, 3, bias=False, relu=False, pads=P1), passes="")


@pytest.mark.parametrize("dtype", ["f64", "f16"])
def test_other_float_dtypes(dtype):
    # f16 accumulates in f32 like the reference; no relu (an f16 Relu is not this test's job)
    check(nchwc_graph(1, 8, 5, 7, 8, 3, dtype=dtype, relu=False, pads=P1), passes="",
          dtype=dtype)


NHWC_CASES = [
    ((1, 16, 6, 11, 24, 3), dict(pads=P1)),                    # 24 outputs: a narrow last vector
    ((2, 3, 9, 9, 16, 3), dict(strides=[2, 2], pads=P1)),      # 3 input channels
    ((1, 16, 6, 7, 32, 3), dict(group=2, pads=P1)),
    ((1, 24, 7, 8, 24, 3), dict(group=24, pads=P1)),           # depthwise across groups
    ((1, 12, 5, 6, 24, 3), dict(group=6, pads=[0, 1, 1, 0])),  # 4 outputs per group: gathered
    ((1, 8, 6, 6, 5, 1), {}),
]


@pytest.mark.parametrize("shape,attrs", NHWC_CASES)
def test_conv_nhwc(shape, attrs):
    check(nhwc_graph(*shape, **attrs), bits=512)


@pytest.mark.parametrize("shape,attrs", NHWC_CASES[:1] + NHWC_CASES[3:5])
def test_conv_nhwc_avx2_lanes(shape, attrs):
    # 8 lanes instead of 16: other narrow last vectors and lane-mode choices
    check(nhwc_graph(*shape, **attrs), bits=256, threads=1)


def _nchw_conv(c, m, h, k, **attrs):
    g = Graph("nchw")
    x = g.add_input("x", TensorType("f32", (1, c, h, h)))
    w = g.add_constant(RNG.standard_normal((m, c // attrs.get("group", 1), k, k))
                       .astype(np.float32), "w")
    b = g.add_constant(RNG.standard_normal(m).astype(np.float32), "b")
    g.set_outputs([g.op("Relu", g.op("Conv", x, w, b, **attrs))], ["y"])
    return g


def test_layout_pass_stem_skips_padded_lanes():
    """A 3-channel 7x7/2 stem in NCHW8c: the reduction stops after the 3 real input lanes."""
    lm = check(_nchw_conv(3, 16, 19, 7, strides=[2, 2], pads=[3, 3, 3, 3]),
               passes="layout,fuse,memory-plan")
    lanes = re.findall(r"%w_\w*oihw8i8o\[[^\]]*, (\S+), ramp\(0, 1, 8\)\]", str(lm))
    assert sorted(set(lanes)) == ["0", "1", "2"]


@pytest.mark.parametrize("layout", ["NCHWc", "NHWC"])
def test_layout_pass_conv_chain(layout):
    g = _nchw_conv(16, 16, 12, 3, pads=P1)
    y = g.outputs[0]
    w2 = g.add_constant(RNG.standard_normal((16, 1, 3, 3)).astype(np.float32), "w2")
    z = g.op("Conv", y, w2, group=16, pads=P1, strides=[2, 2])
    g.set_outputs([z], ["z"])
    check(g, passes=f"layout{{layout={layout}}},fuse,memory-plan")
    assert _conv_ops(g) == ["Conv" + layout] * 2


def _conv_ops(g) -> list:
    nodes = [m for n in g.nodes for m in (n.attrs["body"].nodes if n.op == "FusedGroup"
                                          else [n])]
    return [n.op for n in nodes if n.op.startswith("Conv")]


def test_layout_pass_residual_block():
    """A ResNet basic block with a strided 1x1 shortcut and a MobileNet-style depthwise conv
    (12 channels: padded to 16 lanes), after the -O3 pipeline with the layout pass."""
    g = Graph("block")
    x = g.add_input("x", TensorType("f32", (1, 12, 10, 10)))

    def conv(v, m, k, **attrs):
        c = v.shape[1] // attrs.get("group", 1)
        w = g.add_constant(RNG.standard_normal((m, c, k, k)).astype(np.float32) * 0.3)
        return g.op("Conv", v, w, g.add_constant(RNG.standard_normal(m).astype(np.float32)),
                    **attrs)
    y = g.op("Relu", conv(x, 16, 3, pads=P1, strides=[2, 2]))
    y = conv(y, 16, 3, pads=P1)
    y = g.op("Relu", g.op("Add", y, conv(x, 16, 1, strides=[2, 2])))
    d = g.op("Clip", conv(x, 12, 3, group=12, pads=P1), g.add_constant(np.float32(0)),
             g.add_constant(np.float32(6)))
    g.set_outputs([y, d], ["y", "d"])
    from compiler import plugins
    check(g, passes=plugins.default_pipeline(3))
    assert _conv_ops(g) == ["ConvNCHWc"] * 4



def test_static_border_tiles_cover_the_row_once():
    """A row with border pixels of at most 3 tiles is covered once by tiles of balanced widths
    <= T at constant positions; other rows keep the per-pixel border loop."""
    for OW, lo, hi, T in [(OW, lo, hi, T) for OW in range(1, 70) for lo in range(3)
                          for hi in (OW, OW - 1, OW - 2) for T in (1, 4, 6) if lo <= hi]:
        _check_static_border_tiles(OW, lo, hi, T)


def _check_static_border_tiles(OW, lo, hi, T):
    plan = static_border_tiles(OW, lo, hi, T)
    if plan is None:
        assert (lo == 0 and hi == OW) or OW > 3 * T
        return
    left, (a, z), right = plan
    static = [(ow0, w) for ow0, w in left + right]
    covered = sorted(p for ow0, w in static for p in range(ow0, ow0 + w)) + list(range(a, z))
    assert sorted(covered) == list(range(OW))
    assert all(1 <= w <= T for _, w in static) and max(w for _, w in static) - \
        min(w for _, w in static) <= 1
