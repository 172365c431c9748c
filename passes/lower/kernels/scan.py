"""Kernel rules of the ops that carry state along an axis: CumSum (a running sum), Compress and
NonZero (a running output position). TopK lives in topk.py. Also the small loop helpers the
kernels of this family share: explicit-vector loops with tails, and an outer loop nest whose
first loop runs in parallel when the work is big enough.

Compress and NonZero have a data-dependent result size; the graph IR gives them a static shape
only when it is known at compile time (a constant condition / input, or a declared shape). The
kernels never trust that size: the output position is checked against it before every write
(entries past the end are dropped), and elements the input did not fill are zeroed, so each
result element is written exactly once."""
from __future__ import annotations

from contextlib import ExitStack

import numpy as np

from compiler.loop import INDEX, Broadcast, Ramp, as_expr, cast, select

from ..nest import PARALLEL_MIN_ELEMENTS, compute_nest
from ..registry import kernel
from ..tensor import ComputeRef, delinearize

CHUNK = 2048          # CumSum keeps this many running sums of the inner dim on the stack


def lane_index(j, n: int):
    """The index of n consecutive elements starting at j (a Ramp when n > 1)."""
    return Ramp(j, 1, n) if n > 1 else j


def splat(e, n: int):
    return Broadcast(e, n) if n > 1 else e


def emit_lanes(kc, extent: int, lanes: int, body) -> None:
    """body(j, n) for j = 0, n, 2n, ... covering [0, extent): full vectors of `lanes`, then
    halving vector widths down to 4, then scalars (no access past `extent`)."""
    b, start, width = kc.b, 0, lanes
    while width >= 4:
        count = (extent - start) // width
        if count == 1:
            body(as_expr(start), width)
        elif count > 1:
            with b.for_(kc.fresh("v"), count) as v:
                body(v * width + start if start else v * width, width)
        start += count * width
        width //= 2
    tail = extent - start
    if tail == 1:
        body(as_expr(start), 1)
    elif tail > 1:
        with b.for_(kc.fresh("t"), tail) as t:
            body(t + start if start else t, 1)


def open_loops(kc, stack: ExitStack, extents, work: int) -> list:
    """Nested loops over `extents`; the first with more than one iteration is `parallel` when
    `work` (elements touched) pays for a thread team. Returns the loop variables."""
    par = kc.target.parallel and kc.target.num_threads != 1 and work >= PARALLEL_MIN_ELEMENTS
    loops = []
    for d, n in enumerate(extents):
        kind = "serial"
        if par and n > 1:
            kind, par = "parallel", False
        loops.append(stack.enter_context(kc.b.for_(kc.fresh(f"l{d}"), n, kind=kind)))
    return loops


def const_axis(kc, i: int, rank: int, what: str = "axis") -> int:
    v = kc.const(i)
    if v is None:
        raise kc.error(f"input {i} ({what}) must be a constant to compile this node")
    a = int(np.asarray(v).reshape(-1)[0])
    if not -rank <= a < rank:
        raise kc.error(f"{what} {a} is out of range for rank {rank}")
    return a + rank if a < 0 else a


def _zero(dtype):
    return as_expr(False if dtype.name == "bool" else 0.0 if dtype.is_float else 0, dtype)


# ---- CumSum --------------------------------------------------------------------------------------
@kernel("CumSum")
def cumsum(kc):
    """Running sums along the axis, in the input dtype (as the reference). A runtime axis
    selects one of the rank variants (an axis out of range gives zeros; the reference raises)."""
    x, out = kc.inputs[0], kc.outputs[0]
    if x.size == 0:
        return
    if kc.const(1) is not None:
        _cumsum_along(kc, const_axis(kc, 1, x.rank))
        return
    a = kc.inputs[1]
    a = a[(as_expr(0),) * a.rank]
    a = a if a.dtype is INDEX else cast(INDEX, a)
    axis = kc.b.let(kc.fresh("axis"), select(a.lt(0), a + x.rank, a))

    def variant(k: int):
        with kc.b.if_(axis.eq(k)):
            _cumsum_along(kc, k)
        with kc.b.else_():
            if k + 1 < x.rank:
                variant(k + 1)
            else:
                kc.b.emit(compute_nest(out.buffer, ComputeRef(out.shape, out.dtype,
                                                               lambda idx: _zero(out.dtype)),
                                       kc.target, kc.fresh("cumsum_zero"), store=out.store))
    variant(0)


