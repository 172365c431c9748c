"""MatMul (numpy matmul: 1-D promotion, broadcast batch dims) and Gemm (transA/transB, alpha,
beta, C broadcast to (M, N)) on the register-blocked micro-kernel of gemm_microkernel.py.

f32: B is packed into NR-wide column panels — at compile time when it is a weight (alpha
folded in), else at run time into scratch, each batch of B once. A is read in place (a weight A
is packed into MR-row panels at compile time). Every output element is written once through
the output's store, so fused epilogues (bias, activation, residual add) cost no extra pass.
Batches run in parallel when there are enough of them, otherwise each GEMM is parallel inside.
Other dtypes use a plain reduction loop nest (f16 accumulates in f32, as the reference does)."""
from __future__ import annotations

import numpy as np

from compiler.ir import dtypes as D
from compiler.loop import Broadcast, Ramp, as_expr, cast, const

from ..registry import kernel
from ..tensor import broadcast_index, delinearize
from .gemm_microkernel import (PARALLEL_MIN_MACS, Names, emit_gemm, plan_gemm,
                               target_threads)
from .packing import emit_pack_col_panels, pack_col_panels, pack_row_panels


class MatmulSpec:
    """C[batch..., M, N] = alpha * A' @ B' (+ beta * C0): how to read A and B for a batch index.
    a_t / b_t: the operand is stored transposed (Gemm's transA / transB)."""

    def __init__(self, kc, a, b, M, K, N, batch, out_index, a_t=False, b_t=False, alpha=1.0,
                 c=None, beta=0.0):
        self.kc, self.a, self.b = kc, a, b
        self.M, self.K, self.N, self.batch = M, K, N, tuple(batch)
        self.out_index = out_index          # (batch_idx, m, n) -> output index tuple
        self.a_t, self.b_t, self.alpha, self.c, self.beta = a_t, b_t, alpha, c, beta

    def a_index(self, bidx, m, k):
        core = (k, m) if self.a_t else (m, k)
        if self.a.rank == 1:
            return (k,)
        return broadcast_index(bidx, self.a.shape[:-2]) + core

    def b_index(self, bidx, k, n):
        core = (n, k) if self.b_t else (k, n)
        if self.b.rank == 1:
            return (k,)
        return broadcast_index(bidx, self.b.shape[:-2]) + core

    def finish(self, bidx, m, n, value, scaled: bool = False):
        """alpha and beta * C (unless `scaled` already), then the output's (epilogue-applying)
        store."""
        if not scaled and self.alpha != 1.0:
            value = value * as_expr(self.alpha, value.dtype)
        if not scaled and self.c is not None and self.beta != 0.0:
            cv = self.c[broadcast_index((m, n), self.c.shape)]
            if value.lanes > 1 and cv.lanes == 1:
                cv = Broadcast(cv, value.lanes)
            value = value + (cv if self.beta == 1.0 else cv * as_expr(self.beta, cv.dtype))
        return self.kc.outputs[0].store(self.out_index(bidx, m, n), value)


def _batch_loop(b, batch: tuple, names, kind: str, body) -> None:
    n = int(np.prod(batch, dtype=np.int64)) if batch else 1
    if n == 1:
        body(tuple(const(0) for _ in batch))
        return
    with b.for_(names("bt"), n, kind=kind) as t:
        body(delinearize(t, batch))


def emit_matmul_f32(spec: MatmulSpec) -> None:
    kc, b = spec.kc, spec.kc.b
    names = Names(kc.fresh)
    L, tgt = kc.lanes("f32"), kc.target
    M, K, N = spec.M, spec.K, spec.N
    n_batch = int(np.prod(spec.batch, dtype=np.int64)) if spec.batch else 1
    threads = target_threads(tgt)
    batch_parallel = threads > 1 and n_batch >= 2 * threads and \
        n_batch * M * N * K >= PARALLEL_MIN_MACS
    plan = plan_gemm(M, N, K, L, 1 if batch_parallel else threads, tgt.parallel)
    tile = plan.tile
    nr, mr = tile.nr, tile.mr
    b_batch = spec.b.shape[:-2] if spec.b.rank > 2 else ()

    # ---- B: column panels [*b_batch, NP, K, NR]
    bval = kc.const(1)
    if bval is not None:
        b2 = np.asarray(bval, np.float32)
        b2 = b2.reshape(K, 1) if spec.b.rank == 1 else b2
        if spec.b_t:
            b2 = np.swapaxes(b2, -1, -2)
        if spec.alpha != 1.0:
            b2 = b2 * np.float32(spec.alpha)
        bp = kc.add_const("bpanels", pack_col_panels(b2, nr))
        alpha_done = True
    else:
        bp = kc.scratch("bpanels", "f32", b_batch + (plan.n_panels, K, nr))
        bb = int(np.prod(b_batch, dtype=np.int64)) if b_batch else 1
        many = threads > 1 and bb >= 2 * threads

        def pack(bidx):
            emit_pack_col_panels(b, lambda k, n: spec.b[spec.b_index(bidx, k, n)], bp, bidx,
                                 K, N, nr, L, names, tgt.parallel and not many)
        _batch_loop(b, b_batch, names, "parallel" if many else "serial", pack)
        alpha_done = False
    if alpha_done:
        spec.alpha = 1.0

    # ---- A: read in place, or row panels of a weight
    aval = kc.const(0)
    apanels = None
    if aval is not None and spec.a.rank >= 2:
        a2 = np.asarray(aval, np.float32)
        if spec.a_t:
            a2 = np.swapaxes(a2, -1, -2)
        apanels = kc.add_const("apanels", pack_row_panels(a2, mr))

    def gemm(bidx):
        bpre = broadcast_index(bidx, b_batch) if b_batch else ()
        if apanels is not None:
            apre = broadcast_index(bidx, spec.a.shape[:-2]) if spec.a.rank > 2 else ()

            def a_elem(ip, ii, k):
                return apanels[(*apre, ip, k, const(ii))]
        else:
            def a_elem(ip, ii, k):
                return spec.a[spec.a_index(bidx, ip * mr + ii, k)]

        def b_vec(jp, v, k):
            return bp[(*bpre, jp, k, Ramp(const(v * L), 1, L))]

        emit_gemm(b, plan, a_elem, b_vec,
                  lambda m, n, value: spec.finish(bidx, m, n, value), names)

    _batch_loop(b, spec.batch, names, "parallel" if batch_parallel else "serial", gemm)


