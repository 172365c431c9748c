"""LLVM code generation checked against numpy: elementwise ops over dtypes, broadcasting,
reductions, matmuls (naive and a hand-vectorised <8 x f32> kernel), math intrinsics, selects,
floor division, casts, bounds checking, fast math, the ABI wrapper and AOT shared libraries."""
import math
import os

import numpy as np
import pytest

from backends.llvm import (ArgumentError, RuntimeCheckError, build_shared_library,
                           compile_module, emit_asm, emit_llvm_ir, load_shared_library)
from backends.llvm.target import host_features
from compiler.loop import parse_module
from .kernels import naive_matmul, tiled_matmul

rng = np.random.default_rng(0)


def jit(text, **opts):
    return compile_module(parse_module(text), **opts)


# ---- elementwise and broadcasting --------------------------------------------------------------------
@pytest.mark.parametrize("dt, np_dt, one", [("f32", np.float32, "1.0f32"),
                                            ("f64", np.float64, "1.0f64"),
                                            ("i32", np.int32, "1i32")])
def test_elementwise_dtypes(dt, np_dt, one):
    cm = jit(f"""
    func @f(%a: {dt}[3,17], %b: {dt}[3,17], %o1: {dt}[3,17], %o2: {dt}[3,17], %o3: {dt}[3,17]) {{
      for %i in 0..3 {{
        for %j in 0..17 {{
          %o1[%i, %j] = %a[%i, %j] * %b[%i, %j] + {one}
          %o2[%i, %j] = max(%a[%i, %j], %b[%i, %j]) - min(%a[%i, %j], {one})
          %o3[%i, %j] = select(%a[%i, %j] < %b[%i, %j], %a[%i, %j], %b[%i, %j] - %a[%i, %j])
        }}
      }}
    }}""")
    a = (rng.standard_normal((3, 17)) * 10).astype(np_dt)
    b = (rng.standard_normal((3, 17)) * 10).astype(np_dt)
    outs = [np.zeros((3, 17), np_dt) for _ in range(3)]
    cm["f"](a, b, *outs)
    np.testing.assert_allclose(outs[0], a * b + 1, rtol=1e-6)
    np.testing.assert_allclose(outs[1], np.maximum(a, b) - np.minimum(a, 1), rtol=1e-6)
    np.testing.assert_array_equal(outs[2], np.where(a < b, a, b - a))


def test_broadcasting_through_index_expressions():
    cm = jit("""
    func @f(%x: f32[4,6], %bias: f32[6], %scale: f32[4,1], %out: f32[4,6]) {
      for %i in 0..4 {
        for %j in 0..6 {
          %out[%i, %j] = (%x[%i, %j] + %bias[%j]) * %scale[%i, 0] + %x[0, %j]
        }
      }
    }""")
    x, bias = rng.random((4, 6), np.float32), rng.random(6, np.float32)
    scale, out = rng.random((4, 1), np.float32), np.zeros((4, 6), np.float32)
    cm["f"](x, bias, scale, out)
    np.testing.assert_allclose(out, (x + bias) * scale + x[0], rtol=1e-6)


def test_nan_semantics_of_max_and_not_equal():
    cm = jit("""
    func @f(%a: f32[4], %m: f32[4], %ne: bool[4]) {
      for %i in 0..4 {
        %m[%i] = max(%a[%i], 0.0f32)
        %ne[%i] = %a[%i] != %a[%i]
      }
    }""")
    a = np.array([np.nan, -1, 2, -np.inf], np.float32)
    m, ne = np.zeros(4, np.float32), np.zeros(4, bool)
    cm["f"](a, m, ne)
    np.testing.assert_array_equal(m, np.maximum(a, 0))
    assert ne.tolist() == [True, False, False, False]


# ---- reductions and matmul ----------------------------------------------------------------------------
def test_reduction_with_block_init():
    cm = jit("""
    func @rowsum(%x: f32[5,33], %out: f32[5]) {
      for %i in 0..5 {
        for %k in 0..33 {
          block "sum"(%vi: spatial[5] = %i, %vk: reduce[33] = %k) {
            init {
              %out[%vi] = 0.0f32
            }
            %out[%vi] = %out[%vi] + %x[%vi, %vk]
          }
        }
      }
    }""")
    x, out = rng.random((5, 33), np.float32), np.full(5, 123.0, np.float32)
    cm["rowsum"](x, out)
    np.testing.assert_allclose(out, x.sum(1), rtol=1e-5)


