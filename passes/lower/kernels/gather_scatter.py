"""Kernel rules of ScatterElements and ScatterND (reduction none / add / mul / max / min).

The result is `data` with the updates written (or combined) in index order: first a copy of
data, then one serial pass over the updates, so a repeated index sees the earlier updates as
the reference's sequential semantics do (the last write wins for reduction none). Without an
epilogue the copy lives in the output buffer itself; with one, in scratch, and a final pass
stores every element once through the epilogue.

Indices wrap when negative. An index still outside [0, size) after wrapping is SKIPPED: that
update changes nothing (the reference raises; compiled code must never write out of bounds,
and skipping keeps every other update intact, where clamping would corrupt the edge element).
Constant indices are checked at compile time instead: out of range is an error.

Parallelism: ScatterElements runs its outermost loop in parallel when that axis is not the
scatter axis (each iteration then owns a disjoint slice of the result, and updates that meet
the same element stay in one iteration, in order); ScatterND does the same over the first dim
of its update slices."""
from __future__ import annotations

from contextlib import ExitStack

import numpy as np

from compiler.loop import INDEX, as_expr, cast, max_, min_, select

from ..nest import PARALLEL_MIN_ELEMENTS, compute_nest
from ..registry import kernel
from ..tensor import BufferRef
from .scan import emit_lanes, lane_index

_REDUCTIONS = ("none", "add", "mul", "max", "min")


def _combine(reduction: str, old, new):
    if reduction == "none":
        return new
    if old.dtype.name == "bool":          # numpy's add / mul / max / min on bools
        return old.logical_or(new) if reduction in ("add", "max") else old.logical_and(new)
    if reduction == "add":
        return old + new
    if reduction == "mul":
        return old * new
    return max_(old, new) if reduction == "max" else min_(old, new)


def _check_const_indices(kc, i: int, sizes) -> None:
    """Constant indices (input i, last axis running over `sizes` when a list) must be in range."""
    given = kc.const(i)
    if given is None or given.size == 0:
        return
    given = np.asarray(given, dtype=np.int64)
    lim = np.asarray(sizes, dtype=np.int64)
    bad = (given < -lim) | (given >= lim)
    if bad.any():
        raise kc.error(f"index {int(given[bad].reshape(-1)[0])} is out of bounds (sizes "
                       f"{np.asarray(sizes).tolist()})")


def _wrap(b, name: str, e, size: int):
    """(let-bound index wrapped when negative, in-range condition)."""
    e = e if e.dtype is INDEX else cast(INDEX, e)
    w = b.let(name, select(e.lt(as_expr(0, e.dtype)), e + size, e))
    return w, w.ge(0).logical_and(w.lt(size))


def _work_buffer(kc):
    """Where the result is assembled, after copying data into it."""
    out = kc.outputs[0]
    work = kc.scratch("scatter", out.dtype, out.shape) if out.has_epilogue else out.buffer
    kc.b.emit(compute_nest(work, kc.inputs[0], kc.target, kc.fresh("scatter_copy")))
    return work


def _finish(kc, work) -> None:
    out = kc.outputs[0]
    if out.has_epilogue:
        kc.b.emit(compute_nest(work, BufferRef(work), kc.target, kc.fresh("scatter_store"),
                               store=out.store))


def _reduction(kc) -> str:
    r = kc.attr("reduction", "none")
    if r not in _REDUCTIONS:
        raise kc.error(f"reduction must be one of {', '.join(_REDUCTIONS)}; got {r!r}")
    return r


def _parallel_ok(kc, work_items: int, first_extent: int) -> bool:
    return (kc.target.parallel and kc.target.num_threads != 1 and first_extent > 1
            and work_items >= PARALLEL_MIN_ELEMENTS)


@kernel("ScatterElements")
def scatter_elements(kc):
    data, ind, upd = kc.inputs[0], kc.inputs[1], kc.inputs[2]
    red = _reduction(kc)
    rank = data.rank
    axis = kc.attr("axis", 0)
    axis = axis + rank if axis < 0 else axis
    for d, (a, n) in enumerate(zip(ind.shape, data.shape)):
        if d != axis and a > n:
            raise kc.error(f"indices {list(ind.shape)} exceed data {list(data.shape)} along "
                           f"axis {d}")
    _check_const_indices(kc, 1, data.shape[axis])
    if any(d == 0 for d in data.shape):
        return
    work = _work_buffer(kc)
    if ind.size:
        b = kc.b
        par = axis != 0 and _parallel_ok(kc, ind.size, ind.shape[0])
        with ExitStack() as stack:
            pos = [stack.enter_context(b.for_(kc.fresh(f"s{d}"), n,
                                              kind="parallel" if d == 0 and par else "serial"))
                   for d, n in enumerate(ind.shape)]
            j, ok = _wrap(b, kc.fresh("j"), ind[tuple(pos)], data.shape[axis])
            dst = tuple(j if d == axis else p for d, p in enumerate(pos))
            with b.if_(ok):
                b.store(work, dst, _combine(red, work[dst], upd[tuple(pos)]))
    _finish(kc, work)


@kernel("ScatterND")
def scatter_nd(kc):
    data, ind, upd = kc.inputs[0], kc.inputs[1], kc.inputs[2]
    red = _reduction(kc)
    k = ind.shape[-1]
    lead, sl = ind.shape[:-1], data.shape[k:]       # update positions, update slice shape
    _check_const_indices(kc, 1, list(data.shape[:k]))
    if any(d == 0 for d in data.shape):
        return
    work = _work_buffer(kc)
    m = int(np.prod(lead, dtype=np.int64))
    if m:
        b = kc.b
        lanes = kc.lanes(data.dtype)
        slice_size = int(np.prod(sl, dtype=np.int64))
        par = len(sl) >= 2 and _parallel_ok(kc, m * slice_size, sl[0])
        with ExitStack() as stack:
            outer = [stack.enter_context(b.for_(kc.fresh("r0"), sl[0], kind="parallel"))] \
                if par else []
            pos = [stack.enter_context(b.for_(kc.fresh(f"u{d}"), n)) for d, n in enumerate(lead)]
            coords, cond = [], None
            for c in range(k):
                w, ok = _wrap(b, kc.fresh(f"c{c}"), ind[tuple(pos) + (as_expr(c),)],
                              data.shape[c])
                coords.append(w)
                cond = ok if cond is None else cond.logical_and(ok)
            stack.enter_context(b.if_(cond))
            inner = sl[len(outer):]
            rest = [stack.enter_context(b.for_(kc.fresh(f"r{d}"), n))
                    for d, n in enumerate(inner[:-1])]

            def body(j, n):
                tail = tuple(outer) + tuple(rest) + ((lane_index(j, n),) if inner else ())
                dst = tuple(coords) + tail
                b.store(work, dst, _combine(red, work[dst], upd[tuple(pos) + tail]))

            if inner:
                emit_lanes(kc, inner[-1], lanes, body)
            else:
                body(None, 1)
    _finish(kc, work)
