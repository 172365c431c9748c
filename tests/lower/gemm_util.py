"""The shared check of the GEMM and Conv kernel tests: 512-bit vectors, one thread, bounds
checks, fused first."""
from __future__ import annotations

from .util import check_against_reference


def check(graph, passes: str = "fuse", *, bits: int = 512, threads: int = 1, rtol=2e-4,
          atol=2e-4, feeds=None):
    return check_against_reference(graph, passes, feeds=feeds, rtol=rtol, atol=atol,
                                   bits=bits, threads=threads)
