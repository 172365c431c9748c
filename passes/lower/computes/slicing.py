"""Compute rules of the ops that pick parts of a tensor: Slice, Gather, Pad and Trilu.

Slice bounds, Pad widths and Pad axes must be graph constants (the output shapes are static, so
they almost always are); Gather indices and Trilu's k may be runtime tensors. Runtime Gather
indices wrap when negative and are clamped into range: the reference raises on an out-of-range
index, compiled code must never read out of bounds."""
from __future__ import annotations

import numpy as np

from compiler.loop import INDEX, as_expr, cast, max_, min_, select
from compiler.ops.indexing import _slice_bounds

from ..registry import compute
from ._helpers import lit
from .movement import keep_lanes, norm_axis


def const_ints(cc, i: int, what: str):
    """Input i as a list of Python ints (it must be a graph constant), or None when absent."""
    if i >= len(cc.inputs) or cc.inputs[i] is None:
        return None
    v = cc.const(i)
    if v is None:
        raise cc.error(f"input {i} ({what}) must be a constant to compile this node; got a "
                       f"runtime tensor {cc.inputs[i]!r}")
    return [int(a) for a in np.asarray(v).reshape(-1)]


def scalar_input(cc, i: int, dtype=None):
    """The one element of input i (an immediate when constant), cast to dtype when given."""
    ref = cc.inputs[i]
    v = cc.const(i)
    if v is not None:
        e = as_expr(np.asarray(v).reshape(-1)[0].item(), ref.dtype)
    else:
        e = ref[(as_expr(0),) * ref.rank]
    return e if dtype is None or e.dtype is dtype else cast(dtype, e)


def as_index(e):
    return e if e.dtype is INDEX else cast(INDEX, e)


# ---- Slice --------------------------------------------------------------------------------------
@compute("Slice")
def slice_(cc, idx):
    x = cc.inputs[0]
    starts, ends = const_ints(cc, 1, "starts"), const_ints(cc, 2, "ends")
    axes = const_ints(cc, 3, "axes")
    steps = const_ints(cc, 4, "steps") or [1] * len(starts)
    axes = list(range(len(starts))) if axes is None else [norm_axis(cc, a, x.rank) for a in axes]
    src = list(idx)
    for a, s, e, st in zip(axes, starts, ends, steps):
        if x.shape[a] == 0 or cc.out.shape[a] == 0:
            continue                                   # nothing is read along this axis
        first = _slice_bounds(x.shape[a], s, e, st)[0]
        if st != 1:
            src[a] = src[a] * st + first
        elif first:
            src[a] = src[a] + first
    return x[tuple(src)]


# ---- Gather -------------------------------------------------------------------------------------
def _progression(v: np.ndarray):
    """(first, step) when the flat values form an arithmetic progression, else None."""
    flat = v.reshape(-1)
    if flat.size == 0:
        return None
    step = int(flat[1] - flat[0]) if flat.size > 1 else 0
    if np.array_equal(flat, flat[0] + step * np.arange(flat.size)):
        return int(flat[0]), step
    return None


@compute("Gather")
def gather(cc, idx):
    return keep_lanes(_gather(cc, idx), idx)


def _gather(cc, idx):
    data, ind = cc.inputs[0], cc.inputs[1]
    axis = norm_axis(cc, cc.attr("axis", 0), data.rank)
    r, d = ind.rank, data.shape[axis]
    pre, mid, post = tuple(idx[:axis]), tuple(idx[axis:axis + r]), tuple(idx[axis + r:])
    given = cc.const(1)
    if given is not None and given.size:
        given = np.asarray(given, dtype=np.int64)
        bad = (given < -d) | (given >= d)
        if bad.any():
            raise cc.error(f"index {int(given[bad][0])} is out of bounds for axis {axis} of "
                           f"size {d}")
        prog = _progression(np.where(given < 0, given + d, given))
        if prog is not None and (r == 1 or prog[1] == 0):     # an affine index
            first, step = prog
            j = as_expr(first) if not step else (mid[0] if step == 1 else mid[0] * step)
            j = j + first if step and first else j
            return data[pre + (j,) + post]
        if (given >= 0).all():                                # in range: no fix-up
            return data[pre + (as_index(ind[mid]),) + post]
    if data.size == 0:            # only out-of-range indices could be given: read nothing
        return as_expr(0.0 if data.dtype.is_float else 0, data.dtype)
    if d == 1:
        return data[pre + (as_expr(0),) + post]
    j = as_index(ind[mid])
    j = select(j.lt(lit(0, j)), j + d, j)
    j = min_(max_(j, 0), d - 1)
    return data[pre + (j,) + post]


