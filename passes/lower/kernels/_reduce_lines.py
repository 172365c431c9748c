"""Loop skeletons of the reduction-shaped kernels (Reduce*, ArgMax/ArgMin, the global pools,
Softmax and the normalisations): a family of independent reductions -- "lines" -- over some
axes of an iteration shape. A line is visited in one of two ways:

  - along the line (`inner`): the last axis is reduced, so it is contiguous in the line; its
    elements are loaded `w` lanes at a time (a Ramp), accumulated in up to four vector
    accumulators (independent dependency chains), folded with reduce_add / reduce_max / ...,
    and a scalar tail takes the last K % w elements;
  - across lines (`outer`): the last axis is kept, so `w` neighbouring lines share the lanes of
    one vector (a Ramp on the last axis) and every step of the reduction is a whole-vector
    operation; the last K % w lines run one at a time.

The lines are spread over one flattened loop, `parallel` when the work is big enough.
Accumulators are local buffers (b.alloc: per thread, promoted to registers), never the output."""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

from compiler.ir import dtypes as D
from compiler.loop import Ramp, as_expr, call, cast, const, max_, min_, select
from compiler.loop.expr import Expr, IntImm

from ..nest import PARALLEL_MIN_ELEMENTS

LANE_REDUCE = {"+": "reduce_add", "*": "reduce_mul", "max": "reduce_max", "min": "reduce_min",
               "maxnum": "reduce_max"}
ROW_BUFFER_BYTES = 32 << 10        # a line kept in a local buffer (softmax) up to this size


def op_call(kc):
    """The node as a compiler.ops OpCall (attribute defaults filled in), for the shape
    helpers of compiler/ops (reduce_axes, window geometry)."""
    from compiler.ops.registry import get_op, make_call
    node = kc.node
    types = [None if v is None else v.type for v in node.inputs]
    values = [kc.const(i) for i in range(len(node.inputs))]
    return make_call(get_op(node.op), node.name, node.attrs, types, values, len(node.outputs))


def work_dtype(dtype):
    """What statistics are computed in: f32 for f16 (and f32), f64 for f64; ints unchanged."""
    if dtype.is_float:
        return D.f64 if dtype is D.f64 else D.f32
    return dtype


def convert(e: Expr, dtype) -> Expr:
    return e if e.dtype is dtype else cast(dtype, e)


def pick_lanes(lanes: int, n: int) -> int:
    """The vector width for a dimension of n elements: the host's, or the largest power of two
    <= n when n is shorter (an 8-channel block on a 16-lane machine still vectorises)."""
    if n >= lanes:
        return lanes
    return 1 << (max(n, 1).bit_length() - 1)


def identity(op: str, dtype) -> Expr:
    """The neutral element of `op` in dtype (max: -inf / the dtype's minimum)."""
    op = "max" if op == "maxnum" else op
    if op in ("+", "*"):
        return const(0 if op == "+" else 1, dtype)
    if dtype is D.bool_:
        return const(op == "min", dtype)
    if dtype.is_float:
        return const(-math.inf if op == "max" else math.inf, dtype)
    info = np.iinfo(dtype.np_dtype)
    return const(int(info.min if op == "max" else info.max), dtype)


def combine(op: str, a: Expr, b: Expr) -> Expr:
    """a op b. "maxnum" is a max that keeps a when b is NaN (one instruction, where the
    NaN-propagating max takes several): for a max whose NaN would be lost anyway."""
    if op == "maxnum":
        return select(b.gt(a), b, a)
    if op == "+":
        return a + b
    if op == "*":
        return a * b
    if a.dtype is D.bool_:
        return a.logical_or(b) if op == "max" else a.logical_and(b)
    return max_(a, b) if op == "max" else min_(a, b)


def vec(x, lanes: int):
    """x broadcast to `lanes` lanes (a scalar stays a scalar for lanes 1)."""
    from compiler.loop import Broadcast
    x = as_expr(x)
    return Broadcast(x, lanes) if lanes > 1 and x.lanes == 1 else x


def powf(v: Expr, e: float) -> Expr:
    """v ** e for a float scalar or vector v."""
    return call("pow", v, vec(const(e, v.dtype), v.lanes))


FOLD_TO_LANES = 4


