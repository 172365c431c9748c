"""Kernel rule of TopK: the k best elements of every row along the axis, best first, with their
indices. Order as the reference (a stable sort): largest=1 is descending by value, smallest
ascending; equal values keep ascending index order; NaN counts as greater than every number
(first when largest, last when smallest). The result is always in that order (sorted=0 allows
any order, so the sorted one is valid too).

Two algorithms, both exact:
- k <= INSERT_MAX: one pass over the row keeping the best k in a sorted stack buffer; an element
  not better than the current k-th is rejected with one comparison, an accepted one is inserted
  by shifting (O(n) typical, O(n k) worst case).
- larger k: a stable bottom-up merge sort of (value, index) pairs of the row (O(n log n); one
  unrolled level per doubling of the run length, branch-free merges), in a stack buffer for
  short rows and in scratch (one region per row) for long ones.
Rows (all the dims but the axis) are independent: the outermost row loop may run in parallel."""
from __future__ import annotations

import math
from contextlib import ExitStack

from compiler.loop import INDEX, Not, as_expr, max_, min_, select

from ..registry import kernel
from .scan import open_loops

INSERT_MAX = 32
LOCAL_BYTES = 48 * 1024


def _better(largest: bool):
    """better(a, b): a comes strictly before b."""
    def fn(a, b):
        if largest:
            c = a.gt(b)
            if a.dtype.is_float:
                c = c.logical_or(a.ne(a).logical_and(b.eq(b)))
        else:
            c = a.lt(b)
            if a.dtype.is_float:
                c = c.logical_or(b.ne(b).logical_and(a.eq(a)))
        return c
    return fn


@kernel("TopK")
def topk(kc):
    x = kc.inputs[0]
    vals_out, idx_out = kc.outputs
    axis = kc.attr("axis", -1)
    axis = axis + x.rank if axis < 0 else axis
    n, k = x.shape[axis], vals_out.shape[axis]       # K is the (static) result length
    if k == 0 or x.size == 0:
        return
    better = _better(bool(kc.attr("largest", 1)))
    rows = x.shape[:axis] + x.shape[axis + 1:]
    with ExitStack() as stack:
        ivs = open_loops(kc, stack, rows, x.size)
        row = (lambda i: tuple(ivs[:axis]) + (i,) + tuple(ivs[axis:]))
        if k <= INSERT_MAX:
            _insertion(kc, x, row, n, k, better, vals_out, idx_out)
        else:
            _merge_sort(kc, x, row, ivs, rows, n, k, better, vals_out, idx_out)


def _insertion(kc, x, row, n, k, better, vals_out, idx_out):
    b = kc.b
    vals = b.alloc(kc.fresh("best"), x.dtype, (k,))
    ids = b.alloc(kc.fresh("best_i"), INDEX, (k,))
    cnt_buf = b.alloc(kc.fresh("cnt"), INDEX, (1,))
    zero = as_expr(0)
    b.store(cnt_buf, (zero,), zero)
    with b.for_(kc.fresh("i"), n) as i:
        v = b.let(kc.fresh("x"), x[row(i)])
        cnt = b.let(kc.fresh("c"), cnt_buf[zero])
        with b.if_(cnt.lt(k).logical_or(better(v, vals[as_expr(k - 1)]))):
            hole = b.let(kc.fresh("h"), min_(cnt, k - 1))
            # Descending over the kept entries: entry j-1 moves to j while v beats it (the
            # entries are sorted, so that holds exactly for j-1 >= v's place); v lands where
            # it stops. Every read at step j sees entries j-1 and j before they are written.
            with b.for_(kc.fresh("s"), k) as s:
                j = b.let(kc.fresh("j"), (k - 1) - s)
                with b.if_(j.le(hole)):
                    prev = (max_(j - 1, 0),)
                    shift = b.let(kc.fresh("sh"), j.gt(0).logical_and(better(v, vals[prev])))
                    place = Not(shift).logical_and(j.eq(hole).logical_or(
                        better(v, vals[(j,)])))
                    with b.if_(shift):
                        b.store(vals, (j,), vals[prev])
                        b.store(ids, (j,), ids[prev])
                    with b.if_(place):
                        b.store(vals, (j,), v)
                        b.store(ids, (j,), i)
            b.store(cnt_buf, (zero,), min_(cnt + 1, k))
    with b.for_(kc.fresh("r"), k) as r:
        b.emit(vals_out.store(row(r), vals[(r,)]))
        b.emit(idx_out.store(row(r), ids[(r,)]))