# ---- Pad ----------------------------------------------------------------------------------------
def _pad_widths(cc, rank: int) -> list:
    pads = const_ints(cc, 1, "pads")
    axes = const_ints(cc, 3, "axes")
    axes = list(range(rank)) if axes is None else [norm_axis(cc, a, rank) for a in axes]
    if len(pads) != 2 * len(axes):
        raise cc.error(f"pads has {len(pads)} entries; expected {2 * len(axes)}")
    widths = [(0, 0)] * rank
    for j, a in enumerate(axes):
        widths[a] = (pads[j], pads[len(axes) + j])
    return widths


def _reflect(src, d: int, b: int, e: int):
    """numpy 'reflect' (mirror without repeating the edge) of src into [0, d)."""
    if d == 1:
        return as_expr(0)
    m = d - 1
    if b <= m and e <= m:             # at most one bounce: m - |m - |src||
        a = max_(src, 0 - src) if b > 0 else src
        t = m - a
        return m - max_(t, 0 - t) if e > 0 else m - t
    p = 2 * m                         # the triangle wave of period 2(d - 1)
    t = src % p
    return min_(t, p - t)


def _pad_axis(mode: str, i, d: int, b: int, e: int):
    """(source index into the input, in-range condition or None) for output index i."""
    if mode == "wrap":
        lo, size = max(-b, 0), d - max(-b, 0) - max(-e, 0)
        if b <= 0 and e <= 0:
            return i + lo, None
        return (i - max(b, 0)) % size + lo, None
    src = i - b if b else i
    if b <= 0 and e <= 0:
        return src, None
    if mode == "edge":
        if b > 0:
            src = max_(src, 0)
        return (min_(src, d - 1) if e > 0 else src), None
    if mode == "reflect":
        return _reflect(src, d, b, e), None
    cond = src.ge(0) if b > 0 else None
    if e > 0:
        hi = src.lt(d)
        cond = hi if cond is None else cond.logical_and(hi)
    clamped = min_(max_(src, 0), d - 1) if b > 0 and e > 0 else \
        (max_(src, 0) if b > 0 else min_(src, d - 1))
    return clamped, cond


@compute("Pad")
def pad(cc, idx):
    x = cc.inputs[0]
    mode = cc.attr("mode", "constant")
    widths = _pad_widths(cc, x.rank)
    if mode == "constant":
        has_cv = len(cc.inputs) > 2 and cc.inputs[2] is not None
        cv = scalar_input(cc, 2, x.dtype) if has_cv else \
            as_expr(0.0 if x.dtype.is_float else 0, x.dtype)
        if x.size == 0:
            return keep_lanes(cv, idx)
    src, cond = [], None
    for k, (i, d, (b, e)) in enumerate(zip(idx, x.shape, widths)):
        if mode == "wrap" and d - max(-b, 0) - max(-e, 0) <= 0 and (b > 0 or e > 0):
            raise cc.error(f"cannot wrap-pad axis {k} of {x!r}: nothing is left after cropping")
        s, c = _pad_axis(mode, i, d, b, e)
        src.append(s)
        if c is not None:
            cond = c if cond is None else cond.logical_and(c)
    val = x[tuple(src)]
    return keep_lanes(val if cond is None else select(cond, val, cv), idx)


# ---- Trilu --------------------------------------------------------------------------------------
@compute("Trilu")
def trilu(cc, idx):
    x = cc.inputs[0]
    val = x[tuple(idx)]
    has_k = len(cc.inputs) > 1 and cc.inputs[1] is not None
    k = scalar_input(cc, 1, INDEX) if has_k else as_expr(0)
    diff = idx[-1] - idx[-2]                      # column - row
    keep = diff.ge(k) if cc.attr("upper", 1) else diff.le(k)
    return select(keep, val, lit(0, val))
