"""Compile a graph for a given vector width / thread count and compare with the reference
(the shared helper of the GEMM and Conv kernel tests)."""
from __future__ import annotations

import numpy as np

from backends.llvm import compile_module
from backends.reference import run_graph
from compiler.loop import verify
from compiler.transform import PassContext, PassManager, parse_pipeline
from passes.lower import LowerTarget, lower_graph

from .util import random_feeds, run_compiled


def check(graph, passes: str = "fuse", *, bits: int = 512, threads: int = 1, rtol=2e-4,
          atol=2e-4, feeds=None):
    """Lower `graph` (after `passes`) with `bits`-wide vectors, run it bounds-checked and
    compare with the reference interpreter on the original graph; returns the loop module."""
    feeds = feeds if feeds is not None else random_feeds(graph)
    expected = run_graph(graph, feeds)
    if passes:
        with PassContext(opt_level=3) as ctx:
            PassManager(parse_pipeline(passes)).run(graph, ctx)
    lm = lower_graph(graph, LowerTarget(vector_bits=bits, num_threads=threads))
    verify(lm)
    cm = compile_module(lm, num_threads=threads, bounds_check=True)
    got = run_compiled(cm, graph, feeds)
    for name, want in expected.items():
        assert got[name].shape == want.shape
        if want.dtype.kind == "f":
            np.testing.assert_allclose(got[name], want, rtol=rtol, atol=atol, err_msg=name)
        else:
            np.testing.assert_array_equal(got[name], want, err_msg=name)
    return lm
