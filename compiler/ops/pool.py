"""Pooling (ONNX semantics, N-d): MaxPool (with optional Indices), AveragePool, LpPool and the
Global*Pool reductions. Windows come from a strided view of the padded input; padded
positions never take part in a max and are counted in an average only with count_include_pad."""
from __future__ import annotations

import math

import numpy as np

from ..ir import dtypes as dt
from ..ir.dtypes import FLOAT_DTYPES
from ..ir.types import TensorType
from .common import input_type, require_dtype
from .registry import REQUIRED, OpKind, def_op
from .window import (fmt, get_auto_pad, get_flag, get_pads, lowest, out_dim, positions,
                     spatial_ints, spatial_rank, window_view)

_WINDOW_ATTRS = {"auto_pad": ("string", "NOTSET"), "ceil_mode": ("int", 0),
                 "dilations": ("ints", None), "kernel_shape": ("ints", REQUIRED),
                 "pads": ("ints", None), "strides": ("ints", None)}
MAXPOOL_DTYPES = FLOAT_DTYPES + (dt.i8, dt.u8)


def _geometry(call, x_shape):
    n = spatial_rank(call, x_shape, "X")
    kernel = call.attrs.get("kernel_shape")
    if kernel is None:
        raise call.error("attribute kernel_shape is required")
    kernel = [int(k) for k in kernel]
    if len(kernel) != n:
        raise call.error(f"kernel_shape {kernel} has {len(kernel)} values; expected {n} for X "
                         f"shape {fmt(x_shape)}")
    if any(k < 1 for k in kernel):
        raise call.error(f"kernel_shape {kernel} must be positive")
    strides = spatial_ints(call, "strides", n, 1, 1)
    dilations = spatial_ints(call, "dilations", n, 1, 1)
    pads = get_pads(call, n)
    auto_pad = get_auto_pad(call)
    ceil_mode = get_flag(call, "ceil_mode")
    out, used = [], []
    for i in range(n):
        o, p = out_dim(call, i, x_shape[2 + i], (kernel[i] - 1) * dilations[i] + 1, strides[i],
                       pads[i], pads[n + i], auto_pad, ceil_mode)
        out.append(o)
        used.append(p)
    return dict(n=n, kernel=kernel, strides=strides, dilations=dilations, out=out, pads=used)


def _windows(x, g, pad_value):
    return window_view(x, [p[0] for p in g["pads"]], g["out"], g["kernel"], g["strides"],
                       g["dilations"], pad_value)


def _valid_mask(x_shape, g, include_pad: bool):
    """Boolean (*out, *kernel) mask of the taps that count: inside the input, or (with
    include_pad) inside the explicit padding; taps past it (ceil_mode) never count."""
    n = g["n"]
    mask = np.ones((), dtype=bool)
    for i in range(n):
        L, (pb, pe) = x_shape[2 + i], g["pads"][i]
        pos = positions(g["out"][i], g["kernel"][i], g["strides"][i], g["dilations"][i], pb)
        m = ((pos >= -pb) & (pos < L + pe)) if include_pad else ((pos >= 0) & (pos < L))
        shape = [1] * (2 * n)
        shape[i], shape[n + i] = m.shape
        mask = mask & m.reshape(shape)
    return np.broadcast_to(mask, tuple(g["out"]) + tuple(g["kernel"]))


def _kernel_axes(g):
    n = g["n"]
    return tuple(range(2 + n, 2 + 2 * n))


def _out_type(call, dtype, x_shape, g):
    return TensorType(dtype, (x_shape[0], x_shape[1], *g["out"]))


# ---- MaxPool -----------------------------------------------------------------------------------

def _maxpool_infer(call):
    dtype = require_dtype(call, 0, MAXPOOL_DTYPES, "X")
    x = input_type(call, 0)
    get_flag(call, "storage_order")
    g = _geometry(call, x.shape)
    y = _out_type(call, dtype, x.shape, g)
    return [y] if call.num_outputs == 1 else [y, y.with_dtype(dt.i64)]


def _maxpool_compute(call):
    x = call.values[0]
    g = _geometry(call, x.shape)
    low = lowest(x.dtype)
    win = _windows(x, g, low)
    axes = _kernel_axes(g)
    y = win.max(axis=axes) if win.size else np.full(win.shape[:2 + g["n"]], low, x.dtype)
    if call.num_outputs == 1:
        return [np.ascontiguousarray(y, dtype=x.dtype)]
    return [np.ascontiguousarray(y, dtype=x.dtype), _argmax_indices(call, x, g, win, y)]


