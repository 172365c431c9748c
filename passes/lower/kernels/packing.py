"""Operand packing for the GEMM micro-kernel (gemm_microkernel.py).

Compile time (numpy, for constant weights):
    pack_col_panels(B[..., K, N], nr) -> [..., ceil(N/nr), K, nr]    NR-wide column panels
    pack_row_panels(A[..., M, K], mr) -> [..., ceil(M/mr), K, mr]    MR-row panels
both zero-padded, so the micro-kernel reads whole vectors / rows at the edges.

Run time (loop IR, for operands computed by the model, e.g. attention's K^T):
    emit_pack_col_panels(b, src, dst, ...)  dst[jp, k, c] = src(k, jp*nr + c), zeros past N,
written with whole vectors (a Ramp over n: contiguous when the source is row-major)."""
from __future__ import annotations

import numpy as np

from compiler.loop import Broadcast, Ramp, const


def pack_col_panels(b: np.ndarray, nr: int) -> np.ndarray:
    *batch, k, n = b.shape
    n_panels = -(-n // nr)
    padded = np.zeros((*batch, k, n_panels * nr), np.float32)
    padded[..., :n] = b
    out = padded.reshape(*batch, k, n_panels, nr)
    return np.ascontiguousarray(np.moveaxis(out, -2, -3))


def pack_row_panels(a: np.ndarray, mr: int) -> np.ndarray:
    *batch, m, k = a.shape
    m_panels = -(-m // mr)
    padded = np.zeros((*batch, m_panels * mr, k), np.float32)
    padded[..., :m, :] = a
    out = padded.reshape(*batch, m_panels, mr, k)
    return np.ascontiguousarray(np.swapaxes(out, -1, -2))


def emit_pack_col_panels(b, src, dst, dst_prefix: tuple, K: int, N: int, nr: int, lanes: int,
                         names, parallel: bool) -> None:
    """dst[*dst_prefix, jp, k, c] = src(k, n) for n = jp*nr + c < N, else 0. src(k, n) takes
    a Ramp n (lanes wide, or fewer at the right edge) and returns that many values."""
    n_panels, full = -(-N // nr), N // nr
    tail = N - full * nr

    def panel(jp, cols):
        with b.for_(names("pk"), K) as k:
            for c0 in range(0, nr, lanes):
                width = min(lanes, nr - c0)
                valid = max(0, min(width, cols - c0))
                if valid:
                    n0 = jp * nr + c0
                    idx = Ramp(n0, 1, valid) if valid > 1 else n0
                    at = Ramp(const(c0), 1, valid) if valid > 1 else const(c0)
                    b.store(dst, (*dst_prefix, jp, k, at), src(k, idx))
                if valid < width:
                    z0 = c0 + valid
                    n_zero = width - valid
                    at = Ramp(const(z0), 1, n_zero) if n_zero > 1 else const(z0)
                    zero = Broadcast(const(0.0), n_zero) if n_zero > 1 else const(0.0)
                    b.store(dst, (*dst_prefix, jp, k, at), zero)

    if full:
        kind = "parallel" if parallel and full > 1 else "serial"
        with b.for_(names("pj"), full, kind=kind) as jp:
            panel(jp, nr)
    if tail:
        panel(const(n_panels - 1), tail)
