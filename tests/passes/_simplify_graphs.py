"""Graphs for the simplify tests: a conv+BN+ReLU net, an MLP with Gemm/MatMul + BatchNorm1d,
an attention block written with decomposed LayerNorm / GELU / Softmax (as exporters emit them),
and a hypothesis strategy of random op chains aimed at the rules."""
import math

import numpy as np
from hypothesis import strategies as st

from compiler.ir.graph import Graph
from compiler.ir.types import TensorType

RNG = np.random.default_rng(11)
F32 = np.float32


def rand(*shape, scale=1.0, dtype=F32):
    return (RNG.standard_normal(shape) * scale).astype(dtype)


# ---- builders ---------------------------------------------------------------------------------
def bn_params(g, c):
    return [g.add_constant(a) for a in (rand(c, scale=0.5) + 1.0, rand(c, scale=0.2),
                                         rand(c, scale=0.5), np.abs(rand(c)) + 0.5)]


def conv_bn_relu_net():
    """A ResNet-ish net: conv-BN-ReLU stem (conv without bias), a residual block (conv with
    bias), a per-channel Mul/Add after a conv, and a BN whose conv output has two uses."""
    g = Graph("cnn")
    x = g.add_input("x", TensorType("f32", (2, 3, 8, 8)))

    def conv(v, m, bias, k=3):
        c = v.shape[1]
        ins = [v, g.add_constant(rand(m, c, k, k, scale=(2.0 / (c * k * k)) ** 0.5))]
        if bias:
            ins.append(g.add_constant(rand(m, scale=0.1)))
        return g.op("Conv", *ins, pads=[k // 2] * 4, kernel_shape=[k, k])

    def bn(v):
        return g.op("BatchNormalization", v, *bn_params(g, v.shape[1]), epsilon=1e-3)

    h = g.op("Relu", bn(conv(x, 8, bias=False)))
    r = g.op("Relu", bn(conv(h, 8, bias=True)))
    r = bn(conv(r, 8, bias=False))
    h = g.op("Relu", g.op("Add", h, r))
    a = conv(h, 8, bias=True)                                        # affine after a conv
    a = g.op("Add", g.op("Mul", a, g.add_constant(rand(1, 8, 1, 1) + 2)),
             g.add_constant(rand(8, 1, 1)))
    shared = conv(a, 4, bias=False, k=1)                              # two uses: cannot fold
    out = g.op("Add", bn(shared), shared)
    g.set_outputs([g.op("Relu", out)])
    return g


def mlp_with_bn():
    """Gemm (transB=1, with C) + BN1d, Gemm (transB=0, no C, alpha/beta) + BN1d, MatMul + Add +
    BN1d, and MatMul + BN1d."""
    g = Graph("mlp")
    x = g.add_input("x", TensorType("f32", (4, 16)))
    h = g.op("Gemm", x, g.add_constant(rand(32, 16, scale=0.25)), g.add_constant(rand(32)),
             transB=1)
    h = g.op("Relu", g.op("BatchNormalization", h, *bn_params(g, 32)))
    h = g.op("Gemm", h, g.add_constant(rand(32, 24, scale=0.2)), g.add_constant(rand(1, 24)),
             alpha=0.5, beta=2.0)
    h = g.op("Tanh", g.op("BatchNormalization", h, *bn_params(g, 24)))
    h = g.op("Add", g.op("MatMul", h, g.add_constant(rand(24, 12, scale=0.2))),
             g.add_constant(rand(12)))
    h = g.op("Relu", g.op("BatchNormalization", h, *bn_params(g, 12)))
    h = g.op("MatMul", h, g.add_constant(rand(12, 6, scale=0.3)))
    g.set_outputs([g.op("BatchNormalization", h, *bn_params(g, 6))])
    return g


# ---- attention block with decomposed LayerNorm / GELU / Softmax ---------------------------------
def decomposed_layernorm(g, x, gamma, beta, eps=1e-5, style="div"):
    """As torch.onnx emits below opset 17 (style div, Pow) or hand-written (two x - mean, d*d,
    rsqrt as Div(1, Sqrt))."""
    axes = g.add_constant(np.array([-1], np.int64))
    mean = g.op("ReduceMean", x, axes)
    d = g.op("Sub", x, mean)
    if style == "div":
        var = g.op("ReduceMean", g.op("Pow", d, g.add_constant(np.array(2.0, F32))), axes)
        n = g.op("Div", d, g.op("Sqrt", g.op("Add", var, g.add_constant(np.array(eps, F32)))))
    else:
        var = g.op("ReduceMean", g.op("Mul", d, d), axes)
        std = g.op("Sqrt", g.op("Add", g.add_constant(np.array([eps], F32)), var))
        inv = g.op("Div", g.add_constant(np.array(1.0, F32)), std)
        n = g.op("Mul", g.op("Sub", x, mean), inv)
    return g.op("Add", g.op("Mul", n, gamma), beta)


def gelu_erf(g, x):
    c = g.add_constant
    a = g.op("Add", g.op("Erf", g.op("Div", x, c(np.array(1.4142135, F32)))), c(np.array(1.0, F32)))
    return g.op("Mul", g.op("Mul", x, a), c(np.array(0.5, F32)))


def gelu_tanh(g, x):
    c = g.add_constant
    cube = g.op("Mul", x, g.op("Mul", x, x))
    inner = g.op("Mul", c(np.array(math.sqrt(2 / math.pi), F32)),
                 g.op("Add", x, g.op("Mul", c(np.array(0.044715, F32)), cube)))
    a = g.op("Add", c(np.array(1.0, F32)), g.op("Tanh", inner))
    return g.op("Mul", c(np.array(0.5, F32)), g.op("Mul", x, a))


def softmax(g, x, stable=True):
    axes = g.add_constant(np.array([3], np.int64))
    s = g.op("Sub", x, g.op("ReduceMax", x, axes)) if stable else x
    e = g.op("Exp", s)
    return g.op("Div", e, g.op("ReduceSum", e, axes))


def attention_block(stable_softmax=True, tanh_gelu=False):
    b, t, d, h = 2, 5, 16, 2
    g = Graph("attn")
    x = g.add_input("x", TensorType("f32", (b, t, d)))
    c = g.add_constant

    def linear(v, n_in, n_out):
        return g.op("Add", g.op("MatMul", v, c(rand(n_in, n_out, scale=n_in ** -0.5))),
                    c(rand(n_out, scale=0.1)))

    def heads(v):
        v = g.op("Reshape", v, c(np.array([b, t, h, d // h], np.int64)))
        return g.op("Transpose", v, perm=[0, 2, 1, 3])

    q, k, v = (heads(linear(x, d, d)) for _ in range(3))
    kt = g.op("Transpose", k, perm=[0, 1, 3, 2])
    scores = g.op("Div", g.op("MatMul", q, kt), c(np.array(math.sqrt(d // h), F32)))
    attn = softmax(g, scores, stable_softmax)
    ctx = g.op("Transpose", g.op("MatMul", attn, v), perm=[0, 2, 1, 3])
    ctx = g.op("Reshape", ctx, c(np.array([b, t, d], np.int64)))
    x1 = decomposed_layernorm(g, g.op("Add", x, linear(ctx, d, d)), c(rand(d) + 1), c(rand(d)))
    act = (gelu_tanh if tanh_gelu else gelu_erf)(g, linear(x1, d, 2 * d))
    x2 = decomposed_layernorm(g, g.op("Add", x1, linear(act, 2 * d, d)), c(rand(d) + 1),
                              c(rand(d)), eps=1e-6, style="hand")
    g.set_outputs([x2])
    return g


# ---- random chains aimed at the rules ---------------------------------------------------------
@st.composite
def rule_chains(draw):
    """A random chain of ops the rules look at (identities with broadcasting constants, Pow,
    Div, reassociable chains, Transpose/Reshape/Squeeze round trips, Cast round trips), in f32
    or i32, with constants of several shapes; several values are graph outputs."""
    dtype = draw(st.sampled_from([np.float32, np.int32]))
    g = Graph("chain")
    v = g.add_input("x", TensorType(dtype, (2, 3)))
    outs = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["arith", "arith", "arith", "pow", "neg", "transpose",
                                     "reshape", "unsqueeze", "cast"]))
        rank = v.type.rank
        if kind == "arith":
            val = draw(st.sampled_from([0, 1, 2, -1, 3] + ([0.5, 1.4142135] if dtype == F32
                                                            else [])))
            shape = draw(st.sampled_from([(), v.shape[-1:], (1,) + v.shape[-1:],
                                          (2,) + (1,) * rank]))     # the last one grows x
            c = g.add_constant(np.full(shape, val, dtype))
            a, b = (c, v) if draw(st.booleans()) else (v, c)
            v = g.op(draw(st.sampled_from(["Add", "Sub", "Mul", "Div"])), a, b)
        elif kind == "pow":
            e = draw(st.sampled_from([2, 1, 0.5, -1, 3]))
            e_dtype = draw(st.sampled_from([np.float32, np.int64]))
            v = g.op("Pow", v, g.add_constant(np.array(e, e_dtype)))
        elif kind == "neg":
            v = g.op("Neg", g.op("Neg", v) if draw(st.booleans()) else v)
        elif kind == "transpose" and rank >= 2:
            p1 = list(draw(st.permutations(range(rank))))
            p2 = list(draw(st.permutations(range(rank))))
            v = g.op("Transpose", g.op("Transpose", v, perm=p1), perm=p2)
        elif kind == "reshape":
            flat = g.op("Reshape", v, g.add_constant(np.array([-1, 3], np.int64)))
            v = g.op("Reshape", flat, g.add_constant(np.array(v.shape, np.int64)))
        elif kind == "unsqueeze":
            ax = g.add_constant(np.array([draw(st.integers(-rank - 1, rank))], np.int64))
            v = g.op("Squeeze", g.op("Unsqueeze", v, ax), ax)
        elif kind == "cast":
            mid = draw(st.sampled_from([1, 6, 7, 10, 11, 3, 5]))   # f32 i32 i64 f16 f64 i8 i16
            back = {np.dtype(np.float32): 1, np.dtype(np.int32): 6}[v.dtype.np_dtype]
            v = g.op("Cast", g.op("Cast", v, to=mid), to=back)
        if draw(st.booleans()) and v not in outs:
            outs.append(v)
    g.set_outputs(outs + ([v] if v not in outs else []))
    return g
