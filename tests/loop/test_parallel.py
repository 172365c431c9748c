"""Parallel loops (outlined to GOMP_parallel): correct with 1 and 2 threads, uneven and tiny
extents, captured variables and locals, nested parallel loops, errors raised inside threads,
and the thread-count option. Speed is never asserted."""

import numpy as np
import pytest

from backends.llvm import RuntimeCheckError, compile_module, emit_llvm_ir
from compiler.loop import parse_module
from .kernels import naive_matmul, tiled_matmul

rng = np.random.default_rng(1)

CAPTURES = """
func @f(%x: f32[{n},16], %scale: f32[1], %out: f32[{n},16]) {{
  for %r in 0..2 {{
    let %s = %scale[0] * cast<f32>(%r + 1)
    for %i in 0..{n} parallel {{
      alloc %tmp: f32[16]
      for %j in 0..16 {{
        %tmp[%j] = %x[%i, %j] * %s
      }}
      for %j in 0..16 {{
        %out[%i, %j] = select(%r == 0, %tmp[15 - %j], %out[%i, %j] + %tmp[15 - %j])
      }}
    }}
  }}
}}"""


@pytest.mark.parametrize("n", [1, 7, 64])
def test_parallel_loop_with_captures_and_locals_1_and_2_threads(n):
    m = parse_module(CAPTURES.format(n=n))
    ir_text = emit_llvm_ir(m)
    assert "GOMP_parallel" in ir_text and "aicc_f.par1" in ir_text
    cm = compile_module(m, num_threads=2)
    x, scale = rng.random((n, 16), np.float32), np.array([0.5], np.float32)
    ref = x[:, ::-1] * 0.5 + x[:, ::-1] * 1.0
    for threads in (1, 2, 0):
        cm.set_num_threads(threads)
        assert cm.num_threads == threads
        out = np.full((n, 16), np.nan, np.float32)
        cm["f"](x, scale, out)
        np.testing.assert_allclose(out, ref, rtol=1e-6, err_msg=f"threads={threads}")


def test_parallel_matmuls_match_numpy():
    A, B = rng.random((64, 48), np.float32), rng.random((48, 32), np.float32)
    for m in (naive_matmul(64, 48, 32, parallel=True), tiled_matmul(64, 48, 32, 4, 16)):
        cm = compile_module(m, num_threads=2)
        for threads in (1, 2):
            cm.set_num_threads(threads)
            C = np.zeros((64, 32), np.float32)
            cm["matmul"](A, B, C)
            np.testing.assert_allclose(C, A @ B, rtol=1e-4)


def test_nested_parallel_and_parallel_option_off():
    m = parse_module("""
    func @f(%x: i64[6,5]) {
      for %i in 0..6 parallel {
        for %j in 0..5 parallel {
          %x[%i, %j] = %i * 10 + %j
        }
      }
    }""")
    ref = np.arange(6)[:, None] * 10 + np.arange(5)
    for opts in ({"num_threads": 2}, {"parallel": False}):
        x = np.zeros((6, 5), np.int64)
        compile_module(m, **opts)["f"](x)
        np.testing.assert_array_equal(x, ref)
    assert "GOMP_parallel" not in emit_llvm_ir(m, {"parallel": False})
    assert emit_llvm_ir(m).count("call void @\"GOMP_parallel\"") == 1   # inner one is serial


def test_bounds_error_inside_a_thread_is_reported():
    m = parse_module("""
    func @g(%x: f32[100], %idx: i64[100], %y: f32[100]) {
      for %i in 0..100 parallel {
        %y[%i] = %x[%idx[%i]]
      }
    }""")
    cm = compile_module(m, bounds_check=True, num_threads=2)
    x, y = rng.random(100, np.float32), np.zeros(100, np.float32)
    idx = np.arange(100)[::-1].copy()
    cm["g"](x, idx, y)
    np.testing.assert_array_equal(y, x[::-1])
    idx[90] = 1000
    for threads in (1, 2):
        cm.set_num_threads(threads)
        with pytest.raises(RuntimeCheckError, match=r"@g.*buffer %x.*index 1000 is outside"):
            cm["g"](x, idx, y)


@pytest.mark.parametrize("n", [1, 2, 5, 13, 40, 97])
def test_dynamic_chunks_run_every_iteration_exactly_once(n):
    """Threads take chunks from a shared counter: each iteration adds 1 exactly once, for
    thread counts that do and do not divide the extent (and more threads than iterations)."""
    m = parse_module(f"""
    func @f(%out: i64[{n}]) {{
      for %i in 0..{n} parallel {{
        %out[%i] = %out[%i] + %i + 1
      }}
    }}""")
    ir_text = emit_llvm_ir(m)
    assert "atomicrmw add" in ir_text
    cm = compile_module(m, num_threads=3)
    for threads in (1, 2, 3, 5):
        cm.set_num_threads(threads)
        out = np.zeros(n, np.int64)
        cm["f"](out)
        np.testing.assert_array_equal(out, np.arange(1, n + 1), err_msg=f"threads={threads}")
