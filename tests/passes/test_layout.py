"""The layout pass on real convolution networks: numerics equal before/after (reference
interpreter, random inputs) for NCHW{4,8,16}c and NHWC, conversion counts, what is refused."""
import numpy as np
import pytest

from backends.reference import run_graph
from compiler.errors import PassError
from compiler.ir.graph import Graph
from compiler.ir.parser import parse_graph
from compiler.ir.printer import print_graph
from compiler.ir.types import TensorType
from compiler.ir.verifier import verify
from compiler.transform import PassContext, PassManager, get_pass_class, load_builtin_passes

load_builtin_passes()
RNG = np.random.default_rng(5)
LAYOUTS = [("NCHWc", 4), ("NCHWc", 8), ("NCHWc", 16), ("NHWC", 8)]


def rand(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


# ---- graph builders ------------------------------------------------------------------------------

class Net:
    """A tiny builder for conv nets on graph IR (random weights, ONNX op set)."""

    def __init__(self, name, shape):
        self.g = Graph(name)
        self.x = self.g.add_input("x", TensorType("f32", shape))

    def conv(self, x, m, k=3, stride=1, group=1, bias=True, pad=None):
        c = x.shape[1]
        p = k // 2 if pad is None else pad
        fan_in = c // group * k * k
        w = self.g.add_constant(rand(m, c // group, k, k, scale=(2.0 / fan_in) ** 0.5))
        ins = [x, w] + ([self.g.add_constant(rand(m, scale=0.1))] if bias else [])
        return self.g.op("Conv", *ins, pads=[p] * 4, strides=[stride] * 2, group=group,
                         kernel_shape=[k, k])

    def bn(self, x):
        c = x.shape[1]
        params = [rand(c, scale=0.2) + 1, rand(c, scale=0.1), rand(c, scale=0.1),
                  np.abs(rand(c)) + 0.5]
        return self.g.op("BatchNormalization", x, *(self.g.add_constant(p) for p in params),
                         epsilon=1e-5)

    def relu6(self, x):
        return self.g.op("Clip", x, self.g.add_constant(np.float32(0)),
                         self.g.add_constant(np.float32(6)))

    def head(self, x, classes=10):
        p = self.g.op("GlobalAveragePool", x)
        f = self.g.op("Flatten", p, axis=1)
        w = self.g.add_constant(rand(classes, x.shape[1], scale=0.1))
        b = self.g.add_constant(rand(classes, scale=0.1))
        return self.g.op("Gemm", f, w, b, transB=1)

    def done(self, *outs):
        self.g.set_outputs(list(outs))
        verify(self.g)
        return self.g


def resnet(width=16, shape=(2, 3, 32, 32)):
    """Stem (7x7/2 conv, BN, ReLU, 3x3/2 max pool), a basic block, a downsampling block with a
    1x1 projection shortcut, global average pool, Flatten, Gemm."""
    n = Net("resnet", shape)
    r = lambda v: n.g.op("Relu", v)
    h = n.g.op("MaxPool", r(n.bn(n.conv(n.x, width, 7, 2, bias=False))), kernel_shape=[3, 3],
               strides=[2, 2], pads=[1, 1, 1, 1])
    y = n.bn(n.conv(r(n.bn(n.conv(h, width, bias=False))), width, bias=False))
    h = r(n.g.op("Add", y, h))
    y = n.bn(n.conv(r(n.bn(n.conv(h, 2 * width, stride=2, bias=False))), 2 * width, bias=False))
    s = n.bn(n.conv(h, 2 * width, 1, 2, bias=False))
    h = r(n.g.op("Add", y, s))
    return n.done(n.head(h))


def mobilenet_block(c=24, expand=6, shape=(1, None, 14, 14)):
    """MobileNetV2 inverted residuals: 1x1 expand, BN, ReLU6, 3x3 depthwise, BN, ReLU6, 1x1
    project, BN, residual add; then a stride-2 block without residual."""
    n = Net("mbv2", (shape[0], c, shape[2], shape[3]))

    def block(x, out, stride):
        e = c_in = x.shape[1]
        e = c_in * expand
        h = n.relu6(n.bn(n.conv(x, e, 1, bias=False)))
        h = n.relu6(n.bn(n.conv(h, e, 3, stride, group=e, bias=False)))
        h = n.bn(n.conv(h, out, 1, bias=False))
        return n.g.op("Add", h, x) if stride == 1 and out == c_in else h
    return n.done(block(block(n.x, c, 1), c + 8, 2))


def squeeze_excite(c=32):
    """x * sigmoid(conv(relu(conv(avgpool(x))))): a [N,C,1,1] operand computed in the layout."""
    n = Net("se", (1, c, 8, 8))
    h = n.g.op("Relu", n.conv(n.x, c))
    s = n.g.op("GlobalAveragePool", h)
    s = n.g.op("Sigmoid", n.conv(n.g.op("Relu", n.conv(s, c // 4, 1)), c, 1))
    return n.done(n.g.op("Mul", h, s))


# ---- running the pass --------------------------------------------------------------------------

def apply(g, layout="NCHWc", block=8, opt_level=3, log=None):
    g2 = g.clone()
    with PassContext(opt_level=opt_level, check_changed=True) as ctx:
        PassManager(f"layout{{layout={layout} block={block}}}").run(g2, ctx)
    if log is not None:
        log.extend(str(r) for r in ctx.logs)
    text = print_graph(g2)
    assert print_graph(parse_graph(text, weights=g2.weights())) == text
    return g2


def check_numerics(g, g2, rtol=1e-4, atol=1e-4):
    feeds = {v.name: rand(*v.shape) for v in g.inputs}
    want, got = run_graph(g, feeds), run_graph(g2, feeds)
    assert list(want) == list(got) == g.output_names
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=rtol, atol=atol)


def n_ops(g, op):
    return g.op_counts().get(op, 0)


@pytest.mark.parametrize("layout,block", LAYOUTS)
def test_resnet(layout, block):
    g = resnet()
    g2 = apply(g, layout, block)
    check_numerics(g, g2)
    conv = "ConvNCHWc" if layout == "NCHWc" else "ConvNHWC"
    tag = "NCHWc" if layout == "NCHWc" else "NHWC"
    # one conversion in (the image), one out (before Flatten); everything between moves
    assert g2.attrs["layout"] == {"inserted": 2, "removed": 0, "converted_convs": 6,
                                  "target": f"NCHW{block}c" if layout == "NCHWc" else "NHWC"}
    assert n_ops(g2, "LayoutTransform") == 2 and n_ops(g2, conv) == 6
    assert n_ops(g2, "Conv") == n_ops(g2, "BatchNormalization") == 0
    assert n_ops(g2, "MaxPool" + tag) == n_ops(g2, "GlobalAveragePool" + tag) == 1
    assert n_ops(g2, "Flatten") == n_ops(g2, "Gemm") == 1
    first, last = [n for n in g2.nodes if n.op == "LayoutTransform"]
    assert first.inputs[0].name == "x" and last.outputs[0].users[0].op == "Flatten"


@pytest.mark.parametrize("layout,block", LAYOUTS)
@pytest.mark.parametrize("c", [24, 20])
def test_mobilenet_v2_blocks(layout, block, c):
    g = mobilenet_block(c)
    g2 = apply(g, layout, block)
    check_numerics(g, g2)
    # the input goes in once (shared by the first conv and the residual add), the result out
    assert g2.attrs["layout"]["inserted"] == 2
    assert g2.attrs["layout"]["converted_convs"] == 6
    assert n_ops(g2, "Conv") == 0
    dw = [n for n in g2.nodes if n.op.startswith("Conv") and n.attrs.get("group", 1) > 1]
    assert len(dw) == 2
    if layout == "NCHWc":          # depthwise over the padded channels, 1-input weights
        assert dw[0].attrs["group"] == -(-c * 6 // block) * block
        assert dw[0].inputs[1].shape[4] == 1


def test_channels_not_divisible_are_padded():
    g = mobilenet_block(20)
    g2 = apply(g, "NCHWc", 16)
    x_in = next(n for n in g2.nodes if n.op == "LayoutTransform")
    assert x_in.attrs["channels"] == 20 and x_in.output.shape == (1, 2, 14, 14, 16)
    check_numerics(g, g2)


@pytest.mark.parametrize("layout,block", LAYOUTS)
def test_squeeze_excite_broadcasts_in_layout(layout, block):
    g = squeeze_excite()
    g2 = apply(g, layout, block)
    check_numerics(g, g2)
    assert g2.attrs["layout"]["inserted"] == 2 and n_ops(g2, "Mul") == 1


def test_symbolic_batch_and_spatial_dims():
    n = Net("sym", ("N", 3, "H", "W"))
    h = n.g.op("Relu", n.conv(n.x, 8))
    g = n.done(n.conv(h, 8))
    g2 = apply(g)
    assert str(g2.outputs[0].type) == str(g.outputs[0].type) == "f32[N,8,?,?]"
    assert str(g2.nodes[0].output.type) == "f32[N,1,H,W,8]"
    feeds = {"x": rand(2, 3, 9, 7)}
    np.testing.assert_allclose(run_graph(g2, feeds)[g2.output_names[0]],
                               run_graph(g, feeds)[g.output_names[0]], rtol=1e-4, atol=1e-5)


def test_output_names_are_kept():
    g = resnet()
    g2 = apply(g)
    assert g2.output_names == g.output_names


def test_refusals_leave_nodes_in_nchw_with_a_reason():
    n = Net("refuse", (1, 8, 8, 8))
    g = n.g
    w_in = g.add_input("w", TensorType("f32", (8, 8, 3, 3)))
    a = g.op("Conv", n.x, w_in, pads=[1, 1, 1, 1])                     # weights not constant
    x1 = g.add_input("x1", TensorType("f32", (1, 8, 10)))
    b = g.op("Conv", x1, g.add_constant(rand(8, 8, 3)))                 # 1-D conv
    xs = g.add_input("xs", TensorType("f32", (1, "C", 6, 6)))
    d = g.op("Conv", xs, g.add_constant(rand(4, 8, 3, 3)))              # symbolic channels
    e = n.conv(n.x, 12, group=4)                                        # grouped, unaligned
    g = n.done(a, b, d, e)
    log = []
    g2 = apply(g, log=log)
    assert n_ops(g2, "Conv") == 4 and n_ops(g2, "LayoutTransform") == 0
    assert "layout" not in g2.attrs
    text = "\n".join(log)
    for reason in ("weights are not constant", "1-D convolution", "symbolic channel dim C",
                   "grouped conv (group=4, 8 -> 12 channels)", "nothing to convert"):
        assert reason in text


@pytest.mark.parametrize("layout,block", LAYOUTS)
@pytest.mark.parametrize("width", [16, 12])
def test_concat_of_branches(layout, block, width):
    """Inception-style branches concatenated on channels stay in the layout when each branch's
    channel count fills whole blocks; otherwise the Concat runs in NCHW."""
    n = Net("concat", (1, 8, 8, 8))
    a = n.g.op("Relu", n.conv(n.x, width, 1))
    b = n.g.op("Relu", n.conv(n.x, width, 3))
    channels = n.conv(n.g.op("Concat", a, b, axis=1), 8)
    g = n.done(channels, n.g.op("Concat", a, b, axis=-1))
    g2 = apply(g, layout, block)
    check_numerics(g, g2)
    on_channels = layout == "NHWC" or width % block == 0
    # in: x; out: both results. A channel Concat in NCHW adds a conversion out of each branch
    # and one back in for the conv after it; a spatial Concat never needs NCHW.
    assert g2.attrs["layout"]["inserted"] == (3 if on_channels else 6)
    assert n_ops(g2, "Concat") == 2


def test_grouped_conv_with_aligned_channels_converts():
    n = Net("grouped", (1, 16, 8, 8))
    g = n.done(n.conv(n.conv(n.x, 32, group=4), 16, group=2))
    g2 = apply(g, "NCHWc", 8)
    assert n_ops(g2, "ConvNCHWc") == 2
    check_numerics(g, g2)


def test_padded_lanes_are_protected_from_non_finite_ops():
    n = Net("pad", (1, 3, 8, 8))
    h = n.conv(n.x, 5)
    h = n.g.op("Log", n.g.op("Add", n.g.op("Abs", h), n.g.add_constant(np.float32(1))))
    g = n.done(n.conv(h, 4))
    log = []
    g2 = apply(g, "NCHWc", 8, log=log)
    check_numerics(g, g2)
    assert any("Log" in r and "non-finite" in r for r in log)
    assert n_ops(g2, "Log") == 1 and n_ops(g2, "ConvNCHWc") == 2
    # without padding (block 1 divides everything) Log stays in the layout
    g3 = apply(g, "NCHWc", 1)
    assert g3.attrs["layout"]["inserted"] == 2
    check_numerics(g, g3)


def test_opt_level_and_options():
    assert get_pass_class("layout").opt_level == 3
    g = resnet()
    g2 = apply(g, opt_level=2)
    assert n_ops(g2, "Conv") == 6 and "layout" not in g2.attrs
    with pytest.raises(PassError, match="NCHWc or NHWC"):
        PassManager("layout{layout=NCHW8c}")
    with pytest.raises(PassError, match="block must be >= 1"):
        PassManager("layout{block=0}")


def test_last_report_and_idempotence():
    g = resnet().clone()
    p = get_pass_class("layout")(block=16)
    with PassContext(opt_level=3) as ctx:
        assert p.run(g, ctx)
        verify(g)
        assert p.last_report == {"inserted": 2, "removed": 0, "converted_convs": 6,
                                 "target": "NCHW16c"}
        before = print_graph(g)
        assert not p.run(g, ctx)
        assert print_graph(g) == before


def test_a_converted_graph_is_left_alone():
    g = resnet()
    g8 = apply(g, "NCHWc", 8)
    assert print_graph(apply(g8, "NCHWc", 16)) == print_graph(g8)
    assert print_graph(apply(g8, "NHWC")) == print_graph(g8)


# ---- the model zoo through both frontends -------------------------------------------------

def zoo_graph(name, frontend):
    import torch
    from tests.models.zoo import ZOO, export_onnx
    entry = ZOO[name]
    module, example = entry.build(), entry.inputs(100)
    if frontend == "onnx":
        import tempfile
        from frontends.onnx import import_onnx
        with tempfile.TemporaryDirectory() as d:
            export_onnx(module, example, f"{d}/m.onnx")
            return import_onnx(f"{d}/m.onnx")
    from frontends.fx import import_fx
    return import_fx(torch.fx.symbolic_trace(module), example)


@pytest.mark.parametrize("frontend", ["onnx", "fx"])
@pytest.mark.parametrize("name,convs", [("resnet", 6), ("mobilenetv2_block", 6)])
def test_zoo_models(name, convs, frontend):
    g = zoo_graph(name, frontend)
    assert n_ops(g, "Conv") == convs
    for layout, block in LAYOUTS:
        g2 = apply(g, layout, block)
        check_numerics(g, g2)
        report = g2.attrs["layout"]
        assert (report["inserted"], report["removed"], report["converted_convs"]) == (2, 0, convs)
        assert n_ops(g2, "Conv") == n_ops(g2, "BatchNormalization") == 0
