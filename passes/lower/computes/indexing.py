"""Compute rules of the indexing ops whose element is one load at a data-dependent index:
GatherElements, GatherND, ReverseSequence and OneHot.

Runtime indices wrap when negative and are then clamped into range (the reference raises on an
out-of-range index; compiled code must never read out of bounds, and a compute rule cannot skip
an element). Constant indices are checked at compile time instead: out of range is an error."""
from __future__ import annotations

import numpy as np

from compiler.loop import as_expr, max_, min_, select

from ..registry import compute
from ._helpers import lit
from .movement import norm_axis
from .slicing import as_index


def wrapped_index(cc, e, size: int, what: str, given):
    """Index Expr e wrapped when negative and clamped into [0, size). `given`: the values e
    takes when they are constants (then out of range is a compile-time error), else None."""
    if given is not None and given.size:
        given = np.asarray(given, dtype=np.int64)
        bad = (given < -size) | (given >= size)
        if bad.any():
            raise cc.error(f"{what} {int(given[bad].reshape(-1)[0])} is out of bounds for size "
                           f"{size}")
    if size <= 1:
        return as_expr(0)
    e = as_index(e)
    if given is not None and given.size and (given >= 0).all():
        return e                                      # in range: no fix-up
    e = select(e.lt(lit(0, e)), e + size, e)
    return min_(max_(e, 0), size - 1)


@compute("GatherElements")
def gather_elements(cc, idx):
    data, ind = cc.inputs[0], cc.inputs[1]
    axis = norm_axis(cc, cc.attr("axis", 0), data.rank)
    src = list(idx)
    src[axis] = wrapped_index(cc, ind[tuple(idx)], data.shape[axis], "index", cc.const(1))
    return data[tuple(src)]


@compute("GatherND")
def gather_nd(cc, idx):
    data, ind = cc.inputs[0], cc.inputs[1]
    b = int(cc.attr("batch_dims", 0))
    k = ind.shape[-1]
    m = ind.rank - 1 - b                              # the index dims after the batch dims
    batch, mid, rest = tuple(idx[:b]), tuple(idx[b:b + m]), tuple(idx[b + m:])
    given = cc.const(1)
    cols = tuple(wrapped_index(cc, ind[batch + mid + (as_expr(j),)], data.shape[b + j],
                               f"index (column {j})", None if given is None else given[..., j])
                 for j in range(k))
    return data[batch + cols + rest]


@compute("ReverseSequence")
def reverse_sequence(cc, idx):
    x, lens = cc.inputs[0], cc.inputs[1]
    b_axis, t_axis = int(cc.attr("batch_axis", 1)), int(cc.attr("time_axis", 0))
    steps = x.shape[t_axis]
    given = cc.const(1)
    if given is not None and ((given < 0) | (given > steps)).any():
        raise cc.error(f"sequence_lens {given.tolist()} must be in [0, {steps}]")
    # a runtime length outside [0, steps] is clamped into it (the reference raises)
    n = min_(max_(as_index(lens[(idx[b_axis],)]), 0), steps)
    t = idx[t_axis]
    src = list(idx)
    src[t_axis] = select(t.lt(n), n - 1 - t, t)
    return x[tuple(src)]


@compute("OneHot")
def one_hot(cc, idx):
    ind, values = cc.inputs[0], cc.inputs[2]
    rank = ind.rank + 1
    axis = cc.attr("axis", -1)
    axis = axis + rank if axis < 0 else axis
    depth = cc.out.shape[axis]
    i = ind[tuple(idx[:axis]) + tuple(idx[axis + 1:])]
    i = as_index(i)                                   # a float index truncates (astype)
    i = select(i.lt(lit(0, i)), i + depth, i)         # out-of-range indices match nothing
    hot = i.eq(idx[axis])
    off, on = values[(as_expr(0),)], values[(as_expr(1),)]
    return select(hot, on, off)