def fold_lanes(kc, op: str, v: Expr, acc: "Acc") -> Expr:
    """The op-combination of v's lanes. Float sums and products halve the vector through the
    accumulator's buffer first (a tree: without fast-math reduce_add is a sequential chain of
    one add per lane), then reduce_* finishes the last FOLD_TO_LANES lanes."""
    b, n = kc.b, v.lanes
    if op not in ("+", "*") or not v.dtype.is_float or n <= FOLD_TO_LANES:
        return call(LANE_REDUCE[op], v)
    acc.set(v)
    while n > FOLD_TO_LANES:
        n //= 2
        half = combine(op, acc.buf[(Ramp(IntImm(0), 1, n),)], acc.buf[(Ramp(IntImm(n), 1, n),)])
        b.emit(acc.buf.store((Ramp(IntImm(0), 1, n),), half))
    return call(LANE_REDUCE[op], acc.buf[(Ramp(IntImm(0), 1, n),)])


def flat_loop(kc, dims, work: int, body: Callable[[tuple], None], hint: str = "r") -> None:
    """Call body(index tuple) inside one loop over every index of `dims` (row-major,
    flattened), `parallel` when `work` (elements touched) pays for a thread team."""
    n = math.prod(dims)
    if n == 0:
        return
    if n == 1:
        body(tuple(IntImm(0) for _ in dims))
        return
    t = kc.target
    kind = "parallel" if t.parallel and t.num_threads != 1 and \
        work >= PARALLEL_MIN_ELEMENTS else "serial"
    with kc.b.for_(kc.fresh(hint), n, kind=kind) as r:
        body(delinearize(r, dims))


def delinearize(lin: Expr, dims) -> tuple:
    out, stride = [], 1
    for d in reversed(dims):
        if d == 1:
            out.append(IntImm(0))
        else:
            q = lin // stride if stride != 1 else lin
            out.append(q % d if stride * d < math.prod(dims) else q)
        stride *= d
    return tuple(reversed(out))


class Acc:
    """A `lanes`-wide accumulator in a local buffer (read and written as a whole vector)."""

    def __init__(self, kc, dtype, lanes: int, init: Expr, hint: str = "acc"):
        self.b, self.lanes = kc.b, lanes
        self.buf = kc.b.alloc(kc.fresh(hint), dtype, (lanes,))
        self.idx = (Ramp(IntImm(0), 1, lanes),) if lanes > 1 else (IntImm(0),)
        self.set(vec(init, lanes))

    @property
    def value(self) -> Expr:
        return self.buf[self.idx]

    def set(self, v: Expr) -> None:
        self.b.emit(self.buf.store(self.idx, vec(v, self.lanes)))

    def update(self, op: str, v: Expr) -> None:
        self.set(combine(op, self.value, v))


def nest(kc, dims, body: Callable[[tuple], None], kind: str = "serial") -> None:
    """Serial loops over `dims` (none for extent-1 dims) around body(index tuple)."""
    if any(d == 0 for d in dims):
        return

    def go(k, idx):
        if k == len(dims):
            body(tuple(idx))
        elif dims[k] == 1:
            go(k + 1, idx + [IntImm(0)])
        else:
            with kc.b.for_(kc.fresh("k"), dims[k], kind=kind) as v:
                go(k + 1, idx + [v])
    go(0, [])


