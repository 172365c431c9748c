"""Windowed pooling kernels (passes/lower/kernels/pool.py): MaxPool (with Indices),
AveragePool, LpPool, 1-d to 3-d, every padding / stride / dilation / ceil_mode / auto_pad
form, in NCHW, NCHW{k}c and NHWC, compiled and compared with the reference interpreter."""
import numpy as np
import pytest

from compiler.ir.graph import Graph
from compiler.ir.types import TensorType
from compiler.ops.layout import from_nchw

from .test_reduce import check

# (input shape, window attributes): borders on every side, strides, dilations, ceil_mode
# overhang, auto_pad, 1-d and 3-d windows, a window wider than the input
GEOMETRIES = [
    ((1, 3, 9, 10), dict(kernel_shape=[3, 3])),
    ((2, 2, 11, 40), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ((1, 2, 11, 40), dict(kernel_shape=[3, 2], pads=[2, 1, 0, 1], dilations=[2, 3])),
    ((1, 2, 12, 33), dict(kernel_shape=[3, 3], strides=[2, 3], pads=[1, 1, 1, 1], ceil_mode=1)),
    ((1, 2, 12, 33), dict(kernel_shape=[2, 2], auto_pad="SAME_UPPER", strides=[2, 2])),
    ((1, 2, 12, 33), dict(kernel_shape=[3, 4], auto_pad="SAME_LOWER")),
    ((1, 2, 12, 33), dict(kernel_shape=[3, 4], auto_pad="VALID", strides=[2, 2])),
    ((2, 3, 50), dict(kernel_shape=[4], strides=[2], pads=[1, 2])),
    ((1, 2, 5, 6, 7), dict(kernel_shape=[2, 3, 2], pads=[1, 1, 0, 0, 1, 1])),
    ((1, 2, 4, 4), dict(kernel_shape=[4, 4], pads=[3, 3, 3, 3])),
]
VARIANTS = {"MaxPool": [{}],
            "AveragePool": [dict(count_include_pad=0), dict(count_include_pad=1)],
            "LpPool": [dict(p=1), dict(p=2), dict(p=3)]}


def _pool_graph(op, geometries, dtype="f32", layout="NCHW", variants=({},)):
    """op on one input per geometry (the input laid out in `layout`), the k-th geometry with
    the (k mod n)-th of the n variants."""
    g = Graph(op.lower())
    feeds, outs = {}, []
    rng = np.random.default_rng(0)
    suffix = {"NCHW": "", "NHWC": "NHWC"}.get(layout, "NCHWc")
    for k, (shape, attrs) in enumerate(geometries):
        x = (rng.standard_normal(shape) * 3).astype(TensorType(dtype, (1,)).dtype.np_dtype)
        if dtype in ("i8", "u8"):
            x = rng.integers(0 if dtype == "u8" else -100, 100, shape).astype(x.dtype)
        if layout != "NCHW":
            x = from_nchw(x, layout)
        feeds[f"x{k}"] = x
        xin = g.add_input(f"x{k}", TensorType(dtype, x.shape))
        outs.append(g.op(op + suffix, xin, **attrs, **variants[k % len(variants)]))
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g, feeds


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool", "LpPool"])
def test_pools_nchw_every_geometry(op):
    g, feeds = _pool_graph(op, GEOMETRIES, variants=VARIANTS[op])
    check(g, feeds, bits=512, both_checks=op == "MaxPool")


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pools_nchw_8_lanes(op):
    g, feeds = _pool_graph(op, GEOMETRIES[:4], variants=VARIANTS[op])
    check(g, feeds, bits=256, both_checks=False)


LAYOUT_CASES = [   # (layout, geometry, op, attrs): every op in NCHW8c, the others sampled
    ("NCHW8c", 1, "MaxPool", {}), ("NCHW8c", 3, "AveragePool", dict(count_include_pad=1)),
    ("NCHW8c", 1, "LpPool", dict(p=2)), ("NCHW8c", 3, "MaxPool", {}),
    ("NCHW16c", 1, "AveragePool", {}), ("NCHW4c", 3, "MaxPool", {}),
    ("NHWC", 1, "MaxPool", {}), ("NHWC", 3, "AveragePool", {}), ("NHWC", 4, "LpPool", dict(p=1)),
]


def test_pools_in_blocked_and_nhwc_layouts():
    g = Graph("layouts")
    feeds, outs = {}, []
    rng = np.random.default_rng(1)
    for k, (layout, geo, op, extra) in enumerate(LAYOUT_CASES):
        shape, attrs = GEOMETRIES[geo]
        x = from_nchw(rng.standard_normal((shape[0], 20) + shape[2:]).astype(np.float32),
                      layout)
        feeds[f"x{k}"] = x
        xin = g.add_input(f"x{k}", TensorType("f32", x.shape))
        outs.append(g.op(op + ("NHWC" if layout == "NHWC" else "NCHWc"), xin, **attrs, **extra))
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    check(g, feeds, bits=512, both_checks=False)


def _max_with_indices(geometries, feeds=None, storage_order=0):
    g = Graph("argpool")
    outs = []
    for k, (shape, attrs) in enumerate(geometries):
        y, i = g.op("MaxPool", g.add_input(f"x{k}", TensorType("f32", shape)), n_outputs=2,
                    storage_order=storage_order, **attrs)
        outs += [y, i]
    g.set_outputs(outs, [f"o{k}" for k in range(len(outs))])
    return g


@pytest.mark.parametrize("storage_order", [0, 1])
def test_max_pool_indices(storage_order):
    geometries = GEOMETRIES[1:4] + GEOMETRIES[7:10] if storage_order == 0 else \
        GEOMETRIES[1:2] + GEOMETRIES[8:9]
    g = _max_with_indices(geometries, storage_order=storage_order)
    check(g, bits=512, both_checks=False)


def test_max_pool_indices_nan_and_infinite_windows():
    x = np.random.default_rng(2).standard_normal((1, 2, 6, 20)).astype(np.float32)
    x[0, 0, 1, 3] = np.nan
    x[0, 1, :, :5] = -np.inf
    x[0, 1, 2, 7] = x[0, 1, 2, 8] = 50.0        # a tie: the first tap wins
    g = _max_with_indices([(x.shape, dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1]))])
    check(g, {"x0": x}, bits=512, both_checks=False)


@pytest.mark.parametrize("dtype", ["f16", "f64", "i8", "u8"])
def test_pool_dtypes(dtype):
    geoms = [((1, 3, 9, 20), dict(kernel_shape=[3, 3], strides=[1, 2], pads=[1, 1, 1, 1]))]
    g, feeds = _pool_graph("MaxPool", geoms, dtype)
    if dtype.startswith("f"):
        g2, feeds2 = _pool_graph("AveragePool", geoms, dtype,
                                 variants=[dict(count_include_pad=1)])
        check(g2, feeds2, both_checks=False)
    check(g, feeds, both_checks=False)


def test_resnet_max_pool_runs_parallel_and_vectorised():
    """ResNet's stem pool: 3x3 / 2, pad 1, blocked by 8 channels."""
    g, feeds = _pool_graph("MaxPool", [((1, 16, 56, 56), dict(kernel_shape=[3, 3],
                                                            strides=[2, 2],
                                                            pads=[1, 1, 1, 1]))],
                           layout="NCHW8c")
    lm = check(g, feeds, bits=512)
    text = str(lm)
    assert " parallel" in text and "ramp(" in text