def emit_matmul_generic(spec: MatmulSpec) -> None:
    """A reduction loop nest for dtypes other than f32 (f16 accumulates in f32)."""
    kc, b = spec.kc, spec.kc.b
    names = Names(kc.fresh)
    out_dt = kc.outputs[0].dtype
    acc_dt = D.f32 if out_dt is D.f16 else out_dt
    kind = "parallel" if target_threads(kc.target) > 1 else "serial"

    def body(bidx):
        with b.for_(names("m"), spec.M, kind=kind) as m:
            with b.for_(names("n"), spec.N) as n:
                acc = b.alloc(names("acc"), acc_dt, (1,))
                b.store(acc, (const(0),), as_expr(0, acc_dt))
                with b.for_(names("k"), spec.K) as k:
                    x = spec.a[spec.a_index(bidx, m, k)]
                    y = spec.b[spec.b_index(bidx, k, n)]
                    if acc_dt is not out_dt:
                        x, y = cast(acc_dt, x), cast(acc_dt, y)
                    b.store(acc, (const(0),), acc[const(0)] + x * y)
                value = _scaled(spec, m, n, acc[const(0)], acc_dt)
                value = cast(out_dt, value) if value.dtype is not out_dt else value
                b.emit(spec.finish(bidx, m, n, value, scaled=True))

    _batch_loop(b, spec.batch, names, "serial", body)


def _scaled(spec, m, n, value, acc_dt):
    """alpha * value + beta * C in the accumulation type; non-integral factors on integers go
    through f64 (as the reference does)."""
    alpha, beta = spec.alpha, spec.beta
    if not acc_dt.is_float and not (float(alpha).is_integer() and float(beta).is_integer()):
        value, acc_dt = cast(D.f64, value), D.f64
    lit = (lambda x: as_expr(float(x), acc_dt)) if acc_dt.is_float else \
        (lambda x: as_expr(int(x), acc_dt))
    if alpha != 1.0:
        value = value * lit(alpha)
    if spec.c is not None and beta != 0.0:
        cv = spec.c[broadcast_index((m, n), spec.c.shape)]
        cv = cast(acc_dt, cv) if cv.dtype is not acc_dt else cv
        value = value + (cv if beta == 1.0 else cv * lit(beta))
    return value


def _emit(spec: MatmulSpec) -> None:
    if spec.M == 0 or spec.N == 0:
        return
    if spec.kc.outputs[0].dtype is D.f32 and spec.K > 0:
        emit_matmul_f32(spec)
    else:
        emit_matmul_generic(spec)


@kernel("MatMul")
def matmul(kc):
    a, b = kc.inputs[0], kc.inputs[1]
    out = kc.outputs[0]
    a_shape = (1,) + a.shape if a.rank == 1 else a.shape
    b_shape = b.shape + (1,) if b.rank == 1 else b.shape
    M, K, N = a_shape[-2], a_shape[-1], b_shape[-1]
    batch = tuple(out.shape[:len(out.shape) - (a.rank > 1) - (b.rank > 1)])

    def out_index(bidx, m, n):
        return tuple(bidx) + ((m,) if a.rank > 1 else ()) + ((n,) if b.rank > 1 else ())
    _emit(MatmulSpec(kc, a, b, M, K, N, batch, out_index))


@kernel("Gemm")
def gemm(kc):
    a, b = kc.inputs[0], kc.inputs[1]
    c = kc.inputs[2] if len(kc.inputs) > 2 else None
    ta, tb = int(kc.attr("transA", 0)), int(kc.attr("transB", 0))
    M, K = (a.shape[1], a.shape[0]) if ta else a.shape
    N = b.shape[0] if tb else b.shape[1]
    _emit(MatmulSpec(kc, a, b, M, K, N, (), lambda bidx, m, n: (m, n), a_t=bool(ta),
                     b_t=bool(tb), alpha=float(kc.attr("alpha", 1.0)), c=c,
                     beta=float(kc.attr("beta", 1.0))))