class Line:
    """One line (inner: w lanes along it) or w neighbouring lines (outer: one per lane).
    `lead` has an index Expr for every axis not in `axes` (None at the axes)."""

    def __init__(self, kc, shape, axes, lead, w: int, inner: bool):
        self.kc, self.shape, self.axes, self.lead = kc, tuple(shape), tuple(axes), tuple(lead)
        self.w, self.inner = w, inner
        self.dims = tuple(self.shape[a] for a in self.axes)
        self.size = math.prod(self.dims)        # elements of one line

    def index(self, pos) -> tuple:
        """The full index of the line element at `pos` (one Expr per reduced axis)."""
        idx = list(self.lead)
        for a, p in zip(self.axes, pos):
            idx[a] = p
        return tuple(idx)

    def out_index(self, keepdims: bool) -> tuple:
        """The index of the line's result: reduced axes dropped, or 0 with keepdims."""
        return tuple(IntImm(0) if i in self.axes else e for i, e in enumerate(self.lead)
                     if keepdims or i not in self.axes)

    @property
    def lanes(self) -> int:
        """Lanes of a per-line result (a reduction's value): w across lines, else 1."""
        return 1 if self.inner else self.w

    # ---- passes over the line -------------------------------------------------------------
    def reduce(self, op: str, dtype, load: Callable, each: Optional[Callable] = None,
               hint: str = "red") -> Expr:
        """`op`-combination of load(index) over the line (let-bound; w lanes when outer).
        each(index, value) -> Stmt, if given, also runs once per element (value let-bound).
        The last reduced axis is unrolled into up to four accumulators (independent chains)."""
        b, w = self.kc.b, self.w
        *outer, k = self.dims or (1,)
        # steps along the last axis: whole vectors (inner) or single positions (outer)
        nstep, tail = (divmod(k, w) if w > 1 else (0, k)) if self.inner else (k, 0)
        unroll = 4 if nstep >= 8 else 2 if nstep >= 2 else 1
        accs = [Acc(self.kc, dtype, w, identity(op, dtype), hint) for _ in range(unroll)] \
            if nstep else []
        sacc = Acc(self.kc, dtype, self.lanes, identity(op, dtype), hint) \
            if tail or not nstep else None
        pos = (lambda j: Ramp(j * w, 1, w)) if self.inner else (lambda j: j)

        def body(opos):
            at = lambda j: self.index(opos + (j,))
            main = nstep // unroll

            def chunk(t):
                for u in range(unroll):
                    self._step(accs[u], op, at(pos(t * unroll + u)), load, each)
            if main > 1:
                with b.for_(self.kc.fresh("j"), main) as t:
                    chunk(t)
            elif main == 1:
                chunk(IntImm(0))
            for u in range(nstep % unroll):
                self._step(accs[u], op, at(pos(IntImm(main * unroll + u))), load, each)
            if tail:
                with b.for_(self.kc.fresh("j"), tail) as t:
                    self._step(sacc, op, at(t + nstep * w), load, each)
        nest(self.kc, tuple(outer), body)
        r = None
        if accs:
            r = accs[0].value
            for a in accs[1:]:
                r = combine(op, r, a.value)
            if self.inner:
                r = fold_lanes(self.kc, op, r, accs[0])
        if sacc is not None:
            r = sacc.value if r is None else combine(op, r, sacc.value)
        return b.let(self.kc.fresh(hint), r)

    def _step(self, acc: Acc, op, idx, load, each) -> None:
        v = load(idx)
        if each is not None:
            v = self.kc.b.let(self.kc.fresh("v"), v)
            self.kc.b.emit(each(idx, v))
        acc.update(op, v)

    def map(self, body: Callable[[tuple], object]) -> None:
        """Emit body(index) (a Stmt) for every element of the line (a vector of w when w > 1)."""
        b = self.kc.b
        if not self.inner:
            nest(self.kc, self.dims, lambda pos: b.emit(body(self.index(pos))))
            return
        *outer, k = self.dims
        w = self.w
        nvec, tail = divmod(k, w) if w > 1 else (0, k)

        def inner(opos):
            if nvec:
                with b.for_(self.kc.fresh("j"), nvec) as t:
                    b.emit(body(self.index(opos + (Ramp(t * w, 1, w),))))
            if tail:
                with b.for_(self.kc.fresh("j"), tail) as t:
                    b.emit(body(self.index(opos + (t + nvec * w,))))
        nest(self.kc, tuple(outer), inner)


def for_lines(kc, shape, axes, body: Callable[[Line], None], dtype, work: int = 0) -> None:
    """Call body(line) for every line of `shape` over `axes` (see the module docstring);
    `dtype` sets the vector width, `work` (default: the elements of shape) the parallel cut."""
    shape, axes = tuple(shape), tuple(sorted(axes))
    rank = len(shape)
    work = work or math.prod(shape)
    lanes = kc.lanes(dtype)
    if rank == 0:
        body(Line(kc, shape, axes, (), 1, False))
        return
    if rank - 1 in axes:
        kept = [a for a in range(rank) if a not in axes]

        def row(pos):
            lead = [None] * rank
            for a, p in zip(kept, pos):
                lead[a] = p
            body(Line(kc, shape, axes, lead, pick_lanes(lanes, shape[-1]), True))
        flat_loop(kc, [shape[a] for a in kept], work, row)
        return
    kept = [a for a in range(rank - 1) if a not in axes]
    c = shape[-1]
    w = pick_lanes(lanes, c)
    nvec = c // w if w > 1 else 0

    def cols(lanes_, first):
        def run(pos):
            lead = [None] * rank
            for a, p in zip(kept, pos[:-1]):
                lead[a] = p
            lead[-1] = Ramp(pos[-1] * lanes_, 1, lanes_) if lanes_ > 1 else pos[-1] + first
            body(Line(kc, shape, axes, lead, lanes_, False))
        return run
    if nvec:
        flat_loop(kc, [shape[a] for a in kept] + [nvec], work, cols(w, 0))
    if c - nvec * w:
        flat_loop(kc, [shape[a] for a in kept] + [c - nvec * w], work, cols(1, nvec * w))
