"""Normalisations: Softmax, LogSoftmax, LayerNormalization, BatchNormalization (inference),
InstanceNormalization, LpNormalization. Statistics are computed in f32 (f64 for f64 inputs)."""
from __future__ import annotations

import numpy as np

from ..ir import dtypes as D
from ..ir.dtypes import FLOAT_DTYPES
from ..ir.types import TensorType, dims_compatible
from .common import input_type, normalize_axis, require_dtype, require_same_dtype
from .elementwise import as_out, check_unidirectional, work_dtype
from .registry import OpKind, def_op


def _axis_infer(call):
    t = input_type(call, 0)
    require_dtype(call, 0, FLOAT_DTYPES)
    normalize_axis(call, call.attrs["axis"], t.rank)
    return [t]


def _softmax_parts(x, axis):
    m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    m = np.where(np.isfinite(m), m, 0).astype(x.dtype)
    shifted = x - m
    return shifted, np.sum(np.exp(shifted), axis=axis, keepdims=True)


def _softmax(c, log: bool):
    x = np.asarray(c.values[0])
    axis = normalize_axis(c, c.attrs["axis"], x.ndim)
    with np.errstate(all="ignore"):
        shifted, total = _softmax_parts(x.astype(work_dtype(x.dtype)), axis)
        r = shifted - np.log(total) if log else np.exp(shifted) / total
    return [as_out(r, x.dtype)]


def_op("Softmax", OpKind.OPAQUE, _axis_infer, lambda c: _softmax(c, False),
       attrs={"axis": ("int", -1)})
def_op("LogSoftmax", OpKind.OPAQUE, _axis_infer, lambda c: _softmax(c, True),
       attrs={"axis": ("int", -1)})


# ---- LayerNormalization --------------------------------------------------------------------
def _layernorm_infer(call):
    x = input_type(call, 0)
    require_dtype(call, 0, FLOAT_DTYPES)
    present = [i for i in (0, 1, 2) if call.has_input(i)]
    require_same_dtype(call, present)
    axis = normalize_axis(call, call.attrs["axis"], x.rank)
    if call.attrs["stash_type"] != 1:
        raise call.error(f"stash_type {call.attrs['stash_type']} is unsupported; only 1 (f32) is")
    check_unidirectional(call, 1, x.shape, "Scale")
    if call.has_input(2):
        check_unidirectional(call, 2, x.shape, "B")
    stat = TensorType(D.f32, x.shape[:axis] + (1,) * (x.rank - axis))
    return [x, stat, stat][:call.num_outputs]


def _layernorm(c):
    x, scale, bias = (list(c.values) + [None])[:3]
    axis = normalize_axis(c, c.attrs["axis"], x.ndim)
    axes = tuple(range(axis, x.ndim))
    w = work_dtype(x.dtype)
    with np.errstate(all="ignore"):
        xf = x.astype(w)
        n = w.type(np.prod([x.shape[a] for a in axes]))
        mean = np.sum(xf, axis=axes, keepdims=True) / n    # 0 / 0 = NaN when empty
        d = xf - mean
        var = np.sum(d * d, axis=axes, keepdims=True) / n
        inv = 1.0 / np.sqrt(var + w.type(c.attrs["epsilon"]))
        y = d * inv * scale.astype(w)
        if bias is not None:
            y = y + bias.astype(w)
    outs = [as_out(y, x.dtype), as_out(mean, np.float32), as_out(inv, np.float32)]
    return outs[:c.num_outputs]


def_op("LayerNormalization", OpKind.OPAQUE, _layernorm_infer, _layernorm, inputs=(2, 3),
       outputs=(1, 3),
       attrs={"axis": ("int", -1), "epsilon": ("float", 1e-5), "stash_type": ("int", 1)})


# ---- per-channel normalisations ------------------------------------------------------------
def _check_channel_vec(call, i, channels, what):
    t = input_type(call, i)
    if t.rank != 1 or not dims_compatible(t.shape[0], channels):
        raise call.error(f"input {i} ({what}) must have shape [{channels}] (one value per "
                         f"channel), got {list(t.shape)}")


