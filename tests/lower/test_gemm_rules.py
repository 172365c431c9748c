"""MatMul and Gemm kernel rules: packed weights, run-time packing, batch broadcasting, 1-D
operands, transA/transB/alpha/beta/C, fused epilogues, other dtypes; against the reference."""
import numpy as np
import pytest

from compiler.ir.graph import Graph
from compiler.ir.types import TensorType

from .gemm_util import check

RNG = np.random.default_rng(7)


def _w(shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def _linear(M, K, N, relu=True):
    g = Graph("linear")
    x = g.add_input("x", TensorType("f32", (M, K)))
    y = g.op("Add", g.op("MatMul", x, g.add_constant(_w((K, N)), "w")),
             g.add_constant(_w((N,)), "b"))
    g.set_outputs([g.op("Relu", y) if relu else y], ["out"])
    return g


@pytest.mark.parametrize("M,K,N,bits,threads", [(1, 1, 1, 512, 1), (5, 3, 7, 256, 2),
                                                (37, 50, 70, 512, 2), (64, 96, 128, 256, 1)])
def test_linear_bias_relu(M, K, N, bits, threads):
    lm = check(_linear(M, K, N), bits=bits, threads=threads)
    names = [b.name for b in lm.buffers if b.scope == "const"]
    assert any("bpanels" in n for n in names)          # the weight was packed at compile time


def test_epilogue_is_applied_in_the_store():
    lm = check(_linear(9, 8, 20))
    kernel = [f for f in lm.funcs if f.name != "main"]
    assert len(kernel) == 1 and "max(" in str(kernel[0])   # relu inside the GEMM function


@pytest.mark.parametrize("a_shape,b_shape", [
    ((2, 3, 24, 32), (3, 32, 40)),    # batch broadcast, both computed (attention-like)
    ((5, 7), (2, 7, 9)),              # A broadcast over B's batch
    ((4, 6, 33), (33,)),              # 1-D B
    ((33,), (2, 33, 17)),             # 1-D A
    ((1, 40), (40, 1)),
])
def test_batched_runtime_operands(a_shape, b_shape):
    g = Graph("bmm")
    a = g.add_input("a", TensorType("f32", a_shape))
    b = g.add_input("b", TensorType("f32", b_shape))
    g.set_outputs([g.op("MatMul", a, b)], ["out"])
    check(g, threads=2 if len(a_shape) == 4 else 1)


def test_constant_batched_b_and_constant_a():
    g = Graph("consts")
    x = g.add_input("x", TensorType("f32", (3, 6, 10)))
    y = g.op("MatMul", x, g.add_constant(_w((3, 10, 19)), "wb"))          # per-batch weights
    z = g.op("MatMul", g.add_constant(_w((11, 6)), "wa"), y)              # weight on the left
    g.set_outputs([z], ["out"])
    check(g)


@pytest.mark.parametrize("ta,tb,c_shape", [(0, 0, None), (1, 0, (1,)), (0, 1, (21,)),
                                           (1, 1, (13, 1)), (0, 1, (13, 21))])
def test_gemm(ta, tb, c_shape):
    M, K, N = 13, 17, 21
    g = Graph("gemm")
    a = g.add_input("a", TensorType("f32", (K, M) if ta else (M, K)))
    b = g.add_constant(_w((N, K) if tb else (K, N)), "b")
    ins = [a, b] + ([g.add_constant(_w(c_shape), "c")] if c_shape else [])
    g.set_outputs([g.op("Gemm", *ins, transA=ta, transB=tb, alpha=0.5, beta=2.0)], ["out"])
    check(g)


def test_gemm_runtime_b_transposed_with_computed_c():
    g = Graph("gemm_rt")
    a = g.add_input("a", TensorType("f32", (40, 48)))
    b = g.add_input("b", TensorType("f32", (70, 48)))
    c = g.add_input("c", TensorType("f32", (70,)))
    y = g.op("Gemm", a, b, c, transB=1, alpha=1.5, beta=-1.0)
    g.set_outputs([g.op("Relu", y)], ["out"])
    check(g, threads=2)


@pytest.mark.parametrize("dtype", ["f64", "i32", "f16"])
def test_other_dtypes(dtype):
    g = Graph("mm_" + dtype)
    a = g.add_input("a", TensorType(dtype, (2, 5, 6)))
    b = g.add_input("b", TensorType(dtype, (6, 3)))
    g.set_outputs([g.op("MatMul", a, b)], ["out"])
    check(g, rtol=2e-3 if dtype == "f16" else 1e-6, atol=2e-3 if dtype == "f16" else 1e-6)


def test_integer_gemm_scales():
    g = Graph("igemm")
    a = g.add_input("a", TensorType("i64", (4, 3)))
    b = g.add_input("b", TensorType("i64", (3, 5)))
    c = g.add_input("c", TensorType("i64", (5,)))
    g.set_outputs([g.op("Gemm", a, b, c, alpha=2.0, beta=3.0)], ["out"])
    check(g)
