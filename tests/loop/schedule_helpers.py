"""Shared by the schedule tests: small kernels as loop-IR text, and `check`, which runs a
kernel before and after a schedule (JIT, the scheduled one with bounds checking), compares
both with numpy, replays the trace on a fresh parse and round-trips the printed IR."""
from __future__ import annotations

import numpy as np
import pytest

from backends.llvm import compile_module
from compiler.loop import parse_module, print_module
from passes.loop.schedule import Schedule, ScheduleError
from passes.loop.trace import Trace

rng = np.random.default_rng(7)


def matmul(M: int, K: int, N: int) -> str:
    return f"""
func @matmul(%A: f32[{M},{K}], %B: f32[{K},{N}], %C: f32[{M},{N}]) {{
  for %i in 0..{M} {{
    for %j in 0..{N} {{
      for %k in 0..{K} {{
        block "C"(%vi: spatial[{M}] = %i, %vj: spatial[{N}] = %j, %vk: reduce[{K}] = %k) {{
          init {{
            %C[%vi, %vj] = 0.0f32
          }}
          %C[%vi, %vj] = %C[%vi, %vj] + %A[%vi, %vk] * %B[%vk, %vj]
        }}
      }}
    }}
  }}
}}"""


def add(M: int, N: int) -> str:
    return f"""
func @add(%x: f32[{M},{N}], %y: f32[{M},{N}], %out: f32[{M},{N}]) {{
  for %i in 0..{M} {{
    for %j in 0..{N} {{
      block "add"(%vi: spatial[{M}] = %i, %vj: spatial[{N}] = %j) {{
        %out[%vi, %vj] = %x[%vi, %vj] + %y[%vi, %vj]
      }}
    }}
  }}
}}"""


def rowsum(M: int, K: int) -> str:
    return f"""
func @rowsum(%x: f32[{M},{K}], %out: f32[{M}]) {{
  for %i in 0..{M} {{
    for %k in 0..{K} {{
      block "sum"(%vi: spatial[{M}] = %i, %vk: reduce[{K}] = %k) {{
        init {{
          %out[%vi] = 0.0f32
        }}
        %out[%vi] = %out[%vi] + %x[%vi, %vk]
      }}
    }}
  }}
}}"""


def inputs_for(m, names) -> dict:
    func = m.funcs[0]
    out = {}
    for p in func.params:
        if p.name in names:
            out[p.name] = rng.standard_normal(p.shape).astype(p.dtype.np_dtype)
    return out


def run(m, inputs: dict, func: str | None = None, **opts) -> dict:
    """Call the function on copies of `inputs` (other parameters start at zero); returns
    every parameter's array afterwards."""
    f = m.funcs[0] if func is None else m.get_func(func)
    args = {p.name: (inputs[p.name].copy() if p.name in inputs
                     else np.zeros(p.shape, p.dtype.np_dtype)) for p in f.params}
    opts.setdefault("num_threads", 2)
    compile_module(m, **opts)[f.name](*args.values())
    return args


def check(text: str, apply, reference, inputs=None, exact=False, func=None, **opts):
    """Parse `text`, run it; schedule it with `apply(sch)`; run again with bounds checks and
    compare every output with the first run and with `reference(inputs) -> {name: array}`.
    Then replay the trace on a fresh parse (same text) and round-trip the printed IR."""
    m = parse_module(text)
    ins = inputs if inputs is not None else inputs_for(m, _input_names(m))
    before = run(m, ins, func)
    sch = Schedule(m, func)
    apply(sch)
    after = run(m, ins, func, bounds_check=True, **opts)
    for name, want in reference(ins).items():
        if exact:
            np.testing.assert_array_equal(after[name], before[name], err_msg=name)
        np.testing.assert_allclose(after[name], before[name], rtol=1e-5, atol=1e-5,
                                   err_msg=name)
        np.testing.assert_allclose(after[name], want, rtol=1e-4, atol=1e-4, err_msg=name)
    fresh = parse_module(text)
    Trace.from_json(sch.trace.to_json()).replay(fresh, func)
    printed = print_module(m)
    assert print_module(fresh) == printed
    assert print_module(parse_module(printed)) == printed
    return sch, m


def _input_names(m) -> set:
    """Parameters the function reads before writing: those whose name is not an output of a
    block (a good-enough rule for the kernels here: outputs are named out/C/t)."""
    return {p.name for p in m.funcs[0].params if p.name not in ("out", "C", "t", "o")}


def refuses(sch: Schedule, fn, *fragments):
    """`fn()` raises ScheduleError whose message has every fragment, and leaves the function
    and the trace as they were."""
    before, trace = print_module(sch.module), list(sch.trace)
    with pytest.raises(ScheduleError) as e:
        fn()
    for frag in fragments:
        assert frag in str(e.value), str(e.value)
    assert print_module(sch.module) == before and list(sch.trace) == trace
    return str(e.value)
