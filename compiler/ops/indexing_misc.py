"""More data-movement ops: Pad, Trilu, CumSum, ReverseSequence, TopK."""
from __future__ import annotations

import numpy as np

from ..ir.dtypes import bool_, i64
from ..ir.types import UNKNOWN, TensorType
from .common import input_type, normalize_axes, normalize_axis, same_as_input, unknown_shape
from .registry import OpKind, def_op
from .shape_ops import int_scalar, int_vector

_PAD_MODES = ("constant", "reflect", "edge", "wrap")


# ---- Pad ---------------------------------------------------------------------------------
def _pad_widths(call):
    """[(begin, end)] per input axis, or None when pads/axes are not constants; also the axes
    the pads apply to (None when unknown)."""
    x = input_type(call, 0)
    mode = call.attrs["mode"]
    if mode not in _PAD_MODES:
        raise call.error(f"mode must be one of {', '.join(_PAD_MODES)}; got {mode!r}")
    pads, n = int_vector(call, 1, "pads")
    if call.has_input(2):
        cv = input_type(call, 2)
        if cv.dtype != x.dtype:
            raise call.error(f"constant_value has dtype {cv.dtype}, but data has {x.dtype}")
        if cv.rank > 1 or (cv.rank == 1 and cv.shape[0] != 1):
            raise call.error(f"constant_value must be a scalar, got {cv}")
    axes = list(range(x.rank))
    if call.has_input(3):
        axes, _ = int_vector(call, 3, "axes")
        if axes is None:
            return None, None
        axes = normalize_axes(call, axes, x.rank)
    if n is not None and n != 2 * len(axes):
        raise call.error(f"pads has {n} entries; expected 2 * {len(axes)} (begin and end for "
                         f"each padded axis)")
    if pads is None:
        return None, axes
    widths = [(0, 0)] * x.rank
    for j, a in enumerate(axes):
        widths[a] = (pads[j], pads[len(axes) + j])
    return widths, axes


def _pad_infer(call):
    x = input_type(call, 0)
    widths, axes = _pad_widths(call)
    if widths is None:
        if axes is None:
            return [x.with_shape(unknown_shape(x.rank))]
        return [x.with_shape(tuple(UNKNOWN if i in axes else d for i, d in enumerate(x.shape)))]
    out = []
    for i, (d, (b, e)) in enumerate(zip(x.shape, widths)):
        if not isinstance(d, int):
            out.append(d if b + e == 0 else UNKNOWN)
            continue
        if d + b + e < 0:
            raise call.error(f"pads ({b}, {e}) on axis {i} of {x} give a negative size {d + b + e}")
        if d == 0 and (b > 0 or e > 0) and call.attrs["mode"] != "constant":
            raise call.error(f"cannot {call.attrs['mode']}-pad axis {i} of {x}: it is empty")
        out.append(d + b + e)
    return [x.with_shape(tuple(out))]


def _crop(x: np.ndarray, widths) -> np.ndarray:
    return x[tuple(slice(max(-b, 0), n - max(-e, 0)) for n, (b, e) in zip(x.shape, widths))]


def _pad_compute(call):
    x = call.values[0]
    widths, _ = _pad_widths(call)
    mode = call.attrs["mode"]
    grow = [(max(b, 0), max(e, 0)) for b, e in widths]
    if mode == "wrap":          # as onnxruntime: negative pads crop before wrapping
        return [np.pad(_crop(x, widths), grow, mode="wrap")]
    if mode == "constant":
        cv = call.values[2] if len(call.values) > 2 and call.values[2] is not None else 0
        padded = np.pad(x, grow, mode="constant",
                        constant_values=np.asarray(cv, dtype=x.dtype).reshape(()))
    else:
        padded = np.pad(x, grow, mode=mode)
    return [_crop(padded, widths)]


def_op("Pad", OpKind.INJECTIVE, _pad_infer, _pad_compute, attrs={"mode": ("string", "constant")},
       inputs=(2, 4))


# ---- Trilu ---------------------------------------------------------------------------------
def _trilu_infer(call):
    x = input_type(call, 0)
    if x.rank < 2:
        raise call.error(f"input must have rank >= 2, got {x}")
    if call.has_input(1):
        int_scalar(call, 1, "k")
    return [x]


def _trilu_compute(call):
    x = call.values[0]
    k = int(call.values[1].reshape(-1)[0]) if call.has_input(1) else 0
    return [np.triu(x, k) if call.attrs["upper"] else np.tril(x, k)]


def_op("Trilu", OpKind.INJECTIVE, _trilu_infer, _trilu_compute, attrs={"upper": ("int", 1)},
       inputs=(1, 2))