def test_naive_matmul():
    cm = compile_module(naive_matmul(128, 64, 96))
    A, B = rng.random((128, 64), np.float32), rng.random((64, 96), np.float32)
    C = np.full((128, 96), np.nan, np.float32)
    cm["matmul"](A, B, C)
    np.testing.assert_allclose(C, A @ B, rtol=1e-4)


def test_tiled_vectorized_matmul_ir_and_values():
    m = tiled_matmul(128, 64, 96, mr=4, nr=16, parallel=False)
    ir_text = emit_llvm_ir(m)
    assert "<8 x float>" in ir_text and "llvm.fma.v8f32" in ir_text
    feats = host_features()
    assert f'"target-features"="{feats}"' in ir_text
    if "+avx2" in feats:
        assert "+avx2" in ir_text
        assert "vfmadd" in emit_asm(m)
    cm = compile_module(m)
    A, B = rng.random((128, 64), np.float32), rng.random((64, 96), np.float32)
    C = np.zeros((128, 96), np.float32)
    cm["matmul"](A, B, C)
    np.testing.assert_allclose(C, A @ B, rtol=1e-4)


# ---- math intrinsics ---------------------------------------------------------------------------------
def _erf(x):
    return np.vectorize(math.erf)(x.astype(np.float64))


REFS = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "tanh": np.tanh, "erf": _erf,
        "sigmoid": lambda x: 1 / (1 + np.exp(-x.astype(np.float64)))}


def _math_inputs(name, n):
    x = np.linspace(-20, 20, n).astype(np.float32) if name in ("tanh", "erf", "sigmoid") else \
        np.linspace(-87, 88, n).astype(np.float32)
    if name in ("log", "sqrt"):
        x = np.abs(x) * np.float32(1e3) + np.float32(1e-30)
    return x


@pytest.mark.parametrize("math_mode", ["poly", "libm"])
def test_math_intrinsics_f32_scalar_and_vector(math_mode):
    names = list(REFS)
    n = 1024
    body = "\n".join(f"%o{k}[%i] = {nm}(%x{k}[%i])" for k, nm in enumerate(names))
    vbody = "\n".join(f"%v{k}[ramp(%i * 8, 1, 8)] = {nm}(%x{k}[ramp(%i * 8, 1, 8)])"
                      for k, nm in enumerate(names))
    params = ", ".join(f"%x{k}: f32[{n}], %o{k}: f32[{n}], %v{k}: f32[{n}]"
                       for k in range(len(names)))
    cm = jit(f"""
    func @f({params}) {{
      for %i in 0..{n} {{ {body} }}
      for %i in 0..{n // 8} {{ {vbody} }}
    }}""", math=math_mode)
    args = []
    for nm in names:
        args += [_math_inputs(nm, n), np.zeros(n, np.float32), np.zeros(n, np.float32)]
    cm["f"](*args)
    for k, nm in enumerate(names):
        x, o, v = args[3 * k: 3 * k + 3]
        ref = REFS[nm](x.astype(np.float64))
        np.testing.assert_allclose(o, ref, rtol=2e-6, atol=1e-37, err_msg=nm)
        np.testing.assert_array_equal(o, v, err_msg=nm)


def test_math_edge_cases_and_f64():
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1.0, 100.0], np.float32)
    cm = jit("""
    func @f(%x: f32[8], %e: f32[8], %l: f32[8], %t: f32[8], %s: f32[8], %erf: f32[8],
            %d: f64[8], %de: f64[8], %dt: f64[8], %derf: f64[8]) {
      for %i in 0..8 {
        %e[%i] = exp(%x[%i])
        %l[%i] = log(%x[%i])
        %t[%i] = tanh(%x[%i])
        %s[%i] = sigmoid(%x[%i])
        %erf[%i] = erf(%x[%i])
        %de[%i] = exp(%d[%i])
        %dt[%i] = tanh(%d[%i])
        %derf[%i] = erf(%d[%i])
      }
    }""")
    outs = [np.zeros(8, np.float32) for _ in range(5)]
    d = specials.astype(np.float64) * 0.5
    douts = [np.zeros(8) for _ in range(3)]
    with np.errstate(all="ignore"):
        cm["f"](specials, *outs, d, *douts)
        x64 = specials.astype(np.float64)
        refs = [np.exp(x64), np.log(x64), np.tanh(x64), 1 / (1 + np.exp(-x64)), _erf(x64)]
        refs = [r.astype(np.float32) for r in refs]
    for o, r in zip(outs, refs):
        np.testing.assert_allclose(o, r, rtol=2e-6, atol=1e-38)
    np.testing.assert_allclose(douts[0], np.exp(d), rtol=1e-15)
    np.testing.assert_allclose(douts[1], np.tanh(d), rtol=1e-15)
    np.testing.assert_allclose(douts[2], _erf(d), rtol=1e-15)