def _per_channel(v, ndim):
    """A [C] vector shaped to broadcast against (N, C, D1, ...)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _batchnorm_infer(call):
    if call.attrs["training_mode"] != 0:
        raise call.error("training mode (training_mode=1) is unsupported; only inference is")
    if call.num_outputs != 1:
        raise call.error(f"in inference mode BatchNormalization has 1 output, got "
                         f"{call.num_outputs} (running_mean/var are training-mode outputs)")
    x = input_type(call, 0)
    require_dtype(call, 0, FLOAT_DTYPES, "X")
    if x.rank < 2:
        raise call.error(f"X must have rank >= 2 (N, C, ...), got shape {list(x.shape)}")
    for i, what in enumerate(("scale", "B", "input_mean", "input_var"), start=1):
        require_dtype(call, i, FLOAT_DTYPES, what)
        _check_channel_vec(call, i, x.shape[1], what)
    require_same_dtype(call, [1, 2])
    require_same_dtype(call, [3, 4])
    return [x]


def _batchnorm(c):
    x, scale, bias, mean, var = c.values
    if c.attrs["training_mode"] != 0:
        raise c.error("training mode (training_mode=1) is unsupported; only inference is")
    w = work_dtype(x.dtype, scale.dtype, mean.dtype)
    p = [_per_channel(v.astype(w), x.ndim) for v in (scale, bias, mean, var)]
    with np.errstate(all="ignore"):
        y = (x.astype(w) - p[2]) / np.sqrt(p[3] + w.type(c.attrs["epsilon"])) * p[0] + p[1]
    return [as_out(y, x.dtype)]


def_op("BatchNormalization", OpKind.BROADCAST, _batchnorm_infer, _batchnorm, inputs=5,
       outputs=(1, 3),
       attrs={"epsilon": ("float", 1e-5), "momentum": ("float", 0.9), "training_mode": ("int", 0)})


def _instnorm_infer(call):
    x = input_type(call, 0)
    require_dtype(call, 0, FLOAT_DTYPES)
    require_same_dtype(call, [0, 1, 2])
    if x.rank < 3:
        raise call.error(f"input must have rank >= 3 (N, C, D1, ...), got shape {list(x.shape)}")
    _check_channel_vec(call, 1, x.shape[1], "scale")
    _check_channel_vec(call, 2, x.shape[1], "B")
    return [x]


def _instnorm(c):
    x, scale, bias = c.values
    w = work_dtype(x.dtype)
    axes = tuple(range(2, x.ndim))
    with np.errstate(all="ignore"):
        xf = x.astype(w)
        n = w.type(np.prod([x.shape[a] for a in axes]))
        mean = np.sum(xf, axis=axes, keepdims=True) / n
        d = xf - mean
        var = np.sum(d * d, axis=axes, keepdims=True) / n
        y = d / np.sqrt(var + w.type(c.attrs["epsilon"])) * _per_channel(scale.astype(w), x.ndim)
        y = y + _per_channel(bias.astype(w), x.ndim)
    return [as_out(y, x.dtype)]


def_op("InstanceNormalization", OpKind.OPAQUE, _instnorm_infer, _instnorm, inputs=3,
       attrs={"epsilon": ("float", 1e-5)})


def _lpnorm_infer(call):
    if call.attrs["p"] not in (1, 2):
        raise call.error(f"attribute p must be 1 or 2, got {call.attrs['p']}")
    return _axis_infer(call)


def _lpnorm(c):
    x = np.asarray(c.values[0])
    axis = normalize_axis(c, c.attrs["axis"], x.ndim)
    with np.errstate(all="ignore"):
        xf = x.astype(work_dtype(x.dtype))
        if c.attrs["p"] == 1:
            norm = np.sum(np.abs(xf), axis=axis, keepdims=True)
        else:
            norm = np.sqrt(np.sum(xf * xf, axis=axis, keepdims=True))
        r = np.where(norm == 0, 0, xf / np.where(norm == 0, 1, norm))
    return [as_out(r, x.dtype)]


def_op("LpNormalization", OpKind.OPAQUE, _lpnorm_infer, _lpnorm,
       attrs={"axis": ("int", -1), "p": ("int", 2)})
