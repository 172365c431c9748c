"""Compute rules of the ops whose values come from static shapes and attributes: Shape, Size,
ConstantOfShape, Range and EyeLike. (The graph's fold-constants pass usually folds them away;
these rules cover what is left, e.g. at -O0.) None of them reads its data input."""
from __future__ import annotations

import numpy as np

from compiler.ir import dtypes as D
from compiler.loop import as_expr, cast, select

from ..registry import compute
from .movement import keep_lanes
from .slicing import scalar_input


def immediate(value, dtype):
    if dtype is D.bool_:
        return as_expr(bool(value), dtype)
    return as_expr(float(value) if dtype.is_float else int(value), dtype)


def table(values: list, i, dtype):
    """values[i] for a small static list, as a select chain (no memory is read)."""
    out = immediate(values[-1], dtype)
    for k in range(len(values) - 2, -1, -1):
        out = select(i.eq(k), immediate(values[k], dtype), out)
    return out


@compute("Shape")
def shape(cc, idx):
    rank = cc.inputs[0].rank

    def clamp(a):
        a = a + rank if a < 0 else a
        return min(max(a, 0), rank)
    start = clamp(cc.attr("start", 0))
    end = rank if cc.attr("end") is None else clamp(cc.attr("end"))
    dims = list(cc.inputs[0].shape[start:max(start, end)]) or [0]   # [0]: never read
    return keep_lanes(table(dims, idx[0], D.i64), idx)


@compute("Size")
def size(cc, idx):
    return immediate(cc.inputs[0].size, D.i64)


@compute("ConstantOfShape")
def constant_of_shape(cc, idx):
    v = cc.attr("value")
    fill = 0 if v is None else np.asarray(v).reshape(-1)[0].item()
    return keep_lanes(immediate(fill, cc.out.dtype), idx)


@compute("Range")
def range_(cc, idx):
    dt = cc.out.dtype
    work = D.f32 if dt is D.f16 and cc.attr("stash_type", 1) == 1 else dt
    start, delta = scalar_input(cc, 0, work), scalar_input(cc, 2, work)
    # as the reference: start + arange(n, work) * delta, rounded in the work dtype
    i = cast(work, idx[0]) if idx[0].dtype is not work else idx[0]
    val = start + i * delta
    return val if work is dt else cast(dt, val)


@compute("EyeLike")
def eye_like(cc, idx):
    dt = cc.out.dtype
    on = (idx[1] - idx[0]).eq(int(cc.attr("k", 0)))
    if dt is D.bool_:
        return on
    return select(on, immediate(1, dt), immediate(0, dt))
