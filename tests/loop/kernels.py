"""Hand-written loop IR kernels shared by the codegen tests (and the matmul benchmark)."""
from __future__ import annotations

from compiler.loop import (Broadcast, Buffer, IRBuilder, LoopFunc, LoopModule, Ramp, call,
                           const)


def naive_matmul(M: int, K: int, N: int, parallel: bool = False) -> LoopModule:
    """C = A @ B with a TensorIR block: spatial i, j and reduce k with an init."""
    A, B, C = Buffer("A", "f32", (M, K)), Buffer("B", "f32", (K, N)), Buffer("C", "f32", (M, N))
    b = IRBuilder()
    with b.for_("i", M, kind="parallel" if parallel else "serial") as i:
        with b.for_("j", N) as j:
            with b.for_("k", K) as k:
                with b.block("C", [("vi", M, "spatial", i), ("vj", N, "spatial", j),
                                   ("vk", K, "reduce", k)]) as (vi, vj, vk):
                    with b.init():
                        b.store(C, (vi, vj), 0.0)
                    b.store(C, (vi, vj), C[vi, vj] + A[vi, vk] * B[vk, vj])
    return LoopModule("matmul", [LoopFunc("matmul", [A, B, C], b.get())])


def tiled_matmul(M: int, K: int, N: int, mr: int = 4, nr: int = 16, lanes: int = 8,
                 parallel: bool = True) -> LoopModule:
    """C = A @ B with an mr x nr register tile of explicit <lanes x f32> fma: a local
    accumulator tile, B rows loaded as ramps, A elements broadcast. The column-panel loop is
    outermost (a B panel stays in cache while all row tiles pass) and parallel."""
    assert M % mr == 0 and N % nr == 0 and nr % lanes == 0
    A, B, C = Buffer("A", "f32", (M, K)), Buffer("B", "f32", (K, N)), Buffer("C", "f32", (M, N))
    nv = nr // lanes
    b = IRBuilder()
    zero = Broadcast(const(0.0), lanes)
    with b.for_("jo", N // nr, kind="parallel" if parallel else "serial") as jo:
        with b.for_("io", M // mr) as io:
            acc = b.alloc("acc", "f32", (mr, nr))
            with b.for_("ii", mr, kind="unrolled") as ii:
                with b.for_("jv", nv, kind="unrolled") as jv:
                    b.store(acc, (ii, Ramp(jv * lanes, 1, lanes)), zero)
            with b.for_("k", K) as k:
                with b.for_("ii", mr, kind="unrolled") as ii:
                    a = b.let("a", Broadcast(A[io * mr + ii, k], lanes))
                    with b.for_("jv", nv, kind="unrolled") as jv:
                        col = Ramp(jo * nr + jv * lanes, 1, lanes)
                        t = Ramp(jv * lanes, 1, lanes)
                        b.store(acc, (ii, t), call("fma", a, B[k, col], acc[ii, t]))
            with b.for_("ii", mr, kind="unrolled") as ii:
                with b.for_("jv", nv, kind="unrolled") as jv:
                    b.store(C, (io * mr + ii, Ramp(jo * nr + jv * lanes, 1, lanes)),
                            acc[ii, Ramp(jv * lanes, 1, lanes)])
    return LoopModule("matmul_tiled", [LoopFunc("matmul", [A, B, C], b.get())])