def test_other_intrinsics_and_reduce():
    cm = jit("""
    func @f(%x: f32[8], %y: f32[8], %i: i32[8], %o: f32[8], %r: f32[4], %ia: i32[8]) {
      for %k in 0..8 {
        %o[%k] = floor(%x[%k]) + ceil(%x[%k]) * 10.0f32 + round(%x[%k]) * 100.0f32 +
                 abs(%x[%k]) * 1000.0f32 + pow(abs(%x[%k]), %y[%k]) + rsqrt(abs(%x[%k]) + 1.0f32)
        %ia[%k] = abs(%i[%k])
      }
      %r[0] = reduce_add(%x[ramp(0, 1, 8)])
      %r[1] = reduce_max(%x[ramp(0, 1, 8)])
      %r[2] = reduce_min(%x[ramp(0, 1, 8)])
      %r[3] = reduce_mul(%y[ramp(0, 1, 8)])
    }""")
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.7, -3.2], np.float32)
    y = np.linspace(0.5, 1.5, 8).astype(np.float32)
    iv = np.array([-5, 3, -2**31 + 1, 0, 7, -1, 2, -8], np.int32)
    o, r, ia = np.zeros(8, np.float32), np.zeros(4, np.float32), np.zeros(8, np.int32)
    cm["f"](x, y, iv, o, r, ia)
    ref = (np.floor(x) + np.ceil(x) * 10 + np.round(x) * 100 + np.abs(x) * 1000 +
           np.abs(x) ** y + 1 / np.sqrt(np.abs(x) + 1))
    np.testing.assert_allclose(o, ref, rtol=1e-6)
    np.testing.assert_allclose(r, [x.sum(), x.max(), x.min(), y.prod()], rtol=1e-6)
    np.testing.assert_array_equal(ia, np.abs(iv))


