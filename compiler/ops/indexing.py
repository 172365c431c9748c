"""Indexing ops: Slice, Gather, GatherElements, GatherND, ScatterElements, ScatterND, OneHot,
NonZero, Compress."""
from __future__ import annotations

import numpy as np

from ..ir.dtypes import bool_, i64
from ..ir.types import UNKNOWN, TensorType, dims_compatible
from .common import input_type, normalize_axes, normalize_axis, require_same_dtype, unknown_shape
from .registry import OpKind, def_op
from .shape_ops import INDEX_DTYPES, dim_product, fmt_shape, int_vector

_BIG = 2**31 - 1     # ends at/after this (or starts at/before -this) reach the end of any dim


def _index_dtype(call, i: int, what: str = "indices"):
    t = input_type(call, i)
    if t.dtype not in INDEX_DTYPES:
        raise call.error(f"{what} must be i32 or i64, got {t.dtype}")
    return t


def _check_bounds(idx: np.ndarray, size: int, what: str = "index") -> np.ndarray:
    """Raise on indices outside [-size, size-1]; return them with negatives wrapped."""
    idx = np.asarray(idx, dtype=np.int64)
    bad = (idx < -size) | (idx >= size)
    if bad.any():
        raise IndexError(f"{what} {int(idx[bad].reshape(-1)[0])} is out of bounds for size {size}")
    return np.where(idx < 0, idx + size, idx)


