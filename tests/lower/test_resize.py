"""Resize lowering (passes/lower/kernels/resize.py) against the reference interpreter: every
mode, coordinate transformation, nearest mode, antialias, exclude_outside, sizes with axes and
aspect-ratio policies, integer / f16 / bool tensors, a fused epilogue."""
import numpy as np
import pytest

from compiler.ir.graph import Graph
from compiler.ir.types import TensorType
from passes.graph.fuse import _commit
from passes.lower import LoweringError, LowerTarget, lower_graph

from .util import check_against_reference

COORD = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
         "asymmetric", "tf_crop_and_resize"]
ROI = [0, 0, 0.1, 0.2, 1, 1, 0.8, 0.9]


def _resize(g, x, scales=None, sizes=None, roi=None, **attrs):
    c = (lambda v, dt: None if v is None else g.add_constant(np.array(v, dt)))
    return g.op("Resize", x, c(roi, np.float32), c(scales, np.float32), c(sizes, np.int64),
                **attrs)


def _graph(dtype, shape, configs):
    """One graph resizing one input in every configuration (one compile for all of them)."""
    g = Graph("resize")
    x = g.add_input("x", TensorType(dtype, shape))
    outs = [_resize(g, x, **cfg) for cfg in configs]
    g.set_outputs(outs, [f"y{k}" for k in range(len(outs))])
    return g


def _configs(mode):
    """Every coordinate mode, up- or downsampling (alternating, so that over the three modes
    each coordinate mode is seen both ways); nearest modes cycled; antialias when downsampling,
    exclude_outside and another cubic coefficient when upsampling."""
    nearest_modes = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]
    shift = ["nearest", "linear", "cubic"].index(mode)
    out = []
    for k, ctm in enumerate(COORD):
        up = (k + shift) % 2
        cfg = dict(scales=[1, 1, 2.0, 1.5] if up else [1, 1, 0.6, 0.5], mode=mode,
                   roi=ROI if ctm == "tf_crop_and_resize" else None,
                   coordinate_transformation_mode=ctm, extrapolation_value=-3.0)
        if mode == "nearest":
            cfg["nearest_mode"] = nearest_modes[k % 4]
        elif up:
            cfg.update(exclude_outside=int(mode == "cubic"), cubic_coeff_a=-0.5)
        else:
            cfg.update(antialias=1)
        out.append(cfg)
    return out


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
def test_every_coordinate_mode(mode):
    check_against_reference(_graph("f32", (1, 2, 7, 9), _configs(mode)))


def test_sizes_axes_and_aspect_policies_without_bounds_checks():
    g = Graph("resize_sizes")
    x = g.add_input("x", TensorType("f32", (2, 5, 6)))
    outs = [_resize(g, x, sizes=[9, 4], axes=[2, 1], mode="linear", keep_aspect_ratio_policy=p)
            for p in ("stretch", "not_larger", "not_smaller")]
    outs.append(_resize(g, x, sizes=[2, 5, 40], mode="nearest"))        # the last axis widens
    g.set_outputs(outs, ["a", "b", "c", "d"])
    check_against_reference(g, bounds_check=False)


@pytest.mark.parametrize("dtype", ["u8", "i32", "f16", "f64"])
def test_integer_and_other_float_dtypes(dtype):
    """Integer results round half to even and saturate exactly as the reference does."""
    cfgs = [dict(scales=[1, 1, 1.7, 0.5], mode=m) for m in ("nearest", "linear", "cubic")]
    g = _graph(dtype, (1, 3, 5, 6), cfgs)
    lo, hi = (0, 255) if dtype == "u8" else (-100, 100)
    xv = np.random.default_rng(1).integers(lo, hi, (1, 3, 5, 6))
    xv = xv.astype(TensorType(dtype, ()).dtype.np_dtype)
    check_against_reference(g, feeds={"x": xv}, rtol=1e-2 if dtype == "f16" else 1e-4)


def test_bool_nearest_and_identity():
    g = Graph("resize_bool")
    x = g.add_input("x", TensorType("bool", (2, 3)))
    g.set_outputs([_resize(g, x, scales=[2, 1.5]), _resize(g, x, scales=[1, 1])], ["a", "b"])
    check_against_reference(g)


def test_fused_producer_and_epilogue():
    """The input is an inlined Add; Relu and Mul run in the last pass's store."""
    g = Graph("resize_relu")
    x = g.add_input("x", TensorType("f32", (1, 4, 6, 6)))
    a = g.op("Add", x, x)
    y = _resize(g, a, scales=[1, 1, 2, 2], mode="linear")
    r = g.op("Relu", y)
    z = g.op("Mul", r, r)
    g.set_outputs([z], ["z"])
    _commit(g, [a.producer, y.producer, r.producer, z.producer], 0)
    assert [n.op for n in g.nodes] == ["FusedGroup"]
    check_against_reference(g)


def test_runtime_scales_are_rejected_with_the_node_named():
    g = Graph("resize_rt")
    x = g.add_input("x", TensorType("f32", (1, 1, 4, 4)))
    s = g.add_input("s", TensorType("f32", (4,)))
    y = g.create_node("Resize", [x, None, s], {"mode": "nearest"},
                      [TensorType("f32", (1, 1, 8, 8))], name="up").outputs[0]
    g.set_outputs([y], ["y"])
    with pytest.raises(LoweringError, match="'up'.*scales"):
        lower_graph(g, LowerTarget())