# ---- integer semantics and casts ----------------------------------------------------------------------
def test_floor_division_and_modulo_follow_python():
    """Integer / and % floor (Python semantics), also vectorised; float % is Python's too."""
    cm = jit("""
    func @f(%a: i32[16], %b: i32[16], %q: i32[16], %r: i32[16], %q8: i64[16], %r8: i64[16],
            %vq: i32[16], %fa: f32[16], %fb: f32[16], %fr: f32[16]) {
      for %i in 0..16 {
        %q[%i] = %a[%i] / %b[%i]
        %r[%i] = %a[%i] % %b[%i]
        %q8[%i] = cast<i64>(%a[%i]) / 3
        %r8[%i] = cast<i64>(%a[%i]) % -3
        %fr[%i] = %fa[%i] % %fb[%i]
      }
      for %i in 0..2 {
        %vq[ramp(%i * 8, 1, 8)] = %a[ramp(%i * 8, 1, 8)] / %b[ramp(%i * 8, 1, 8)]
      }
    }""")
    a = np.array([7, -7, 7, -7, 0, 1, -1, 13, -13, 100, -100, 5, -5, 2**31 - 1, -2**31 + 1, 3],
                 np.int32)
    b = np.array([2, 2, -2, -2, 3, -3, 3, 4, 4, 7, 7, -5, -5, 2, 2, 1], np.int32)
    outs = [np.zeros(16, np.int32), np.zeros(16, np.int32), np.zeros(16, np.int64),
            np.zeros(16, np.int64), np.zeros(16, np.int32)]
    fa = np.array(a, np.float32) / 3
    fb = np.where(b == 0, 1, b).astype(np.float32) / 2
    fr = np.zeros(16, np.float32)
    cm["f"](a, b, *outs, fa, fb, fr)
    np.testing.assert_array_equal(outs[0], a // b)
    np.testing.assert_array_equal(outs[1], a % b)
    np.testing.assert_array_equal(outs[2], a.astype(np.int64) // 3)
    np.testing.assert_array_equal(outs[3], a.astype(np.int64) % -3)
    np.testing.assert_array_equal(outs[4], a // b)
    np.testing.assert_allclose(fr, np.mod(fa, fb), rtol=1e-5, atol=1e-6)


def test_casts():
    cm = jit("""
    func @f(%x: f32[6], %i8: i8[6], %u8: u8[6], %b: bool[6], %f: f64[6], %h: f16[6]) {
      for %i in 0..6 {
        %i8[%i] = cast<i8>(%x[%i])
        %u8[%i] = cast<u8>(cast<i32>(%x[%i]))
        %b[%i] = cast<bool>(%x[%i])
        %f[%i] = cast<f64>(cast<i64>(%x[%i])) + cast<f64>(%b[%i])
        %h[%i] = cast<f16>(%x[%i]) * 2.0f16
      }
    }""")
    x = np.array([0.0, 1.9, -1.9, 300.0, -300.0, np.nan], np.float32)
    i8, u8, b = np.zeros(6, np.int8), np.zeros(6, np.uint8), np.zeros(6, bool)
    f, h = np.zeros(6), np.zeros(6, np.float16)
    cm["f"](x, i8, u8, b, f, h)
    assert i8.tolist() == [0, 1, -1, 127, -128, 0]           # saturating, nan -> 0
    assert u8.tolist() == [0, 1, 255, 44, 212, 0]            # i32 wraps into u8
    assert b.tolist() == [False, True, True, True, True, True]
    assert f.tolist() == [0.0, 2.0, 0.0, 301.0, -299.0, 1.0]
    np.testing.assert_allclose(h[:5], (x[:5].astype(np.float16) * 2), rtol=1e-3)


# ---- loop kinds, locals, arena, consts, calls -----------------------------------------------------------
def test_unrolled_vectorized_locals_arena_consts_and_calls():
    import compiler.loop as L
    m = parse_module("""
    module @m {
      arena_size = 256
      const %w: f32[8] = dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]>
      arena %t: f32[4,8] at 64
      func @scale(%x: f32[4,8], %y: f32[4,8]) {
        for %i in 0..4 unrolled {
          for %j in 0..8 vectorized {
            %y[%i, %j] = %x[%i, %j] * %w[%j]
          }
        }
      }
      func @main(%x: f32[4,8], %out: f32[4,8]) {
        call @scale(%x, %t)
        for %i in 0..4 {
          alloc %acc: f32[8]
          let %two = 2.0f32
          %acc[ramp(0, 1, 8)] = %t[%i, ramp(0, 1, 8)] * broadcast(%two, 8)
          for %j in 0..8 {
            %out[%i, %j] = %acc[%j] + %t[3 - %i, %j]
          }
        }
      }
    }""")
    L.verify(m)
    assert "llvm.loop.vectorize.enable" not in emit_llvm_ir(m)    # a hint, never forced
    cm = compile_module(m)
    x, out = rng.random((4, 8), np.float32), np.zeros((4, 8), np.float32)
    cm["main"](x, out)
    w = np.arange(1, 9, dtype=np.float32)
    np.testing.assert_allclose(out, 2 * x * w + (x * w)[::-1], rtol=1e-6)


def test_argument_checks():
    cm = jit("func @f(%x: f32[2,3], %y: f32[2,3]) { for %i in 0..2 { for %j in 0..3 {"
             " %y[%i, %j] = %x[%i, %j] } } }")
    f = cm["f"]
    good, out = np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32)
    with pytest.raises(ArgumentError, match="%x has dtype float64"):
        f(np.zeros((2, 3)), out)
    with pytest.raises(ArgumentError, match=r"%y has shape \(3, 2\)"):
        f(good, np.zeros((3, 2), np.float32))
    with pytest.raises(ArgumentError, match="C-contiguous"):
        f(np.zeros((3, 2), np.float32).T, out)
    with pytest.raises(ArgumentError, match="takes 2 arrays"):
        f(good)
    ro = np.zeros((2, 3), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ArgumentError, match="read-only"):
        f(good, ro)
    with pytest.raises(ArgumentError, match="must not alias"):
        f(out, out)
    f(ro, out)                                    # a read-only input is fine


# ---- bounds checking, fast math ------------------------------------------------------------------------
OOB = """
func @shift(%x: f32[8], %y: f32[8], %n: i32[1]) {
  for %i in 0..8 {
    %y[%i] = %x[%i + cast<i64>(%n[0])]
  }
}"""


def test_bounds_check_reports_buffer_and_index():
    cm = jit(OOB, bounds_check=True)
    x, y = np.arange(8, dtype=np.float32), np.zeros(8, np.float32)
    cm["shift"](x, y, np.array([0], np.int32))
    np.testing.assert_array_equal(y, x)
    y[:] = -1
    with pytest.raises(RuntimeCheckError) as ei:
        cm["shift"](x, y, np.array([3], np.int32))
    msg = str(ei.value)
    assert "@shift" in msg and "buffer %x" in msg and "index 8" in msg and "[0, 8)" in msg
    assert y.tolist() == [3, 4, 5, 6, 7, -1, -1, -1]   # stopped before the bad access
    with pytest.raises(RuntimeCheckError, match="index -2 is outside"):
        cm["shift"](x, y, np.array([-2], np.int32))
    cm["shift"](x, y, np.array([0], np.int32))        # usable again after an error


def test_bounds_check_vector_access_and_division_by_zero():
    cm = jit("""
    func @f(%x: f32[16], %y: f32[8], %s: i64[1], %d: i32[2]) {
      %y[ramp(0, 1, 8)] = %x[ramp(%s[0], 1, 8)]
      %d[0] = %d[0] / %d[1]
    }""", bounds_check=True)
    x, y = np.arange(16, dtype=np.float32), np.zeros(8, np.float32)
    cm["f"](x, y, np.array([8]), np.array([7, 2], np.int32))
    np.testing.assert_array_equal(y, x[8:])
    with pytest.raises(RuntimeCheckError, match=r"buffer %x, dimension 0: index 16 is outside"):
        cm["f"](x, y, np.array([9]), np.array([7, 2], np.int32))
    with pytest.raises(RuntimeCheckError, match="division by zero"):
        cm["f"](x, y, np.array([0]), np.array([7, 0], np.int32))


@pytest.mark.parametrize("fast", [False, True])
def test_fast_math_on_and_off(fast):
    m = parse_module("""
    func @dot(%a: f32[1000], %b: f32[1000], %out: f32[1]) {
      %out[0] = 0.0f32
      for %k in 0..1000 {
        %out[0] = %out[0] + %a[%k] * %b[%k]
      }
    }""")
    text = emit_llvm_ir(m, {"fast_math": fast})
    assert (" fast " in text) == fast
    cm = compile_module(m, fast_math=fast)
    a, b, out = rng.random(1000, np.float32), rng.random(1000, np.float32), np.zeros(1, np.float32)
    cm["dot"](a, b, out)
    np.testing.assert_allclose(out[0], np.dot(a.astype(np.float64), b), rtol=1e-4)


def test_fma_contraction_only_with_fast_math():
    m = parse_module("""
    func @f(%a: f32[64], %b: f32[64], %c: f32[64], %o: f32[64]) {
      for %i in 0..64 {
        %o[%i] = %a[%i] * %b[%i] + %c[%i]
      }
    }""")
    if "+fma" not in host_features():
        pytest.skip("host has no FMA")
    assert "vfmadd" not in emit_asm(m, fast_math=False)
    assert "vfmadd" in emit_asm(m, fast_math=True)


# ---- AOT ----------------------------------------------------------------------------------------------
def test_shared_library_matches_jit(tmp_path):
    m = parse_module("""
    module @aot {
      arena_size = 128
      const %w: f32[4,8] = @w
      arena %t: f32[4,8] at 0
      func @f(%x: f32[4,8], %out: f32[4,8]) {
        for %i in 0..4 parallel {
          for %j in 0..8 {
            %t[%i, %j] = exp(%x[%i, %j]) * %w[%i, %j]
          }
        }
        for %i in 0..4 {
          for %j in 0..8 {
            %out[%i, %j] = %t[%i, %j] + %t[3 - %i, 7 - %j]
          }
        }
      }
    }""", weights={"w": rng.random((4, 8), np.float32)})
    x = rng.random((4, 8), np.float32)
    ref = np.zeros((4, 8), np.float32)
    compile_module(m)["f"](x, ref)
    lib = build_shared_library(m, str(tmp_path / "libaot.so"), num_threads=2)
    assert os.path.exists(lib.path) and lib.abi["functions"][0]["symbol"] == "aicc_f"
    import json
    abi = json.loads(json.dumps(lib.abi))                # the ABI survives JSON
    cm = load_shared_library(lib.path, abi, consts=m.weights())
    out = np.zeros((4, 8), np.float32)
    cm["f"](x, out)
    np.testing.assert_array_equal(out, ref)
    w = m.weights()["w"]
    np.testing.assert_allclose(ref, np.exp(x) * w + (np.exp(x) * w)[::-1, ::-1], rtol=1e-6)