# ---- Slice -------------------------------------------------------------------------------
def _slice_bounds(dim: int, start: int, end: int, step: int):
    """Effective (start, end, length) under ONNX's clamping rules for a static dim."""
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        start, end = min(max(start, 0), dim), min(max(end, 0), dim)
        return start, end, max(0, -(-(end - start) // step))
    start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return start, end, max(0, -(-(start - end) // -step))


def _slice_dim(dim, start: int, end: int, step: int):
    if isinstance(dim, int):
        return _slice_bounds(dim, start, end, step)[2]
    forward = step == 1 and (start == 0 or start <= -_BIG) and end >= _BIG
    backward = step == -1 and (start == -1 or start >= _BIG) and end <= -_BIG
    if forward or backward:
        return dim       # the whole axis, forwards or backwards
    return UNKNOWN


def _slice_spec(call):
    """[(axis, start, end, step)] when all are constant, else None (with rank checks done)."""
    x = input_type(call, 0)
    starts, n_s = int_vector(call, 1, "starts")
    ends, n_e = int_vector(call, 2, "ends")
    axes, n_a = int_vector(call, 3, "axes") if call.has_input(3) else (None, None)
    steps, n_st = int_vector(call, 4, "steps") if call.has_input(4) else (None, None)
    lens = {k: v for k, v in (("starts", n_s), ("ends", n_e), ("axes", n_a), ("steps", n_st))
            if v is not None}
    if len(set(lens.values())) > 1:
        raise call.error("starts, ends, axes and steps must have the same length; got "
                         + ", ".join(f"{k} {v}" for k, v in lens.items()))
    if starts is None or ends is None or (call.has_input(3) and axes is None) \
            or (call.has_input(4) and steps is None):
        return None
    if axes is None:
        if len(starts) > x.rank:
            raise call.error(f"{len(starts)} starts for the {x.rank} axes of {x}")
        axes = list(range(len(starts)))
    axes = normalize_axes(call, axes, x.rank)
    steps = steps if steps is not None else [1] * len(starts)
    if 0 in steps:
        raise call.error(f"steps {steps} must not contain 0")
    return list(zip(axes, starts, ends, steps))


def _slice_infer(call):
    x = input_type(call, 0)
    spec = _slice_spec(call)
    if spec is not None:
        out = list(x.shape)
        for axis, s, e, st in spec:
            out[axis] = _slice_dim(x.shape[axis], s, e, st)
        return [x.with_shape(tuple(out))]
    # some bounds are not constant: the sliced axes get unknown sizes
    if call.has_input(3):
        axes = call.const(3)
        if axes is None:
            return [x.with_shape(unknown_shape(x.rank))]
        axes = normalize_axes(call, [int(a) for a in axes.reshape(-1)], x.rank)
    else:
        n = int_vector(call, 1, "starts")[1]
        axes = range(x.rank if n is None else n)
    return [x.with_shape(tuple(UNKNOWN if i in axes else d for i, d in enumerate(x.shape)))]


def _slice_compute(call):
    x = call.values[0]
    index = [slice(None)] * x.ndim
    for axis, s, e, st in _slice_spec(call):
        s, e, n = _slice_bounds(x.shape[axis], s, e, st)
        stop = s + n * st
        index[axis] = slice(0, 0) if n == 0 else slice(s, stop if stop >= 0 else None, st)
    return [x[tuple(index)]]


def_op("Slice", OpKind.INJECTIVE, _slice_infer, _slice_compute, inputs=(3, 5))


# ---- Gather / GatherElements / GatherND -----------------------------------------------------
def _gather_infer(call):
    data = input_type(call, 0)
    ind = _index_dtype(call, 1)
    if data.rank == 0:
        raise call.error("data must have rank >= 1, got a scalar")
    axis = normalize_axis(call, call.attrs["axis"], data.rank)
    return [data.with_shape(data.shape[:axis] + ind.shape + data.shape[axis + 1:])]


def _gather_compute(call):
    data, idx = call.values
    axis = normalize_axis(call, call.attrs["axis"], data.ndim)
    return [np.take(data, _check_bounds(idx, data.shape[axis]), axis=axis)]


def_op("Gather", OpKind.INJECTIVE, _gather_infer, _gather_compute, attrs={"axis": ("int", 0)},
       inputs=2)


def _gather_elements_infer(call):
    data = input_type(call, 0)
    ind = _index_dtype(call, 1)
    if data.rank == 0 or ind.rank != data.rank:
        raise call.error(f"data and indices must have the same rank >= 1; got {data} and {ind}")
    axis = normalize_axis(call, call.attrs["axis"], data.rank)
    for j, (a, b) in enumerate(zip(ind.shape, data.shape)):
        if j != axis and isinstance(a, int) and isinstance(b, int) and a > b:
            raise call.error(f"indices {ind} exceed data {data} along axis {j}")
    return [data.with_shape(ind.shape)]


def _gather_elements_compute(call):
    data, idx = call.values
    axis = normalize_axis(call, call.attrs["axis"], data.ndim)
    idx = _check_bounds(idx, data.shape[axis])
    crop = tuple(slice(None) if j == axis else slice(0, n) for j, n in enumerate(idx.shape))
    return [np.take_along_axis(data[crop], idx, axis=axis)]


def_op("GatherElements", OpKind.OPAQUE, _gather_elements_infer, _gather_elements_compute,
       attrs={"axis": ("int", 0)}, inputs=2)


def _nd_index_depth(call, data: TensorType, ind: TensorType, b: int) -> int:
    if ind.rank < 1:
        raise call.error(f"indices must have rank >= 1, got {ind}")
    k = ind.shape[-1]
    if not isinstance(k, int):
        raise call.error(f"the last dim of indices {ind} must be static")
    if not 1 <= k <= data.rank - b:
        raise call.error(f"the last dim of indices {ind} must be in [1, {data.rank - b}] "
                         f"(data rank {data.rank} minus batch_dims {b}), got {k}")
    return k


def _gather_nd_infer(call):
    data, ind = input_type(call, 0), _index_dtype(call, 1)
    b = call.attrs["batch_dims"]
    if not 0 <= b < min(data.rank, ind.rank):
        raise call.error(f"batch_dims {b} must be in [0, min(rank(data), rank(indices))) for "
                         f"{data} and {ind}")
    k = _nd_index_depth(call, data, ind, b)
    batch = []
    for j in range(b):
        a, d = ind.shape[j], data.shape[j]
        if not dims_compatible(a, d):
            raise call.error(f"batch dim {j} differs: indices {ind} vs data {data}")
        batch.append(a if isinstance(a, int) else d)
    return [data.with_shape(tuple(batch) + ind.shape[b:-1] + data.shape[b + k:])]


def _gather_nd_compute(call):
    data, idx = call.values
    b = call.attrs["batch_dims"]
    k = idx.shape[-1]
    nb = int(np.prod(data.shape[:b], dtype=np.int64))
    m = int(np.prod(idx.shape[b:-1], dtype=np.int64))
    d = data.reshape((nb,) + data.shape[b:])
    ind = idx.reshape(nb, m, k)
    cols = [_check_bounds(ind[..., j], data.shape[b + j]) for j in range(k)]
    out = d[(np.arange(nb)[:, None],) + tuple(cols)]
    return [out.reshape(idx.shape[:-1] + data.shape[b + k:])]


def_op("GatherND", OpKind.OPAQUE, _gather_nd_infer, _gather_nd_compute,
       attrs={"batch_dims": ("int", 0)}, inputs=2)


# ---- ScatterElements / ScatterND ------------------------------------------------------------
_REDUCERS = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


def _reduction(call):
    r = call.attrs["reduction"]
    if r != "none" and r not in _REDUCERS:
        raise call.error(f"reduction must be one of none, add, mul, max, min; got {r!r}")
    return r


def _scatter_into(call, out: np.ndarray, index: tuple, updates: np.ndarray) -> list:
    r = _reduction(call)
    if r == "none":
        out[index] = updates
    else:
        _REDUCERS[r].at(out, index, updates)
    return [out]


def _scatter_elements_infer(call):
    data, ind, upd = input_type(call, 0), _index_dtype(call, 1), input_type(call, 2)
    require_same_dtype(call, [0, 2])
    _reduction(call)
    if data.rank == 0 or ind.rank != data.rank:
        raise call.error(f"data and indices must have the same rank >= 1; got {data} and {ind}")
    if upd.rank != ind.rank or not all(dims_compatible(a, b) for a, b in zip(upd.shape, ind.shape)):
        raise call.error(f"updates {upd} must have the shape of indices {ind}")
    normalize_axis(call, call.attrs["axis"], data.rank)
    return [data]


def _scatter_elements_compute(call):
    data, idx, upd = call.values
    axis = normalize_axis(call, call.attrs["axis"], data.ndim)
    grid = list(np.indices(idx.shape, sparse=True))
    grid[axis] = _check_bounds(idx, data.shape[axis])
    return _scatter_into(call, data.copy(), tuple(grid), upd)


def_op("ScatterElements", OpKind.OPAQUE, _scatter_elements_infer, _scatter_elements_compute,
       attrs={"axis": ("int", 0), "reduction": ("string", "none")}, inputs=3)


def _scatter_nd_infer(call):
    data, ind, upd = input_type(call, 0), _index_dtype(call, 1), input_type(call, 2)
    require_same_dtype(call, [0, 2])
    _reduction(call)
    if data.rank == 0:
        raise call.error("data must have rank >= 1, got a scalar")
    k = _nd_index_depth(call, data, ind, 0)
    want = ind.shape[:-1] + data.shape[k:]
    if upd.rank != len(want) or not all(dims_compatible(a, b) for a, b in zip(upd.shape, want)):
        raise call.error(f"updates has shape {fmt_shape(upd.shape)}, expected "
                         f"indices.shape[:-1] + data.shape[{k}:] = {fmt_shape(want)}")
    return [data]


def _scatter_nd_compute(call):
    data, idx, upd = call.values
    k = idx.shape[-1]
    flat = idx.reshape(-1, k)
    index = tuple(_check_bounds(flat[:, j], data.shape[j]) for j in range(k))
    return _scatter_into(call, data.copy(), index, upd.reshape((flat.shape[0],) + data.shape[k:]))


def_op("ScatterND", OpKind.OPAQUE, _scatter_nd_infer, _scatter_nd_compute,
       attrs={"reduction": ("string", "none")}, inputs=3)


# ---- OneHot ---------------------------------------------------------------------------------
def _onehot_parts(call):
    ind, depth_t, values = (input_type(call, i) for i in range(3))
    for i, t, what in ((0, ind, "indices"), (1, depth_t, "depth")):
        if t.dtype == bool_:
            raise call.error(f"input {i} ({what}) must be numeric, got {t.dtype}")
    if depth_t.rank > 1 or (depth_t.rank == 1 and depth_t.shape[0] != 1):
        raise call.error(f"depth must be a scalar or a 1-element tensor, got {depth_t}")
    if values.rank != 1 or values.shape[0] not in (2, UNKNOWN):
        raise call.error(f"values must be a 1-D tensor [off_value, on_value], got {values}")
    axis = call.attrs["axis"]
    if not -(ind.rank + 1) <= axis <= ind.rank:
        raise call.error(f"axis {axis} is out of range for output rank {ind.rank + 1}")
    axis = axis + ind.rank + 1 if axis < 0 else axis
    d = call.const(1)
    depth = None
    if d is not None:
        depth = int(d.reshape(-1)[0])
        if depth < 1:
            raise call.error(f"depth must be >= 1, got {depth}")
    return ind, values, axis, depth


def _onehot_infer(call):
    ind, values, axis, depth = _onehot_parts(call)
    dim = UNKNOWN if depth is None else depth
    return [TensorType(values.dtype, ind.shape[:axis] + (dim,) + ind.shape[axis:])]


def _onehot_compute(call):
    _, _, axis, depth = _onehot_parts(call)
    idx = call.values[0].astype(np.int64)
    off, on = call.values[2]
    idx = np.where(idx < 0, idx + depth, idx)
    hot = idx[..., None] == np.arange(depth)       # out-of-range indices match nothing
    return [np.moveaxis(np.where(hot, on, off), -1, axis).astype(call.values[2].dtype)]


def_op("OneHot", OpKind.OPAQUE, _onehot_infer, _onehot_compute, attrs={"axis": ("int", -1)},
       inputs=3)


# ---- NonZero / Compress ---------------------------------------------------------------------
def _nonzero_infer(call):
    x = input_type(call, 0)
    v = call.const(0)
    return [TensorType(i64, (x.rank, UNKNOWN if v is None else int(np.count_nonzero(v))))]


def _nonzero_compute(call):
    x = call.values[0]
    if x.ndim == 0:     # ONNX: a scalar gives shape (0, N), not numpy's (1, N)
        return [np.zeros((0, int(np.count_nonzero(x))), dtype=np.int64)]
    return [np.stack(np.nonzero(x)).astype(np.int64)]


def_op("NonZero", OpKind.OPAQUE, _nonzero_infer, _nonzero_compute)


def _compress_infer(call):
    x, cond = input_type(call, 0), input_type(call, 1)
    if cond.dtype != bool_ or cond.rank != 1:
        raise call.error(f"condition must be a 1-D bool tensor, got {cond}")
    axis = call.attrs.get("axis")
    dim = dim_product(x.shape) if axis is None else None
    if axis is not None:
        axis = normalize_axis(call, axis, x.rank)
        dim = x.shape[axis]
    c = call.const(1)
    n = UNKNOWN if c is None else int(np.count_nonzero(c))
    if c is not None and isinstance(dim, int) and np.count_nonzero(c[dim:]):
        raise call.error(f"condition selects entries beyond the {dim} elements of the selected "
                         f"axis (condition has {c.shape[0]} entries)")
    if axis is None:
        return [x.with_shape((n,))]
    return [x.with_shape(x.shape[:axis] + (n,) + x.shape[axis + 1:])]


def _compress_compute(call):
    x, cond = call.values
    return [np.compress(cond, x, axis=call.attrs.get("axis"))]


def_op("Compress", OpKind.OPAQUE, _compress_infer, _compress_compute,
       attrs={"axis": ("int", None)}, inputs=2)
