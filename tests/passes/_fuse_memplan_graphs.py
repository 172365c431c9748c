"""Realistic graphs built directly with the Graph API, shared by test_fuse.py and
test_memory_plan.py: a ResNet-style CNN, a MobileNetV2 inverted-residual block and a transformer
encoder layer (with fused or exporter-style decomposed LayerNorm/GELU)."""
from __future__ import annotations

import numpy as np

from compiler import Graph, TensorType


class _Builder:
    def __init__(self, name: str, seed: int = 0):
        self.g = Graph(name)
        self.rng = np.random.default_rng(seed)
        self.k = 0

    def w(self, *shape, scale=None, positive=False):
        self.k += 1
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        s = scale if scale is not None else 1.0 / np.sqrt(max(fan_in, 1))
        a = self.rng.standard_normal(shape).astype(np.float32) * s
        if positive:
            a = np.abs(a) + 0.5
        return self.g.add_constant(a.astype(np.float32), f"w{self.k}")

    def c(self, value, dtype=np.float32, name="c"):
        return self.g.add_constant(np.asarray(value, dtype), name)

    # ---- CNN pieces --------------------------------------------------------------------------
    def conv(self, x, cout, k=3, stride=1, group=1, bias=False, name=""):
        cin = x.shape[1]
        w = self.w(cout, cin // group, k, k)
        args = [x, w] + ([self.w(cout, scale=0.1)] if bias else [])
        p = k // 2
        return self.g.op("Conv", *args, kernel_shape=[k, k], strides=[stride, stride],
                         pads=[p, p, p, p], group=group, name=name)

    def bn(self, x, name=""):
        c = x.shape[1]
        return self.g.op("BatchNormalization", x, self.w(c, scale=0.5, positive=True),
                         self.w(c, scale=0.1), self.w(c, scale=0.1),
                         self.w(c, scale=0.5, positive=True), epsilon=1e-5, name=name)

    def relu(self, x, name=""):
        return self.g.op("Relu", x, name=name)

    def relu6(self, x, name=""):
        return self.g.op("Clip", x, self.c(0.0, name="zero"), self.c(6.0, name="six"), name=name)


def resnet_graph(hw: int = 16, width: int = 8, batch: int = 1, stages: int = 1) -> Graph:
    """stem conv-bn-relu-maxpool, `stages` x two basic blocks (the first block of every stage
    after the first downsamples with a strided 1x1 conv; stages=4 is ResNet-18's layout), global
    average pool, flatten, gemm. stages=1 is one plain and one downsampling block."""
    b = _Builder("resnet")
    g = b.g
    x = g.add_input("x", TensorType("f32", (batch, 3, hw, hw)))
    h = b.relu(b.bn(b.conv(x, width, name="stem.conv"), "stem.bn"), "stem.relu")
    h = g.op("MaxPool", h, kernel_shape=[2, 2], strides=[2, 2], name="stem.pool")
    plan = [(width, 1), (2 * width, 2)] if stages == 1 else \
        [(width << s, 2 if s and j == 0 else 1) for s in range(stages) for j in range(2)]
    for i, (cout, stride) in enumerate(plan):
        t = b.relu(b.bn(b.conv(h, cout, stride=stride, name=f"b{i}.conv1"), f"b{i}.bn1"))
        t = b.bn(b.conv(t, cout, name=f"b{i}.conv2"), f"b{i}.bn2")
        ident = h if stride == 1 else b.bn(b.conv(h, cout, k=1, stride=stride,
                                                  name=f"b{i}.down"), f"b{i}.down_bn")
        h = b.relu(g.op("Add", t, ident, name=f"b{i}.add"), f"b{i}.relu2")
    p = g.op("Flatten", g.op("GlobalAveragePool", h, name="gap"), name="flatten")
    y = g.op("Gemm", p, b.w(10, h.shape[1]), b.w(10, scale=0.1), transB=1, name="fc")
    g.set_outputs([y], ["logits"])
    return g


def mobilenet_block_graph(hw: int = 8, channels: int = 8, expand: int = 6) -> Graph:
    """MobileNetV2 inverted residual: 1x1 expand, relu6, 3x3 depthwise, relu6, 1x1 project, add."""
    b = _Builder("mobilenet_v2_block", seed=1)
    g = b.g
    x = g.add_input("x", TensorType("f32", (1, channels, hw, hw)))
    hid = channels * expand
    h = b.relu6(b.bn(b.conv(x, hid, k=1, name="expand"), "expand.bn"), "expand.relu6")
    h = b.relu6(b.bn(b.conv(h, hid, k=3, group=hid, name="dw"), "dw.bn"), "dw.relu6")
    h = b.bn(b.conv(h, channels, k=1, name="project"), "project.bn")
    y = g.op("Add", x, h, name="residual")
    y2 = b.relu6(b.conv(y, channels, k=3, bias=True, name="next"), "next.relu6")
    g.set_outputs([y2], ["out"])
    return g


def _layernorm(b: _Builder, x, decomposed: bool, name: str):
    g, d = b.g, x.shape[-1]
    gamma, beta = b.w(d, scale=0.1, positive=True), b.w(d, scale=0.1)
    if not decomposed:
        return g.op("LayerNormalization", x, gamma, beta, axis=-1, epsilon=1e-5, name=name)
    axes = b.c([-1], np.int64, "axes")
    mean = g.op("ReduceMean", x, axes, name=f"{name}.mean")
    cen = g.op("Sub", x, mean, name=f"{name}.sub")
    var = g.op("ReduceMean", g.op("Pow", cen, b.c(2.0, name="two"), name=f"{name}.pow"), axes,
               name=f"{name}.var")
    std = g.op("Sqrt", g.op("Add", var, b.c(1e-5, name="eps"), name=f"{name}.addeps"),
               name=f"{name}.sqrt")
    return g.op("Add", g.op("Mul", g.op("Div", cen, std, name=f"{name}.div"), gamma,
                            name=f"{name}.scale"), beta, name=f"{name}.shift")


def _gelu(b: _Builder, x, decomposed: bool, name: str):
    g = b.g
    if not decomposed:
        return g.op("Gelu", x, name=name)
    e = g.op("Erf", g.op("Div", x, b.c(np.sqrt(2.0), name="sqrt2"), name=f"{name}.div"),
             name=f"{name}.erf")
    h = g.op("Mul", x, g.op("Add", e, b.c(1.0, name="one"), name=f"{name}.add"),
             name=f"{name}.mul")
    return g.op("Mul", h, b.c(0.5, name="half"), name=f"{name}.mul2")


def transformer_graph(seq: int = 8, dim: int = 32, heads: int = 4, batch: int = 2,
                      decomposed: bool = False, layers: int = 1) -> Graph:
    """Pre-norm transformer encoder layer(s): LN, QKV projections, reshape/transpose into heads,
    scaled dot-product attention with softmax, output projection + residual, LN, MLP with GELU
    + residual."""
    b = _Builder("transformer" + ("_decomposed" if decomposed else ""), seed=2)
    g = b.g
    dh = dim // heads
    x = g.add_input("x", TensorType("f32", (batch, seq, dim)))
    split = b.c([batch, seq, heads, dh], np.int64, "heads_shape")
    merge = b.c([batch, seq, dim], np.int64, "merge_shape")
    for L in range(layers):
        n1 = _layernorm(b, x, decomposed, f"l{L}.ln1")

        def proj(t, dout, what):
            return g.op("Add", g.op("MatMul", t, b.w(t.shape[-1], dout), name=f"l{L}.{what}"),
                        b.w(dout, scale=0.1), name=f"l{L}.{what}.bias")

        def heads_of(t, perm, what):
            return g.op("Transpose", g.op("Reshape", t, split, name=f"l{L}.{what}.split"),
                        perm=perm, name=f"l{L}.{what}.heads")
        q = heads_of(proj(n1, dim, "q"), [0, 2, 1, 3], "q")
        k = heads_of(proj(n1, dim, "k"), [0, 2, 3, 1], "k")
        v = heads_of(proj(n1, dim, "v"), [0, 2, 1, 3], "v")
        s = g.op("Div", g.op("MatMul", q, k, name=f"l{L}.scores"),
                 b.c(np.sqrt(dh), name="scale"), name=f"l{L}.scale")
        a = g.op("MatMul", g.op("Softmax", s, axis=-1, name=f"l{L}.softmax"), v,
                 name=f"l{L}.context")
        a = g.op("Reshape", g.op("Transpose", a, perm=[0, 2, 1, 3], name=f"l{L}.merge"),
                 merge, name=f"l{L}.merge.reshape")
        h = g.op("Add", x, proj(a, dim, "out"), name=f"l{L}.residual1")
        n2 = _layernorm(b, h, decomposed, f"l{L}.ln2")
        f = proj(_gelu(b, proj(n2, 4 * dim, "fc1"), decomposed, f"l{L}.gelu"), dim, "fc2")
        x = g.op("Add", h, f, name=f"l{L}.residual2")
    g.set_outputs([x], ["y"])
    return g


def random_feeds(graph: Graph, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {v.name: rng.standard_normal([d if isinstance(d, int) else 3 for d in v.shape])
            .astype(v.type.dtype.np_dtype) for v in graph.inputs}


def random_dag(seed: int, n_nodes: int = 12) -> Graph:
    """A random DAG of [4,4]-ish values mixing every op kind: elementwise, broadcast (with [4,1]
    and [1,4] operands), injective (transpose, reshape), reductions, matmuls and opaque softmax.
    Outputs are a random subset of values plus every value nobody reads."""
    rng = np.random.default_rng(seed)
    b = _Builder(f"random_{seed}", seed)
    g = b.g
    pool = [g.add_input("x", TensorType("f32", (4, 4))),
            g.add_input("y", TensorType("f32", (1, 4)))]
    square = lambda: [v for v in pool if v.shape == (4, 4)]  # noqa: E731
    pick = lambda vs: vs[int(rng.integers(len(vs)))]         # noqa: E731
    for i in range(n_nodes):
        kind = rng.choice(["unary", "unary", "binary", "binary", "transpose", "reshape", "reduce",
                           "matmul", "softmax"])
        a = pick(pool)
        if kind == "unary":
            v = g.op(str(rng.choice(["Relu", "Tanh", "Neg", "Sigmoid", "Abs", "Sin"])), a)
        elif kind == "binary":
            other = pick(pool) if a.shape == (4, 4) else pick(square() + [a])
            op = str(rng.choice(["Add", "Mul", "Sub", "Max"]))
            v = g.op(op, a, other) if rng.random() < 0.8 else g.op(op, a, b.w(*a.shape))
        elif kind == "transpose":
            v = g.op("Transpose", a, perm=[1, 0])
        elif kind == "reshape":
            v = g.op("Reshape", a, b.c(list(reversed(a.shape)), np.int64, "shape"))
        elif kind == "reduce":
            a = pick(square())
            v = g.op("ReduceSum", a, b.c([int(rng.integers(2))], np.int64, "axes"))
        elif kind == "matmul":
            a = pick(square())
            v = g.op("MatMul", a, pick(square()) if rng.random() < 0.5 else b.w(4, 4))
        else:
            v = g.op("Softmax", a, axis=-1)
        pool.append(v)
    produced = [v for v in pool if v.producer is not None]
    outs = [v for v in produced if not v.uses] + \
        [v for v in produced if v.uses and rng.random() < 0.15]
    g.set_outputs(outs)
    return g
