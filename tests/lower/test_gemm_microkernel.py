"""The GEMM micro-kernel generator on raw loop IR: C = A @ B with B in packed column panels,
every tile shape and edge (M, N not multiples of the tile), bounds-checked, 1 and 2 threads."""
import numpy as np
import pytest

from backends.llvm import compile_module
from compiler.loop import Buffer, IRBuilder, LoopFunc, LoopModule, Ramp, verify
from passes.lower.kernels.gemm_microkernel import (GemmPlan, MicroTile, Names, emit_gemm,
                                                   plan_gemm)
from passes.lower.kernels.packing import pack_col_panels, pack_row_panels


def _module(plan: GemmPlan, k_inner: int = 1) -> LoopModule:
    M, N, K, t = plan.M, plan.N, plan.K, plan.tile
    A = Buffer("A", "f32", (M, K))
    Bp = Buffer("Bp", "f32", (plan.n_panels, K, t.nr))
    C = Buffer("C", "f32", (M, N))
    b = IRBuilder()
    emit_gemm(b, plan, lambda ip, ii, k: A[ip * t.mr + ii, k],
              lambda jp, v, k: Bp[jp, k, Ramp(v * t.lanes, 1, t.lanes)],
              lambda m, n, value: C.store((m, n), value), Names(), k_inner=k_inner)
    m = LoopModule("mm", [LoopFunc("mm", [A, Bp, C], b.get())])
    verify(m)
    return m


def _run(plan, threads=1, k_inner=1):
    rng = np.random.default_rng(plan.M * 1000 + plan.N)
    a = rng.standard_normal((plan.M, plan.K)).astype(np.float32)
    bm = rng.standard_normal((plan.K, plan.N)).astype(np.float32)
    c = np.full((plan.M, plan.N), np.nan, np.float32)
    cm = compile_module(_module(plan, k_inner), num_threads=threads, bounds_check=True)
    cm["mm"](a, pack_col_panels(bm, plan.tile.nr), c)
    np.testing.assert_allclose(c, a.astype(np.float64) @ bm, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("M,N,K,lanes", [(1, 1, 1, 16), (7, 5, 3, 8), (8, 32, 16, 16),
                                         (17, 33, 9, 8), (9, 70, 31, 16), (30, 100, 64, 8)])
def test_planned_gemm_matches_numpy(M, N, K, lanes):
    _run(plan_gemm(M, N, K, lanes, threads=1, parallel=False))


@pytest.mark.parametrize("tile,ppb,rb", [(MicroTile(16, 6, 4), 1, 1), (MicroTile(8, 4, 3), 2, 3),
                                         (MicroTile(16, 3, 1), 3, 2)])
def test_tiles_blocks_and_threads(tile, ppb, rb):
    plan = GemmPlan(29, 150, 23, tile, panels_per_block=ppb, row_blocks=rb, parallel=True)
    _run(plan, threads=2)


def test_unrolled_k_steps():
    _run(GemmPlan(13, 40, 24, MicroTile(8, 6, 2)), k_inner=4)


def test_row_and_column_panels_are_zero_padded():
    a = np.arange(15, dtype=np.float32).reshape(5, 3)
    rows = pack_row_panels(a, 4)
    assert rows.shape == (2, 3, 4)
    np.testing.assert_array_equal(rows[1, :, 0], a[4])
    assert not rows[1, :, 1:].any()
    cols = pack_col_panels(a, 2)
    assert cols.shape == (2, 5, 2)
    np.testing.assert_array_equal(cols[1, :, 0], a[:, 2])
    assert not cols[1, :, 1].any()


def test_accumulators_stay_in_registers():
    """The K loop of a full 8 x 2x16 tile has no stack traffic: every fma reads its
    accumulator from a register (and B / the broadcast A from memory)."""
    from backends.llvm import emit_asm
    asm = emit_asm(_module(GemmPlan(64, 64, 64, MicroTile(16, 8, 2))), cpu="x86-64-v4",
                   features="")
    fmas = [ln for ln in asm.splitlines() if "vfmadd" in ln and "zmm" in ln]
    assert len(fmas) >= 16
    assert not any("rsp" in ln or "rbp" in ln for ln in fmas)
