"""Helpers for lowering tests: build a graph, optionally run graph passes, lower, compile and
compare with the reference interpreter."""
from __future__ import annotations

import numpy as np

from backends.llvm import compile_module
from backends.reference import run_graph
from compiler.loop import verify
from compiler.transform import PassContext, PassManager, parse_pipeline
from passes.lower import LowerTarget, lower_graph


def random_feeds(graph, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    feeds = {}
    for v in graph.inputs:
        dt = v.dtype.np_dtype
        if v.dtype.name == "bool":
            feeds[v.name] = rng.random(v.shape) < 0.5
        elif v.dtype.is_float:
            feeds[v.name] = rng.standard_normal(v.shape).astype(dt)
        else:
            feeds[v.name] = rng.integers(-5, 6, v.shape).astype(dt)
    return feeds


def compile_graph(graph, passes: str = "", *, threads: int = 2, bounds_check: bool = True,
                  bits: int = 256, opt_level: int = 3):
    """(loop module, compiled module) of graph after `passes` (a pipeline string), lowered
    with `bits`-wide vectors."""
    lm = lower_after(graph, passes, threads=threads, bits=bits, opt_level=opt_level)
    return lm, compile_module(lm, num_threads=threads, bounds_check=bounds_check)


def lower_after(graph, passes: str = "", *, threads: int = 2, bits: int = 256,
                opt_level: int = 3):
    if passes:
        with PassContext(opt_level=opt_level) as ctx:
            PassManager(parse_pipeline(passes)).run(graph, ctx)
    lm = lower_graph(graph, LowerTarget(vector_bits=bits, num_threads=threads))
    verify(lm)
    return lm


def run_compiled(cm, graph, feeds: dict) -> dict:
    args = [np.array(feeds[v.name], dtype=v.dtype.np_dtype, order="C") for v in graph.inputs]
    outs = [np.empty(v.shape, v.dtype.np_dtype) for v in graph.outputs]
    cm["main"](*args, *outs)
    return dict(zip(graph.output_names, outs))


def check_against_reference(graph, passes: str = "", *, feeds=None, rtol=1e-4, atol=1e-5,
                            bounds_check=True, threads: int = 2, bits: int = 256,
                            opt_level: int = 3):
    """Compile `graph` (after `passes`) and assert it matches the reference interpreter on the
    original graph: shapes and dtypes exactly, floats within rtol/atol, the rest exactly.
    bounds_check: a bool, or a tuple of both settings to try each. Returns the loop module."""
    feeds = feeds if feeds is not None else random_feeds(graph)
    expected = run_graph(graph, feeds)
    lm = lower_after(graph, passes, threads=threads, bits=bits, opt_level=opt_level)
    for checked in (bounds_check if isinstance(bounds_check, tuple) else (bounds_check,)):
        got = run_compiled(compile_module(lm, num_threads=threads, bounds_check=checked),
                           graph, feeds)
        for name, want in expected.items():
            have = got[name]
            assert have.shape == want.shape and have.dtype == want.dtype, \
                (name, have.shape, want.shape, have.dtype, want.dtype)
            if want.dtype.kind == "f":
                np.testing.assert_allclose(have, want, rtol=rtol, atol=atol, err_msg=name)
            else:
                np.testing.assert_array_equal(have, want, err_msg=name)
    return lm
