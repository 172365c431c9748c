"""Layout ops: Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Expand, Shape, Size, Identity,
Concat, Split, Tile. Also the small shape helpers the other layout/indexing modules share."""
from __future__ import annotations

import numpy as np

from ..ir.dtypes import i32, i64
from ..ir.types import UNKNOWN, TensorType
from .common import (broadcast_shapes, const_ints, input_type, normalize_axes, normalize_axis,
                     require_same_dtype, same_as_input, unknown_shape)
from .registry import REQUIRED, OpKind, def_op

INDEX_DTYPES = (i32, i64)


def fmt_shape(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def dim_product(dims):
    """Product of possibly symbolic dims: static when all are static (or one is 0), the symbol
    itself when it is the only symbolic factor and the rest multiply to 1, else unknown."""
    static, syms = 1, []
    for d in dims:
        if isinstance(d, int):
            static *= d
        else:
            syms.append(d)
    if not syms or static == 0:
        return static
    if len(syms) == 1 and static == 1 and syms[0] != UNKNOWN:
        return syms[0]
    return UNKNOWN


def mul_dim(d, k: int):
    if isinstance(d, int):
        return d * k
    return d if k == 1 else (0 if k == 0 else UNKNOWN)


def int_vector(call, i: int, what: str, allow_scalar: bool = False):
    """Check that input i is an integer 1-D tensor (or a scalar when allowed); return
    (its constant values or None, its static length or None)."""
    t = input_type(call, i)
    if t.dtype not in INDEX_DTYPES:
        raise call.error(f"input {i} ({what}) must be i32 or i64, got {t.dtype}")
    if t.rank == 0 and allow_scalar:
        length = 1
    elif t.rank != 1:
        raise call.error(f"input {i} ({what}) must be 1-D, got {t}")
    else:
        length = t.shape[0] if isinstance(t.shape[0], int) else None
    return const_ints(call, i, what), length


def int_scalar(call, i: int, what: str):
    """A scalar (or 1-element) integer input: its value when constant, else None."""
    t = input_type(call, i)
    if t.dtype not in INDEX_DTYPES:
        raise call.error(f"input {i} ({what}) must be i32 or i64, got {t.dtype}")
    if t.rank > 1 or (t.rank == 1 and isinstance(t.shape[0], int) and t.shape[0] != 1):
        raise call.error(f"input {i} ({what}) must be a scalar or a 1-element tensor, got {t}")
    vals = const_ints(call, i, what)
    if vals is not None and len(vals) != 1:
        raise call.error(f"input {i} ({what}) must hold one value, got {len(vals)}")
    return None if vals is None else vals[0]


# ---- Reshape / Flatten / Squeeze / Unsqueeze ----------------------------------------------
def _reshape_dims(call, x: TensorType, target: list, allowzero: int) -> tuple:
    bad = f"cannot reshape {x} ({_numel_str(x)}) to {fmt_shape(target)}"
    if target.count(-1) > 1:
        raise call.error(f"{bad}: at most one dim may be -1")
    if any(d < -1 for d in target):
        raise call.error(f"{bad}: dims must be >= -1")
    if allowzero and 0 in target and -1 in target:
        raise call.error(f"{bad}: with allowzero=1 the shape cannot hold both 0 and -1")
    out = []
    for i, d in enumerate(target):
        if d == 0 and not allowzero:
            if i >= x.rank:
                raise call.error(f"{bad}: shape[{i}] = 0 copies input dim {i}, but the input "
                                 f"has rank {x.rank}")
            out.append(x.shape[i])
        else:
            out.append(d)
    known = [d for d in out if d != -1]
    if -1 in out:
        k = out.index(-1)
        out[k] = _infer_minus_one(call, x, known, bad)
    elif x.is_static and all(isinstance(d, int) for d in out) and dim_product(out) != x.numel:
        raise call.error(bad)
    return tuple(out)


def _numel_str(x: TensorType) -> str:
    n = dim_product(x.shape)
    return f"{n} elements" if isinstance(n, int) else "unknown element count"


def _infer_minus_one(call, x: TensorType, known: list, bad: str):
    in_syms = sorted(d for d in x.shape if isinstance(d, str))
    out_syms = sorted(d for d in known if isinstance(d, str))
    if UNKNOWN in in_syms or in_syms != out_syms:
        return UNKNOWN          # the symbolic parts do not cancel
    total = dim_product([d for d in x.shape if isinstance(d, int)])
    rest = dim_product([d for d in known if isinstance(d, int)])
    if rest == 0 or total % rest:
        raise call.error(bad)
    return total // rest


def _reshape_infer(call):
    x = input_type(call, 0)
    target, n = int_vector(call, 1, "shape")
    if target is None:
        if n is None:
            raise call.error(f"shape input {input_type(call, 1)} has an unknown length, so the "
                             f"output rank is unknown")
        return [x.with_shape(unknown_shape(n))]
    return [x.with_shape(_reshape_dims(call, x, target, call.attrs["allowzero"]))]


def _flatten_infer(call):
    x = input_type(call, 0)
    axis = call.attrs["axis"]
    if not -x.rank <= axis <= x.rank:
        raise call.error(f"axis {axis} is out of range [{-x.rank}, {x.rank}] for {x}")
    axis = axis + x.rank if axis < 0 else axis
    return [x.with_shape((dim_product(x.shape[:axis]), dim_product(x.shape[axis:])))]


def _squeeze_infer(call):
    x = input_type(call, 0)
    if not call.has_input(1):
        if any(isinstance(d, str) for d in x.shape):
            raise call.error(f"Squeeze without axes on {x}: cannot tell which symbolic dims are 1; "
                             f"give the axes input")
        return [x.with_shape(tuple(d for d in x.shape if d != 1))]
    axes, n = int_vector(call, 1, "axes", allow_scalar=True)
    if axes is None:
        if n is None:
            raise call.error("axes input has an unknown length, so the output rank is unknown")
        return [x.with_shape(unknown_shape(x.rank - n))]
    axes = normalize_axes(call, axes, x.rank)
    for a in axes:
        if isinstance(x.shape[a], int) and x.shape[a] != 1:
            raise call.error(f"cannot squeeze axis {a} of {x}: its size is {x.shape[a]}, not 1")
    return [x.with_shape(tuple(d for i, d in enumerate(x.shape) if i not in axes))]


def _unsqueeze_infer(call):
    x = input_type(call, 0)
    axes, n = int_vector(call, 1, "axes", allow_scalar=True)
    if axes is None:
        if n is None:
            raise call.error("axes input has an unknown length, so the output rank is unknown")
        return [x.with_shape(unknown_shape(x.rank + n))]
    rank = x.rank + len(axes)
    axes = set(normalize_axes(call, axes, rank))
    dims = iter(x.shape)
    return [x.with_shape(tuple(1 if i in axes else next(dims) for i in range(rank)))]


def _reshape_to_inferred(infer):
    """Kernel for pure-layout ops: reshape the data to the (now fully static) inferred shape."""
    return lambda call: [np.reshape(call.values[0], infer(call)[0].shape)]


def_op("Reshape", OpKind.INJECTIVE, _reshape_infer, _reshape_to_inferred(_reshape_infer),
       attrs={"allowzero": ("int", 0)}, inputs=2)
def_op("Flatten", OpKind.INJECTIVE, _flatten_infer, _reshape_to_inferred(_flatten_infer),
       attrs={"axis": ("int", 1)})
def_op("Squeeze", OpKind.INJECTIVE, _squeeze_infer, _reshape_to_inferred(_squeeze_infer),
       inputs=(1, 2))
def_op("Unsqueeze", OpKind.INJECTIVE, _unsqueeze_infer, _reshape_to_inferred(_unsqueeze_infer),
       inputs=2)


# ---- Transpose / Expand / Tile ------------------------------------------------------------
def _perm(call, rank: int) -> list:
    perm = call.attrs.get("perm")
    if perm is None:
        return list(range(rank))[::-1]
    perm = [int(p) for p in perm]
    if sorted(perm) != list(range(rank)):
        raise call.error(f"perm {perm} is not a permutation of the {rank} input axes")
    return perm


def _transpose_infer(call):
    x = input_type(call, 0)
    return [x.with_shape(tuple(x.shape[p] for p in _perm(call, x.rank)))]


def_op("Transpose", OpKind.INJECTIVE, _transpose_infer,
       lambda c: [np.transpose(c.values[0], _perm(c, c.values[0].ndim))],
       attrs={"perm": ("ints", None)})


def _expand_infer(call):
    x = input_type(call, 0)
    shape, n = int_vector(call, 1, "shape")
    if shape is None:
        if n is None:
            raise call.error("shape input has an unknown length, so the output rank is unknown")
        rank = max(n, x.rank)
        padded = (1,) * (rank - x.rank) + x.shape
        return [x.with_shape(tuple(d if isinstance(d, int) and d != 1 else UNKNOWN
                                   for d in padded))]
    if any(d < 0 for d in shape):
        raise call.error(f"shape {fmt_shape(shape)} has a negative dim")
    return [x.with_shape(broadcast_shapes(call, x.shape, shape))]


def_op("Expand", OpKind.INJECTIVE, _expand_infer,
       lambda c: [np.array(np.broadcast_to(c.values[0], _expand_infer(c)[0].shape))], inputs=2)


def _tile_infer(call):
    x = input_type(call, 0)
    reps, n = int_vector(call, 1, "repeats")
    if n is not None and n != x.rank:
        raise call.error(f"repeats has {n} entries but the input {x} has rank {x.rank}")
    if reps is None:
        return [x.with_shape(tuple(0 if d == 0 else UNKNOWN for d in x.shape))]
    if any(r < 0 for r in reps):
        raise call.error(f"repeats {reps} must be >= 0")
    return [x.with_shape(tuple(mul_dim(d, r) for d, r in zip(x.shape, reps)))]


def_op("Tile", OpKind.INJECTIVE, _tile_infer,
       lambda c: [np.tile(c.values[0], [int(r) for r in c.values[1]])], inputs=2)


# ---- Shape / Size / Identity ---------------------------------------------------------------
def _shape_range(call, rank: int):
    def clamp(a):
        a = a + rank if a < 0 else a
        return min(max(a, 0), rank)
    start = clamp(call.attrs["start"])
    end = clamp(call.attrs["end"]) if call.attrs.get("end") is not None else rank
    return start, max(start, end)


def _shape_infer(call):
    s, e = _shape_range(call, input_type(call, 0).rank)
    return [TensorType(i64, (e - s,))]


def _shape_compute(call):
    x = call.values[0]
    s, e = _shape_range(call, x.ndim)
    return [np.array(x.shape[s:e], dtype=np.int64).reshape(e - s)]


def_op("Shape", OpKind.OPAQUE, _shape_infer, _shape_compute,
       attrs={"start": ("int", 0), "end": ("int", None)})
def _size_infer(call):
    input_type(call, 0)
    return [TensorType(i64, ())]


def_op("Size", OpKind.OPAQUE, _size_infer,
       lambda c: [np.array(c.values[0].size, dtype=np.int64)])
def_op("Identity", OpKind.INJECTIVE, same_as_input(0), lambda c: [c.values[0]])


# ---- Concat / Split ----------------------------------------------------------------------
def _concat_infer(call):
    n = len(call.input_types)
    if n == 0:
        raise call.error("needs at least one input")
    dt = require_same_dtype(call, list(range(n)))
    types = [input_type(call, i) for i in range(n)]
    first = types[0]
    if first.rank == 0:
        raise call.error("cannot concatenate scalars (rank 0)")
    axis = normalize_axis(call, call.attrs["axis"], first.rank)
    out = list(first.shape)
    for i, t in enumerate(types[1:], 1):
        if t.rank != first.rank:
            raise call.error(f"input {i} has rank {t.rank} ({t}) but input 0 has rank "
                             f"{first.rank} ({first})")
        for j, (a, b) in enumerate(zip(out, t.shape)):
            if j == axis:
                continue
            if isinstance(a, int) and isinstance(b, int) and a != b:
                raise call.error(f"input {i} has shape {fmt_shape(t.shape)} but input 0 has "
                                 f"{fmt_shape(first.shape)}; all dims except axis {axis} "
                                 f"must match")
            if isinstance(a, str) and (isinstance(b, int) or a == UNKNOWN):
                out[j] = b
    along = [t.shape[axis] for t in types]
    static = sum(d for d in along if isinstance(d, int))
    syms = [d for d in along if isinstance(d, str)]
    out[axis] = static if not syms else (syms[0] if len(syms) == 1 and static == 0 else UNKNOWN)
    return [TensorType(dt, tuple(out))]


def_op("Concat", OpKind.INJECTIVE, _concat_infer,
       lambda c: [np.concatenate(c.values, axis=c.attrs["axis"])],
       attrs={"axis": ("int", REQUIRED)}, inputs=(1, None))


def _split_sizes(call):
    """Per-output sizes along the axis (ints or "?"), plus the normalized axis."""
    x = input_type(call, 0)
    if x.rank == 0:
        raise call.error("cannot split a scalar")
    axis = normalize_axis(call, call.attrs["axis"], x.rank)
    n = call.num_outputs
    num = call.attrs.get("num_outputs")
    dim = x.shape[axis]
    if call.has_input(1):
        if num is not None:
            raise call.error("give either the split input or the num_outputs attribute, not both")
        sizes, length = int_vector(call, 1, "split")
        if length is not None and length != n:
            raise call.error(f"split has {length} entries but the node has {n} outputs")
        if sizes is None:
            return axis, [UNKNOWN] * n
        if any(s < 0 for s in sizes):
            raise call.error(f"split sizes {sizes} must be >= 0")
        if isinstance(dim, int) and sum(sizes) != dim:
            raise call.error(f"split sizes {sizes} sum to {sum(sizes)}, but axis {axis} of {x} "
                             f"has size {dim}")
        return axis, sizes
    if num is not None and num != n:
        raise call.error(f"num_outputs={num} but the node has {n} outputs")
    if n < 1:
        raise call.error("needs at least one output")
    if not isinstance(dim, int):
        return axis, [dim] if n == 1 else [UNKNOWN] * n
    chunk = -(-dim // n)
    last = dim - chunk * (n - 1)
    if last < 0:
        raise call.error(f"cannot split axis {axis} of size {dim} into {n} outputs: chunks of "
                         f"{chunk} leave {last} for the last one")
    return axis, [chunk] * (n - 1) + [last]


def _split_infer(call):
    x = input_type(call, 0)
    axis, sizes = _split_sizes(call)
    return [x.with_shape(x.shape[:axis] + (s,) + x.shape[axis + 1:]) for s in sizes]


def _split_compute(call):
    axis, sizes = _split_sizes(call)
    return np.split(call.values[0], np.cumsum(sizes)[:-1], axis=axis)


def_op("Split", OpKind.INJECTIVE, _split_infer, _split_compute,
       attrs={"axis": ("int", 0), "num_outputs": ("int", None)}, inputs=(1, 2), outputs=(1, None))