def _merge_sort(kc, x, row, ivs, rows, n, k, better, vals_out, idx_out):
    b = kc.b
    nbytes = 2 * n * (x.dtype.itemsize + 8)
    if nbytes <= LOCAL_BYTES:
        keys = b.alloc(kc.fresh("keys"), x.dtype, (2, n))
        ids = b.alloc(kc.fresh("ids"), INDEX, (2, n))
        at = (lambda p, i: (p, i))
    else:                                   # one region per row (rows may run in parallel)
        nrows = math.prod(rows)
        keys = kc.scratch("topk_keys", x.dtype, (nrows, 2, n))
        ids = kc.scratch("topk_ids", INDEX, (nrows, 2, n))
        lin = as_expr(0)
        for v, d in zip(ivs, rows):
            lin = lin * d + v
        rid = b.let(kc.fresh("row"), lin)
        at = (lambda p, i: (rid, p, i))
    zero = as_expr(0)
    with b.for_(kc.fresh("i"), n) as i:
        b.store(keys, at(zero, i), x[row(i)])
        b.store(ids, at(zero, i), i)
    levels = math.ceil(math.log2(n)) if n > 1 else 0
    st = b.alloc(kc.fresh("runs"), INDEX, (2,)) if levels else None   # left, right cursors
    for lv in range(levels):                # runs of w sorted elements -> runs of 2w
        w, src, dst = 1 << lv, as_expr(lv % 2), as_expr(1 - lv % 2)
        pairs, rest = divmod(n, 2 * w)
        merge = (lambda base, left, total: _merge(kc, keys, ids, at, st, src, dst, n, base,
                                                  left, total, better))
        if pairs:
            with b.for_(kc.fresh("p"), pairs) as p:
                merge(p * (2 * w), w, 2 * w)
        if rest:
            merge(as_expr(pairs * 2 * w), min(w, rest), rest)
    fin = as_expr(levels % 2)
    with b.for_(kc.fresh("r"), k) as r:
        b.emit(vals_out.store(row(r), keys[at(fin, r)]))
        b.emit(idx_out.store(row(r), ids[at(fin, r)]))


def _merge(kc, keys, ids, at, st, src, dst, n, base, left, total, better) -> None:
    """Merge the sorted runs [base, base+left) and [base+left, base+total) of plane src into
    plane dst, branch-free: the right run's head is taken only when strictly better, so equal
    keys keep index order (stable). Cursors past their run are clamped for the loads, whose
    values are then not chosen."""
    b = kc.b
    le, re = base + left, base + total
    b.store(st, (as_expr(0),), base)
    b.store(st, (as_expr(1),), le)
    with b.for_(kc.fresh("o"), total) as o:
        li = b.let(kc.fresh("l"), st[(as_expr(0),)])
        ri = b.let(kc.fresh("r"), st[(as_expr(1),)])
        lc, rc = min_(li, n - 1), min_(ri, n - 1)
        kl = b.let(kc.fresh("kl"), keys[at(src, lc)])
        kr = b.let(kc.fresh("kr"), keys[at(src, rc)])
        right = b.let(kc.fresh("right"),
                      ri.lt(re).logical_and(li.ge(le).logical_or(better(kr, kl))))
        b.store(keys, at(dst, base + o), select(right, kr, kl))
        b.store(ids, at(dst, base + o), select(right, ids[at(src, rc)], ids[at(src, lc)]))
        one = select(right, as_expr(1), as_expr(0))
        b.store(st, (as_expr(0),), li + 1 - one)
        b.store(st, (as_expr(1),), ri + one)