# ---- CumSum --------------------------------------------------------------------------------
def _cumsum_axis(call):
    x = input_type(call, 0)
    if x.dtype == bool_:
        raise call.error("x must be numeric, got bool")
    if x.rank == 0:
        raise call.error("x must have rank >= 1, got a scalar")
    axis = int_scalar(call, 1, "axis")
    return None if axis is None else normalize_axis(call, axis, x.rank)


def _cumsum_infer(call):
    _cumsum_axis(call)
    return same_as_input(0)(call)


def _cumsum_compute(call):
    x = call.values[0]
    axis = _cumsum_axis(call)
    rev = call.attrs["reverse"]
    y = np.flip(x, axis) if rev else x
    c = np.cumsum(y, axis=axis, dtype=x.dtype)
    if call.attrs["exclusive"] and x.shape[axis]:
        c = np.roll(c, 1, axis=axis)
        c[(slice(None),) * axis + (0,)] = 0
    return [np.flip(c, axis) if rev else c]


def_op("CumSum", OpKind.OPAQUE, _cumsum_infer, _cumsum_compute,
       attrs={"exclusive": ("int", 0), "reverse": ("int", 0)}, inputs=2)


# ---- ReverseSequence ---------------------------------------------------------------------------
def _reverse_sequence_axes(call):
    x = input_type(call, 0)
    if x.rank < 2:
        raise call.error(f"input must have rank >= 2, got {x}")
    b, t = call.attrs["batch_axis"], call.attrs["time_axis"]
    if {b, t} != {0, 1}:
        raise call.error(f"batch_axis ({b}) and time_axis ({t}) must be 0 and 1 in some order")
    lens = input_type(call, 1)
    if lens.dtype != i64 or lens.rank != 1:
        raise call.error(f"sequence_lens must be a 1-D i64 tensor, got {lens}")
    n, m = lens.shape[0], x.shape[b]
    if isinstance(n, int) and isinstance(m, int) and n != m:
        raise call.error(f"sequence_lens has {n} entries but the batch axis of {x} has size {m}")
    return b, t


def _reverse_sequence_infer(call):
    _reverse_sequence_axes(call)
    return [input_type(call, 0)]


def _reverse_sequence_compute(call):
    x, lens = call.values
    b_axis, t_axis = _reverse_sequence_axes(call)
    y = x.copy()
    for b, n in enumerate(lens):
        if not 0 <= n <= x.shape[t_axis]:
            raise ValueError(f"sequence_lens[{b}] = {n} is outside [0, {x.shape[t_axis]}]")
        sel = [slice(None)] * x.ndim
        sel[b_axis], sel[t_axis] = b, slice(0, int(n))
        y[tuple(sel)] = np.flip(x[tuple(sel)], axis=0)   # the time axis comes first once b is fixed
    return [y]


def_op("ReverseSequence", OpKind.OPAQUE, _reverse_sequence_infer, _reverse_sequence_compute,
       attrs={"batch_axis": ("int", 1), "time_axis": ("int", 0)}, inputs=2)


# ---- TopK ------------------------------------------------------------------------------------
def _topk_parts(call):
    x = input_type(call, 0)
    if x.dtype == bool_:
        raise call.error("X must be numeric, got bool")
    if x.rank == 0:
        raise call.error("X must have rank >= 1, got a scalar")
    if call.num_outputs != 2:
        raise call.error(f"has 2 outputs (values, indices), not {call.num_outputs}")
    axis = normalize_axis(call, call.attrs["axis"], x.rank)
    k = int_scalar(call, 1, "K")
    dim = x.shape[axis]
    if k is not None and (k < 0 or (isinstance(dim, int) and k > dim)):
        raise call.error(f"K = {k} must be in [0, {dim}] (the size of axis {axis} of {x})")
    return x, axis, k


def _topk_infer(call):
    x, axis, k = _topk_parts(call)
    shape = x.shape[:axis] + (UNKNOWN if k is None else k,) + x.shape[axis + 1:]
    return [x.with_shape(shape), TensorType(i64, shape)]


def _topk_compute(call):
    x = call.values[0]
    _, axis, k = _topk_parts(call)
    n = x.shape[axis]
    if call.attrs["largest"]:
        # descending by value, ties by ascending index: stable-sort the reversed axis ascending,
        # then reverse that order and map positions back
        order = n - 1 - np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)
    else:
        order = np.argsort(x, axis=axis, kind="stable")
    idx = np.take(order, np.arange(k), axis=axis).astype(np.int64)
    return [np.take_along_axis(x, idx, axis=axis), idx]


def_op("TopK", OpKind.OPAQUE, _topk_infer, _topk_compute,
       attrs={"axis": ("int", -1), "largest": ("int", 1), "sorted": ("int", 1)}, inputs=2,
       outputs=2)
