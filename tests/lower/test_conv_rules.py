"""Conv kernel rule: implicit GEMM over phase planes (every stride, dilation, padding, group
count, 1-D and 2-D), fused bias / residual / relu epilogues, and the direct fallback (other
ranks, dtypes, run-time weights); against the reference interpreter, bounds-checked."""
import numpy as np
import pytest

from compiler.ir.graph import Graph
from compiler.ir.types import TensorType

from passes.lower.kernels import conv as conv_kernel

from .gemm_util import check

RNG = np.random.default_rng(3)


def _conv(x_shape, oc, kernel, *, bias=True, relu=True, residual=False, dtype="f32",
          const_w=True, **attrs):
    g = Graph("conv")
    x = g.add_input("x", TensorType(dtype, x_shape))
    group = attrs.get("group", 1)
    w_shape = (oc, x_shape[1] // group, *kernel)
    np_dt = TensorType(dtype, ()).dtype.np_dtype
    w = g.add_constant(RNG.standard_normal(w_shape).astype(np_dt), "w") if const_w else \
        g.add_input("w", TensorType(dtype, w_shape))
    ins = [x, w] + ([g.add_constant(RNG.standard_normal(oc).astype(np_dt), "b")] if bias else [])
    y = g.op("Conv", *ins, **attrs)
    if residual:
        y = g.op("Add", y, g.add_input("r", y.type))
    g.set_outputs([g.op("Relu", y) if relu else y], ["out"])
    return g


CASES = [
    ((1, 3, 9, 9), 8, (3, 3), dict(pads=[1, 1, 1, 1])),
    ((2, 5, 11, 13), 7, (3, 3), dict(strides=[2, 2], pads=[1, 1, 1, 1])),
    ((1, 8, 10, 10), 12, (1, 1), {}),                                     # 1x1: a plain GEMM
    ((1, 6, 12, 9), 10, (1, 1), dict(strides=[2, 2])),                    # 1x1 downsample
    ((1, 4, 12, 12), 6, (3, 3), dict(pads=[2, 2, 2, 2], dilations=[2, 2])),
    ((1, 4, 10, 11), 9, (3, 2), dict(pads=[0, 2, 1, 0], strides=[1, 2])),  # asymmetric
    ((1, 3, 23, 23), 16, (7, 7), dict(strides=[2, 2], pads=[3, 3, 3, 3])),  # stem-like
    ((1, 5, 3, 70), 9, (3, 3), dict(pads=[1, 1, 1, 1])),                  # long rows
    ((1, 7, 8, 8), 5, (3, 3), dict(auto_pad="SAME_UPPER", strides=[2, 2])),
    ((1, 6, 9, 9), 6, (3, 3), dict(group=3, pads=[1, 1, 1, 1])),           # grouped
]


@pytest.mark.parametrize("x_shape,oc,kernel,attrs", CASES)
def test_conv_bias_relu(x_shape, oc, kernel, attrs):
    check(_conv(x_shape, oc, kernel, **attrs), bits=512)


@pytest.mark.parametrize("x_shape,oc,attrs", [
    ((1, 32, 7, 7), 68, dict(pads=[1, 1, 1, 1])),             # one row group: split the rows
    ((2, 16, 20, 19), 24, dict(pads=[1, 1, 1, 1], strides=[2, 1])),
])
def test_parallel(x_shape, oc, attrs):
    check(_conv(x_shape, oc, (3, 3), **attrs), bits=512, threads=2, rtol=5e-4, atol=5e-4)


@pytest.mark.parametrize("channels,mult,stride", [(8, 1, 1), (5, 2, 2)])
def test_depthwise(channels, mult, stride):
    g = _conv((2, channels, 13, 11), channels * mult, (3, 3), group=channels,
              strides=[stride, stride], pads=[1, 1, 1, 1])
    check(g, bits=256, threads=1)


@pytest.mark.parametrize("threads,hw,channels,mult,stride,pads", [
    (2, (64, 60), 8, 1, 2, [1, 1, 1, 1]),     # one group's planes per thread, parallel groups
    (2, (40, 37), 6, 2, 1, [0, 2, 1, 0]),     # channel multiplier 2, asymmetric padding
    (1, (13, 11), 5, 1, 2, [1, 1, 1, 1]),     # serial: also per group
    (2, (128, 120), 2, 1, 2, [1, 1, 1, 1]),   # too few groups for 2 threads: shared planes
])
def test_grouped_planes_per_group_or_shared(threads, hw, channels, mult, stride, pads,
                                            monkeypatch):
    g = _conv((2, channels, *hw), channels * mult, (3, 3), group=channels,
              strides=[stride, stride], pads=pads)
    lm = check(g, bits=256, threads=threads)
    text = str(lm)
    assert (" parallel" in text) == (threads > 1)
    assert ("alloc %planes" in text) == (channels >= 2 * threads)
    # planes too big for the thread's stack: the shared scratch planes, same results
    monkeypatch.setattr(conv_kernel, "GROUP_PLANES_MAX_BYTES", 64)
    assert "alloc %planes" not in str(check(g, bits=256, threads=threads))


def test_residual_add_fused_and_avx2_width():
    lm = check(_conv((1, 16, 14, 14), 16, (3, 3), pads=[1, 1, 1, 1], residual=True), bits=256)
    assert len([f for f in lm.funcs if f.name != "main"]) == 1


def test_no_bias_no_epilogue_1d():
    check(_conv((2, 6, 40), 11, (5,), bias=False, relu=False, pads=[2, 1], dilations=[2]))


@pytest.mark.parametrize("dtype,const_w,rank", [("f32", False, 2), ("f64", True, 2),
                                                ("f32", True, 3)])
def test_direct_fallback(dtype, const_w, rank):
    shape = (1, 3, 5, 6) if rank == 2 else (1, 2, 4, 5, 3)
    g = _conv(shape, 4, (3,) * rank, dtype=dtype, const_w=const_w, pads=[1] * (2 * rank))
    check(g, rtol=1e-5, atol=1e-5)
