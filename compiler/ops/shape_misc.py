"""Generators (ConstantOfShape, Range, EyeLike) and block layout ops (DepthToSpace,
SpaceToDepth)."""
from __future__ import annotations

import math

import numpy as np

from ..ir.dtypes import f16, f32, f64, from_numpy, i16, i32, i64
from ..ir.types import UNKNOWN, TensorType
from .common import input_type, require_dtype, require_same_dtype, unknown_shape
from .elementwise import ONNX_DTYPE
from .registry import REQUIRED, OpKind, def_op
from .shape_ops import fmt_shape, int_vector, mul_dim


# ---- ConstantOfShape ---------------------------------------------------------------------
def _fill_value(call) -> np.ndarray:
    v = call.attrs.get("value")
    if v is None:
        return np.zeros(1, dtype=np.float32)
    if v.size != 1:
        raise call.error(f"value must hold exactly one element, got shape {fmt_shape(v.shape)}")
    try:
        from_numpy(v.dtype)
    except ValueError as e:
        raise call.error(f"value: {e}") from None
    return v.reshape(1)


def _constant_of_shape_infer(call):
    dt = from_numpy(_fill_value(call).dtype)
    shape, n = int_vector(call, 0, "shape")
    if shape is None:
        if n is None:
            raise call.error("shape input has an unknown length, so the output rank is unknown")
        return [TensorType(dt, unknown_shape(n))]
    if any(d < 0 for d in shape):
        raise call.error(f"shape {fmt_shape(shape)} has a negative dim")
    return [TensorType(dt, tuple(shape))]


def _constant_of_shape_compute(call):
    v = _fill_value(call)
    return [np.full([int(d) for d in call.values[0]], v[0], dtype=v.dtype)]


def_op("ConstantOfShape", OpKind.OPAQUE, _constant_of_shape_infer, _constant_of_shape_compute,
       attrs={"value": ("tensor", None)})


# ---- Range ---------------------------------------------------------------------------------
_RANGE_DTYPES = (f16, f32, f64, i16, i32, i64)


def _range_count(call, start, limit, delta) -> int:
    if delta == 0:
        raise call.error("delta must not be 0")
    if isinstance(start, (np.integer, int)):
        start, limit, delta = int(start), int(limit), int(delta)
        return max(-((start - limit) // delta), 0)
    # as onnxruntime: the difference in the element type, the division in double
    n = math.ceil(float(limit - start) / float(delta))
    return max(n, 0)


def _range_scalars(call):
    vals = []
    for i, what in enumerate(("start", "limit", "delta")):
        t = input_type(call, i)
        if t.rank > 1 or (t.rank == 1 and t.shape[0] != 1):
            raise call.error(f"input {i} ({what}) must be a scalar, got {t}")
        v = call.const(i)
        vals.append(None if v is None else v.reshape(-1)[0])
    return vals


def _range_infer(call):
    require_dtype(call, 0, _RANGE_DTYPES, "start")
    dt = require_same_dtype(call, [0, 1, 2])
    start, limit, delta = _range_scalars(call)
    if start is None or limit is None or delta is None:
        return [TensorType(dt, (UNKNOWN,))]
    return [TensorType(dt, (_range_count(call, start, limit, delta),))]


def _range_compute(call):
    start, limit, delta = _range_scalars(call)
    dt = call.values[0].dtype
    work = np.dtype(np.float32) if dt == np.float16 and call.attrs["stash_type"] == 1 else dt
    start, limit, delta = (np.asarray(v, dtype=work)[()] for v in (start, limit, delta))
    n = _range_count(call, start, limit, delta)
    return [(start + np.arange(n, dtype=work) * delta).astype(dt)]


def_op("Range", OpKind.OPAQUE, _range_infer, _range_compute, attrs={"stash_type": ("int", 1)},
       inputs=3)


# ---- EyeLike -------------------------------------------------------------------------------
def _eyelike_dtype(call):
    x = input_type(call, 0)
    code = call.attrs.get("dtype")
    if code is None:
        return x.dtype
    if code not in ONNX_DTYPE:
        raise call.error(f"dtype {code} is not a supported ONNX data type code; supported: "
                         f"{', '.join(f'{k} ({v})' for k, v in ONNX_DTYPE.items())}")
    return ONNX_DTYPE[code]


def _eyelike_infer(call):
    x = input_type(call, 0)
    if x.rank != 2:
        raise call.error(f"input must be 2-D, got {x}")
    return [TensorType(_eyelike_dtype(call), x.shape)]


def_op("EyeLike", OpKind.OPAQUE, _eyelike_infer,
       lambda c: [np.eye(*c.values[0].shape, k=c.attrs["k"], dtype=_eyelike_dtype(c).np_dtype)],
       attrs={"dtype": ("int", None), "k": ("int", 0)})


# ---- DepthToSpace / SpaceToDepth -----------------------------------------------------------
def _blocksize(call, x: TensorType) -> int:
    if x.rank != 4:
        raise call.error(f"input must be 4-D [N,C,H,W], got {x}")
    b = call.attrs["blocksize"]
    if b < 1:
        raise call.error(f"blocksize must be >= 1, got {b}")
    return b


def _div_dim(call, d, k: int, what: str):
    if isinstance(d, int):
        if d % k:
            raise call.error(f"{what} ({d}) must be divisible by {k}")
        return d // k
    return d if k == 1 else UNKNOWN


def _depth_to_space_infer(call):
    x = input_type(call, 0)
    b = _blocksize(call, x)
    if call.attrs["mode"] not in ("DCR", "CRD"):
        raise call.error(f"mode must be DCR or CRD, got {call.attrs['mode']!r}")
    n, c, h, w = x.shape
    c = _div_dim(call, c, b * b, f"channels of {x}")
    return [x.with_shape((n, c, mul_dim(h, b), mul_dim(w, b)))]


def _depth_to_space_compute(call):
    x = call.values[0]
    b = call.attrs["blocksize"]
    n, c, h, w = x.shape
    if call.attrs["mode"] == "DCR":
        y = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        y = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return [y.reshape(n, c // (b * b), h * b, w * b)]


def_op("DepthToSpace", OpKind.INJECTIVE, _depth_to_space_infer, _depth_to_space_compute,
       attrs={"blocksize": ("int", REQUIRED), "mode": ("string", "DCR")})


def _space_to_depth_infer(call):
    x = input_type(call, 0)
    b = _blocksize(call, x)
    n, c, h, w = x.shape
    return [x.with_shape((n, mul_dim(c, b * b), _div_dim(call, h, b, f"height of {x}"),
                          _div_dim(call, w, b, f"width of {x}")))]


def _space_to_depth_compute(call):
    x = call.values[0]
    b = call.attrs["blocksize"]
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return [y.reshape(n, c * b * b, h // b, w // b)]


def_op("SpaceToDepth", OpKind.INJECTIVE, _space_to_depth_infer, _space_to_depth_compute,
       attrs={"blocksize": ("int", REQUIRED)})