def _cumsum_along(kc, axis: int) -> None:
    """When the axis is not the last one, a chunk of the last dim is scanned at once in
    explicit vectors."""
    x, out = kc.inputs[0], kc.outputs[0]
    excl, rev = bool(kc.attr("exclusive", 0)), bool(kc.attr("reverse", 0))
    b, shape, L = kc.b, x.shape, x.shape[axis]
    last = axis == x.rank - 1
    W = 1 if last else shape[-1]
    lanes = kc.lanes(x.dtype) if not last else 1
    outer = list(shape[:axis]) + ([] if last else list(shape[axis + 1:-1]))
    n_full, rest = divmod(W, CHUNK)

    def scan(ivs, off, width):
        acc = b.alloc(kc.fresh("acc"), x.dtype, (width,))
        emit_lanes(kc, width, lanes, lambda j, n: b.store(acc, (lane_index(j, n),),
                                                          splat(_zero(x.dtype), n)))
        with b.for_(kc.fresh("t"), L) as t:
            tt = (L - 1 - t) if rev else t
            pre, mid = tuple(ivs[:axis]), tuple(ivs[axis:])

            def step(j, n):
                a = (lane_index(j, n),)
                idx = pre + (tt,) + mid + (() if last else (lane_index(j + off, n),))
                v = b.let(kc.fresh("x"), x[idx])
                if excl:
                    b.emit(out.store(idx, acc[a]))
                    b.store(acc, a, acc[a] + v)
                else:
                    s = b.let(kc.fresh("s"), acc[a] + v)
                    b.store(acc, a, s)
                    b.emit(out.store(idx, s))
            emit_lanes(kc, width, lanes, step)

    if W <= CHUNK:
        with ExitStack() as stack:
            scan(open_loops(kc, stack, outer, x.size), as_expr(0), W)
        return
    with ExitStack() as stack:              # whole chunks of the last dim, then the rest
        ivs = open_loops(kc, stack, outer + [n_full], x.size)
        scan(ivs[:-1], ivs[-1] * CHUNK, CHUNK)
    if rest:
        with ExitStack() as stack:
            scan(open_loops(kc, stack, outer, x.size), as_expr(n_full * CHUNK), rest)


# ---- Compress ------------------------------------------------------------------------------------
@kernel("Compress")
def compress(kc):
    x, cond, out = kc.inputs[0], kc.inputs[1], kc.outputs[0]
    axis = kc.attr("axis")
    b = kc.b
    if any(d == 0 for d in out.shape):
        return
    if axis is None:
        n, steps = out.shape[0], min(cond.shape[0], x.size)
        pre_shape, post_shape = (), ()
    else:
        axis = axis + x.rank if axis < 0 else axis
        n, steps = out.shape[axis], min(cond.shape[0], x.shape[axis])
        pre_shape, post_shape = x.shape[:axis], x.shape[axis + 1:]
    lanes = kc.lanes(x.dtype)

    def each_post(make_idx, value_of):
        """Store over the dims after the axis (the last one in vectors)."""
        with ExitStack() as st:
            mids = [st.enter_context(b.for_(kc.fresh("p"), d)) for d in post_shape[:-1]]
            if not post_shape:
                b.emit(out.store(make_idx(()), value_of(())))
                return

            def body(j, nl):
                post = tuple(mids) + (lane_index(j, nl),)
                b.emit(out.store(make_idx(post), value_of(post, nl)))
            emit_lanes(kc, post_shape[-1], lanes, body)

    with ExitStack() as stack:
        pre = tuple(open_loops(kc, stack, pre_shape, int(np.prod(out.shape))))
        pos = b.alloc(kc.fresh("pos"), INDEX, (1,))
        b.store(pos, (as_expr(0),), as_expr(0))
        p = pos[as_expr(0)]
        with b.for_(kc.fresh("i"), steps) as i:
            with b.if_(cond[(i,)]):
                with b.if_(p.lt(n)):
                    if axis is None:
                        src = delinearize(i, x.shape) if x.rank else ()
                        b.emit(out.store((p,), x[src]))
                    else:
                        each_post(lambda post: pre + (p,) + post,
                                  lambda post, nl=1: x[pre + (i,) + post])
                b.store(pos, (as_expr(0),), p + 1)
        with b.for_(kc.fresh("z"), n) as z:          # what the condition did not fill
            with b.if_(z.ge(p)):
                zero = _zero(out.dtype)
                if axis is None:
                    b.emit(out.store((z,), zero))
                else:
                    each_post(lambda post: pre + (z,) + post, lambda post, nl=1: splat(zero, nl))


# ---- NonZero -------------------------------------------------------------------------------------
@kernel("NonZero")
def nonzero(kc):
    x, out = kc.inputs[0], kc.outputs[0]
    rank, n = out.shape
    if rank == 0 or n == 0:
        return
    b = kc.b
    pos = b.alloc(kc.fresh("pos"), INDEX, (1,))
    b.store(pos, (as_expr(0),), as_expr(0))
    p = pos[as_expr(0)]
    with ExitStack() as stack:                       # row-major order, as numpy's nonzero
        idx = [stack.enter_context(b.for_(kc.fresh(f"i{d}"), s)) for d, s in enumerate(x.shape)]
        v = x[tuple(idx)]
        with b.if_(v if v.dtype.name == "bool" else v.ne(_zero(v.dtype))):
            with b.if_(p.lt(n)):
                for d in range(rank):
                    b.emit(out.store((as_expr(d), p), idx[d]))
            b.store(pos, (as_expr(0),), p + 1)
    with b.for_(kc.fresh("z"), n) as z:              # what the input did not fill
        with b.if_(z.ge(p)):
            for d in range(rank):
                b.emit(out.store((as_expr(d), z), as_expr(0)))
