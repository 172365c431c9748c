"""Resize (ONNX opset 19+ semantics): nearest / linear / cubic, separable along the resized
axes, with every coordinate_transformation_mode, nearest_mode, exclude_outside, antialias,
axes and keep_aspect_ratio_policy. Each axis is resized by a gather of `n` neighbours plus a
weighted sum (weights per output position), so no per-pixel Python loops."""
from __future__ import annotations

import math

import numpy as np

from ..ir.dtypes import FLOAT_DTYPES, f32, i64
from ..ir.types import UNKNOWN, TensorType
from .common import input_type, normalize_axes
from .registry import OpKind, def_op

MODES = ("nearest", "linear", "cubic")
COORD_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
               "asymmetric", "tf_crop_and_resize")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
ASPECT_POLICIES = ("stretch", "not_larger", "not_smaller")


def _fmt(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _choice(call, name, allowed):
    v = call.attrs[name]
    if v not in allowed:
        raise call.error(f"{name} is '{v}'; expected one of {', '.join(allowed)}")
    return v


def _present(call, i) -> bool:
    """An optional input that is given and not an empty tensor (ONNX's 'absent' spelling)."""
    if not call.has_input(i):
        return False
    t = call.input_types[i]
    return not (t.rank == 1 and t.shape[0] == 0)


def _check(call):
    """Validate types and attributes; returns (rank, axes, use_sizes). roi is only read (and
    its length checked) with tf_crop_and_resize, as the spec says."""
    x = input_type(call, 0)
    mode = _choice(call, "mode", MODES)
    _choice(call, "coordinate_transformation_mode", COORD_MODES)
    _choice(call, "nearest_mode", NEAREST_MODES)
    _choice(call, "keep_aspect_ratio_policy", ASPECT_POLICIES)   # used with sizes only
    for flag in ("exclude_outside", "antialias"):
        if int(call.attrs[flag]) not in (0, 1):
            raise call.error(f"{flag} must be 0 or 1, got {call.attrs[flag]}")
    if mode != "nearest" and x.dtype.name == "bool":
        raise call.error(f"mode={mode} needs a numeric input, got dtype {x.dtype}")
    if x.rank == 0:
        raise call.error("X must have rank >= 1, got a scalar")
    r = x.rank
    axes = (normalize_axes(call, call.attrs["axes"], r) if call.attrs.get("axes") is not None
            else list(range(r)))
    has_scales, has_sizes = _present(call, 2), _present(call, 3)
    if has_scales == has_sizes:
        raise call.error("exactly one of scales (input 2) and sizes (input 3) must be given, got "
                         + ("both" if has_scales else "neither"))
    crop = call.attrs["coordinate_transformation_mode"] == "tf_crop_and_resize"
    if crop and not _present(call, 1):
        raise call.error("coordinate_transformation_mode=tf_crop_and_resize needs roi (input 1)")
    if _present(call, 1):
        roi = input_type(call, 1)
        if roi.dtype not in FLOAT_DTYPES or roi.rank != 1:
            raise call.error(f"roi must be a 1-D float tensor, got {roi}")
        if crop and isinstance(roi.shape[0], int) and roi.shape[0] != 2 * len(axes):
            raise call.error(f"roi has {roi.shape[0]} values; expected {2 * len(axes)} "
                             f"(start and end for each of {len(axes)} axes)")
    idx, want = (2, f32) if has_scales else (3, i64)
    t = input_type(call, idx)
    name = "scales" if has_scales else "sizes"
    if t.dtype != want or t.rank != 1:
        raise call.error(f"{name} must be a 1-D {want} tensor, got {t}")
    if isinstance(t.shape[0], int) and t.shape[0] != len(axes):
        raise call.error(f"{name} has {t.shape[0]} values; expected {len(axes)} (one per "
                         f"{'axis in axes' if call.attrs.get('axes') is not None else 'dim of X'}"
                         f", X shape {_fmt(x.shape)})")
    return r, axes, has_sizes


def _plan(call, in_shape, scales, sizes, axes):
    """Per resized axis: (output length or '?', scale or None)."""
    policy = call.attrs["keep_aspect_ratio_policy"]
    plan = {}
    if scales is not None:
        for a, s in zip(axes, scales):
            s = np.float32(s)
            if not s > 0:
                raise call.error(f"scales must be positive, got {list(map(float, scales))}")
            L = in_shape[a]
            # floor(L * scale) in double, as ONNX's shape inference and reference do (so
            # 10 * 0.7f -> 6; onnxruntime multiplies in float32 and gets 7)
            out = int(math.floor(L * float(s))) if isinstance(L, int) else (
                L if s == 1 else UNKNOWN)
            plan[a] = (out, float(s))
        return plan
    sizes = [int(v) for v in sizes]
    if any(v < 0 for v in sizes):
        raise call.error(f"sizes {sizes} must be non-negative")
    if policy == "stretch":
        for a, v in zip(axes, sizes):
            L = in_shape[a]
            plan[a] = (v, v / L if isinstance(L, int) and L > 0 else None)
        return plan
    if not all(isinstance(in_shape[a], int) for a in axes):
        return {a: (UNKNOWN, None) for a in axes}
    ratios = [v / in_shape[a] if in_shape[a] > 0 else math.inf for a, v in zip(axes, sizes)]
    scale = min(ratios) if policy == "not_larger" else max(ratios)
    for a in axes:
        plan[a] = (int(scale * in_shape[a] + 0.5), scale)   # round half up
    return plan


def _resize_infer(call):
    _, axes, use_sizes = _check(call)
    x = input_type(call, 0)
    src = call.const(3 if use_sizes else 2)
    out = list(x.shape)
    if src is None:
        for a in axes:
            out[a] = UNKNOWN
    else:
        vals = np.asarray(src).reshape(-1)
        if vals.size != len(axes):
            raise call.error(f"{'sizes' if use_sizes else 'scales'} has {vals.size} values; "
                             f"expected {len(axes)}")
        plan = _plan(call, x.shape, None if use_sizes else vals, vals if use_sizes else None,
                     axes)
        for a, (o, _) in plan.items():
            out[a] = o
    return [TensorType(x.dtype, tuple(out))]


# ---- per-axis sampling -------------------------------------------------------------------------

def _source_coords(call, L, out, scale, roi_pair):
    """x_original for each output index along one axis, and the tf_crop_and_resize mask."""
    mode = call.attrs["coordinate_transformation_mode"]
    y = np.arange(out, dtype=np.float64)
    outside = None
    if mode == "half_pixel":
        x = (y + 0.5) / scale - 0.5
    elif mode == "half_pixel_symmetric":
        adjustment = out / (scale * L)
        x = (L / 2) * (1 - adjustment) + (y + 0.5) / scale - 0.5
    elif mode == "pytorch_half_pixel":
        x = (y + 0.5) / scale - 0.5 if out > 1 else np.zeros(out)
    elif mode == "align_corners":
        x = y * (L - 1) / (out - 1) if out > 1 else np.zeros(out)
    elif mode == "asymmetric":
        x = y / scale
    else:  # tf_crop_and_resize
        start, end = roi_pair
        if out > 1:
            x = start * (L - 1) + y * (end - start) * (L - 1) / (out - 1)
        else:
            x = np.full(out, 0.5 * (start + end) * (L - 1))
        outside = (x < 0) | (x > L - 1)
    return x, outside


def _cubic(t, a):
    t = np.abs(t)
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


def _taps(call, x, L, scale):
    """Neighbour indices (out, n) and weights (out, n) for sampling at coordinates x."""
    mode = call.attrs["mode"]
    if mode == "nearest":
        nm = call.attrs["nearest_mode"]
        if nm == "round_prefer_floor":
            idx = np.ceil(x - 0.5)
        elif nm == "round_prefer_ceil":
            idx = np.floor(x + 0.5)
        elif nm == "floor":
            idx = np.floor(x)
        else:
            idx = np.ceil(x)
        return idx.astype(np.int64)[:, None], np.ones((len(x), 1))
    # Taps sit at base + j, j in [start, start + n); ratio in (0, 1] (an integral x uses
    # base = x - 1 and ratio 1, so the tap set is the same as ONNX's reference).
    base = np.floor(x)
    ratio = x - base
    integral = ratio == 0
    base = np.where(integral, base - 1, base)
    ratio = np.where(integral, 1.0, ratio)
    aa = bool(call.attrs["antialias"]) and scale is not None and scale < 1
    s = scale if aa else 1.0
    if mode == "linear":
        start = int(np.floor(-1 / s)) + 1 if aa else 0
    else:
        start = int(np.floor(-2 / s)) + 1 if aa else -1
    n = 2 - 2 * start
    j = np.arange(start, start + n)[None, :]
    dist = (j - ratio[:, None]) * s
    if mode == "linear":
        w = np.clip(1 - np.abs(dist), 0, None)
    else:
        w = _cubic(dist, float(call.attrs["cubic_coeff_a"]))
    if aa:
        w = w / w.sum(axis=1, keepdims=True)
    idx = base.astype(np.int64)[:, None] + j
    return idx, w


def _resize_axis(call, data, axis, out, scale, roi_pair):
    L = data.shape[axis]
    if out == 0 or L == 0:
        shape = list(data.shape)
        shape[axis] = out
        return np.zeros(shape, data.dtype)
    x, outside = _source_coords(call, L, out, scale, roi_pair)
    idx, w = _taps(call, x, L, scale)
    if call.attrs["exclude_outside"] and call.attrs["mode"] != "nearest":
        w = np.where((idx < 0) | (idx >= L), 0.0, w)
        total = w.sum(axis=1, keepdims=True)
        w = w / np.where(total == 0, 1.0, total)
    idx = np.clip(idx, 0, L - 1)
    if call.attrs["mode"] == "nearest":
        res = np.take(data, idx[:, 0], axis=axis)
    else:
        g = np.take(data, idx, axis=axis)               # (..., out, n, ...)
        wshape = (1,) * axis + w.shape + (1,) * (data.ndim - axis - 1)
        res = (g * w.reshape(wshape).astype(data.dtype)).sum(axis=axis + 1)
    if outside is not None and outside.any():
        mshape = (1,) * axis + (out,) + (1,) * (data.ndim - axis - 1)
        fill = np.asarray(call.attrs["extrapolation_value"]).astype(data.dtype)
        res = np.where(outside.reshape(mshape), fill, res)
    return res


def _resize_compute(call):
    _, axes, use_sizes = _check(call)
    data = call.values[0]
    vals = np.asarray(call.values[3 if use_sizes else 2]).reshape(-1)
    plan = _plan(call, data.shape, None if use_sizes else vals, vals if use_sizes else None, axes)
    roi = None
    if _present(call, 1):
        roi = np.asarray(call.values[1], dtype=np.float64).reshape(-1)
    crop = call.attrs["coordinate_transformation_mode"] == "tf_crop_and_resize"
    dtype = data.dtype
    nearest = call.attrs["mode"] == "nearest"
    cur = data if nearest else data.astype(np.float64)
    for k, a in enumerate(axes):
        out, scale = plan[a]
        if scale is None:                      # sizes for an empty axis
            scale = 1.0
        pair = (roi[k], roi[len(axes) + k]) if crop else None
        if out == cur.shape[a] and scale == 1.0 and not crop:
            continue                           # identity along this axis
        cur = _resize_axis(call, cur, a, out, scale, pair)
    if nearest or dtype.kind == "f":
        return [np.asarray(cur, dtype=dtype)]
    info = np.iinfo(dtype)                     # integer linear/cubic: round and saturate
    return [np.clip(np.round(cur), info.min, info.max).astype(dtype)]


def_op("Resize", OpKind.OPAQUE, _resize_infer, _resize_compute, inputs=(1, 4),
       attrs={"antialias": ("int", 0), "axes": ("ints", None),
              "coordinate_transformation_mode": ("string", "half_pixel"),
              "cubic_coeff_a": ("float", -0.75), "exclude_outside": ("int", 0),
              "extrapolation_value": ("float", 0.0),
              "keep_aspect_ratio_policy": ("string", "stretch"), "mode": ("string", "nearest"),
              "nearest_mode": ("string", "round_prefer_floor")},
       doc="Resize X by scales or to sizes (one of them), separably along the resized axes.")