def _argmax_indices(call, x, g, win, y):
    """Flat index (over the whole input tensor) of the first maximal valid tap of each window,
    scanning taps in row-major order; storage_order=1 numbers the spatial dims column-major."""
    n, N, C = g["n"], x.shape[0], x.shape[1]
    out, kernel = g["out"], g["kernel"]
    K = math.prod(kernel)
    lead = (N, C) + tuple(out)
    valid = _valid_mask(x.shape, g, False).reshape(tuple(out) + (K,))
    flat = win.reshape(lead + (K,))
    ym = y[..., None]
    hit = (flat == ym)
    if x.dtype.kind == "f":
        hit |= np.isnan(flat) & np.isnan(ym)
    hit &= valid
    tap = np.argmax(hit, axis=-1)
    spatial = x.shape[2:]
    if get_flag(call, "storage_order"):
        mult = [math.prod(spatial[:i]) for i in range(n)]
    else:
        mult = [math.prod(spatial[i + 1:]) for i in range(n)]
    taps = np.unravel_index(tap, kernel)
    index = (np.arange(N).reshape((N,) + (1,) * (n + 1)) * C
             + np.arange(C).reshape((1, C) + (1,) * n)) * math.prod(spatial)
    for i in range(n):
        o = np.arange(out[i]).reshape((1, 1) + tuple(out[i] if a == i else 1 for a in range(n)))
        pos = o * g["strides"][i] - g["pads"][i][0] + taps[i] * g["dilations"][i]
        index = index + pos * mult[i]
    # a window wholly inside the padding has no element to point at: -1, as onnx.reference
    return np.where(hit.any(axis=-1), index, -1).astype(np.int64)


def_op("MaxPool", OpKind.OPAQUE, _maxpool_infer, _maxpool_compute, inputs=1, outputs=(1, 2),
       attrs=dict(_WINDOW_ATTRS, storage_order=("int", 0)),
       doc="Max over each window; optional second output: flat argmax indices (i64).")


# ---- AveragePool / LpPool ---------------------------------------------------------------------

def _float_pool_infer(call):
    dtype = require_dtype(call, 0, FLOAT_DTYPES, "X")
    x = input_type(call, 0)
    get_flag(call, "count_include_pad")
    _check_p(call)
    return [_out_type(call, dtype, x.shape, _geometry(call, x.shape))]


def _check_p(call):
    if "p" in call.op.attrs:
        p = int(call.attrs["p"])
        if p < 1:
            raise call.error(f"p must be >= 1, got {p}")
        return p
    return None


def _work(x):
    return x.astype(np.float32) if x.dtype == np.float16 else x


def _window_sums(x, g):
    win = _windows(x, g, 0)
    axes = _kernel_axes(g)
    return win.sum(axis=axes) if win.size else np.zeros(win.shape[:2 + g["n"]], x.dtype)


def _avgpool_compute(call):
    x = call.values[0]
    g = _geometry(call, x.shape)
    include = bool(get_flag(call, "count_include_pad"))
    xw = _work(x)
    sums = _window_sums(xw, g)
    counts = _valid_mask(x.shape, g, include).sum(axis=tuple(range(g["n"], 2 * g["n"])))
    with np.errstate(invalid="ignore", divide="ignore"):
        y = sums / counts.astype(xw.dtype)
    return [np.ascontiguousarray(y, dtype=x.dtype)]


def _lppool_compute(call):
    x = call.values[0]
    g = _geometry(call, x.shape)
    p = _check_p(call)
    xw = np.abs(_work(x))
    sums = _window_sums(xw ** p if p != 1 else xw, g)   # padding contributes |0|^p = 0
    y = sums if p == 1 else sums ** (1.0 / p)
    return [np.ascontiguousarray(y, dtype=x.dtype)]


def_op("AveragePool", OpKind.OPAQUE, _float_pool_infer, _avgpool_compute,
       attrs=dict(_WINDOW_ATTRS, count_include_pad=("int", 0)),
       doc="Mean over each window; padding counted only with count_include_pad=1.")
def_op("LpPool", OpKind.OPAQUE, _float_pool_infer, _lppool_compute,
       attrs=dict(_WINDOW_ATTRS, p=("int", 2)),
       doc="(sum over each window of |x|^p)^(1/p); padding contributes nothing.")


# ---- Global pools ------------------------------------------------------------------------------

def _global_infer(allowed):
    def infer(call):
        dtype = require_dtype(call, 0, allowed, "X")
        x = input_type(call, 0)
        n = spatial_rank(call, x.shape, "X")
        _check_p(call)
        return [TensorType(dtype, (x.shape[0], x.shape[1]) + (1,) * n)]
    return infer


def _global(fn):
    def compute(call):
        x = call.values[0]
        axes = tuple(range(2, x.ndim))
        with np.errstate(invalid="ignore", divide="ignore"):
            y = fn(call, _work(x), axes)
        return [np.asarray(y, dtype=x.dtype)]
    return compute


def _global_max(call, x, axes):
    if x.size == 0:
        return np.full(x.shape[:2] + (1,) * len(axes), lowest(x.dtype), x.dtype)
    return x.max(axis=axes, keepdims=True)


def _global_lp(call, x, axes):
    p = _check_p(call)
    return (np.abs(x) ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)


def_op("GlobalAveragePool", OpKind.REDUCTION, _global_infer(FLOAT_DTYPES),
       _global(lambda c, x, axes: x.mean(axis=axes, keepdims=True)))
def_op("GlobalMaxPool", OpKind.REDUCTION, _global_infer(FLOAT_DTYPES), _global(_global_max))
def_op("GlobalLpPool", OpKind.REDUCTION, _global_infer(FLOAT_DTYPES), _global(_global_lp),
       attrs={"p": ("int", 2)})
