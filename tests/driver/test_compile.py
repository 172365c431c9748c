"""compiler.compile: sources (Graph, .ir path, ONNX model), options, the pipeline's
instruments and statistics, and numerics against the reference interpreter."""
import io
from dataclasses import dataclass

import numpy as np
import pytest

import compiler
from backends.reference import run_graph
from compiler import plugins
from compiler.driver import CompileConfig, ConfigError
from compiler.ir.graph import Graph
from compiler.ir.serialize import save_graph
from compiler.ir.types import TensorType
from compiler.loop import Buffer, CallFunc, LoopFunc, LoopModule, loop, max_, seq
from compiler.transform import Pass, PassInstrument, register_pass

from ._models import elementwise_graph, random_feeds


def check_against_reference(m, graph, seed=0, rtol=1e-5, atol=1e-6):
    feeds = random_feeds(graph.inputs, seed)
    out = m.run(feeds)
    ref = run_graph(graph, feeds)
    assert list(out) == list(ref)
    for k in ref:
        assert out[k].dtype == ref[k].dtype and out[k].shape == ref[k].shape
        np.testing.assert_allclose(out[k], ref[k], rtol=rtol, atol=atol)


@pytest.mark.parametrize("opt_level", [0, 1, 2, 3])
def test_compiled_graph_matches_reference_at_every_opt_level(opt_level):
    g = elementwise_graph()
    m = compiler.compile(g, opt_level=opt_level)
    check_against_reference(m, g)
    assert [str(s) for s in m.inputs] == ["x: f32[16,32]", "y: f32[32]"]
    assert [s.name for s in m.outputs] == ["probs", "5"]
    assert m.metadata["options"]["opt_level"] == opt_level


def test_compile_leaves_the_callers_graph_alone():
    g = elementwise_graph()
    before = str(g)
    compiler.compile(g, opt_level=3)
    assert str(g) == before


def test_positional_call_returns_tuple_for_several_outputs():
    g = elementwise_graph()
    m = compiler.compile(g)
    feeds = random_feeds(g.inputs, 1)
    probs, t = m(feeds["x"], feeds["y"])
    same = m(feeds["x"], y=feeds["y"])
    ref = run_graph(g, feeds)
    np.testing.assert_allclose(probs, ref["probs"], rtol=1e-5)
    np.testing.assert_allclose(t, ref["5"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(same[0], probs)


def test_compile_from_ir_path_and_config_object(tmp_path):
    g = elementwise_graph()
    save_graph(g, tmp_path / "ew.ir")             # weights go to ew.npz beside it
    cfg = CompileConfig(opt_level=1, num_threads=1)
    m = compiler.compile(str(tmp_path / "ew.ir"), cfg, fast_math=True)   # keyword overrides
    check_against_reference(m, g, rtol=1e-4, atol=1e-5)
    assert m.num_threads == 1
    assert m.metadata["options"]["fast_math"] is True and cfg.fast_math is False


def test_compile_from_onnx_model_proto():
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper
    node = helper.make_node("Sigmoid", ["a"], ["b"])
    model = helper.make_model(helper.make_graph(
        [helper.make_node("Relu", ["x"], ["a"]), node], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5])],
        [helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 5])]),
        opset_imports=[helper.make_opsetid("", 17)])
    m = compiler.compile(model, input_shapes={"x": (3, 5)})
    x = np.linspace(-2, 2, 15, dtype=np.float32).reshape(3, 5)
    np.testing.assert_allclose(m(x), 1 / (1 + np.exp(-np.maximum(x, 0))), rtol=1e-5)
    assert m.outputs[0].name == "b" and isinstance(model, onnx.ModelProto)


def test_input_shapes_specialise_a_symbolic_graph():
    g = Graph("sym")
    x = g.add_input("x", TensorType("f32", ("N", 8)))
    g.set_outputs([g.op("Exp", g.op("Neg", x))], ["y"])
    with pytest.raises(compiler.AiccError, match="symbolic|dynamic"):
        compiler.compile(g)
    m = compiler.compile(g, input_shapes={"x": [3, 8]})
    assert m.inputs[0].shape == (3, 8)
    x = np.ones((3, 8), np.float32)
    np.testing.assert_allclose(m(x), np.exp(-x), rtol=1e-6)
    with pytest.raises(compiler.AiccError, match="input_shapes.*'z'.*not an input"):
        compiler.compile(g, input_shapes={"z": [3, 8]})
    with pytest.raises(compiler.AiccError, match=r"does not fit input 'x' of type f32\[N,8\]"):
        compiler.compile(g, input_shapes={"x": [3, 9]})


@pytest.mark.parametrize("kwargs, message", [
    ({"opt_lvl": 2}, "unknown compile option 'opt_lvl' \\(did you mean 'opt_level'\\?\\)"),
    ({"opt_level": 5}, "opt_level must be 0, 1, 2 or 3"),
    ({"num_threads": 0}, "num_threads must be a positive integer"),
    ({"math": "fast"}, "math must be 'poly' or 'libm'"),
    ({"input_shapes": {"x": [-1, 3]}}, "dims must be non-negative integers"),
    ({"disabled_passes": ["fsue"]}, "unknown disabled pass 'fsue' \\(did you mean 'fuse'\\?\\)"),
])
def test_bad_options_are_one_line_errors(kwargs, message):
    with pytest.raises(compiler.AiccError, match=message) as info:
        compiler.compile(elementwise_graph(), **kwargs)
    assert "\n" not in str(info.value)


def test_bad_sources_are_refused(tmp_path):
    for src, message in [(42, "cannot compile a int"),
                         (str(tmp_path / "none.onnx"), "no such model file"),
                         (str(tmp_path / "m.aicc"), "compiled artifact: open it with "
                                                    "compiler.load"),
                         (__file__, "cannot tell the format")]:
        with pytest.raises(compiler.AiccError, match=message):
            compiler.compile(src)
    with pytest.raises(compiler.AiccError, match="example_inputs are only for torch"):
        compiler.compile(elementwise_graph(), example_inputs=(1,))
    with pytest.raises(ConfigError, match="config must be a CompileConfig"):
        compiler.compile(elementwise_graph(), {"opt_level": 1})


class Recorder(PassInstrument):
    def __init__(self):
        self.names = []

    def run_after_pass(self, p, ir, changed):
        self.names.append(p.name)


def test_instruments_print_ir_disabled_passes_and_stats():
    rec, stream = Recorder(), io.StringIO()
    m = compiler.compile(elementwise_graph(), opt_level=2, disabled_passes="fuse",
                         instruments=[rec], print_ir_after=["cse", "lower"], ir_stream=stream)
    assert "fuse" not in rec.names and rec.names[:3] == ["fold-constants", "simplify", "cse"]
    text = stream.getvalue()
    assert "// -----// IR Dump After cse //----- //\ngraph @ew(" in text
    assert "IR Dump After lower (graph IR -> loop IR)" in text and "func @main(" in text
    assert "IR Dump After dce" not in text
    s = m.stats
    assert "FusedGroup" not in s["graph_ops"]["optimized"]
    assert s["graph_ops"]["imported"]["Mul"] == 2
    assert [p for p, _ in s["pass_seconds"]] == rec.names
    assert set(s["compile_seconds"]) >= {"import", "graph passes", "lowering",
                                         "codegen + link", "total"}
    assert s["loop_ops"]["call"] >= 2 and s["code_bytes"] > 0 and s["weights"] == 1
    assert s["weight_bytes"] == 16 * 32 * 4
    fused = compiler.compile(elementwise_graph(), opt_level=2)
    assert fused.stats["graph_ops"]["optimized"] == {"FusedGroup": 1}


def test_explicit_pipeline_runs_whatever_the_opt_level():
    rec = Recorder()
    compiler.compile(elementwise_graph(), opt_level=0, passes="cse,fuse", instruments=[rec])
    assert rec.names == ["cse", "fuse"]


def test_hand_built_loop_module_with_const_and_arena(monkeypatch):
    """The driver's contract with lowering: `main(inputs..., outputs...)`, const and arena
    buffers, lm.attrs naming the graph's inputs and outputs."""
    w = np.arange(32, dtype=np.float32).reshape(4, 8) / 10

    def lower(graph, **target):
        assert target["vector_bits"] in (128, 256, 512) and target["num_threads"] == 2
        lm = LoopModule("hand")
        wb = lm.add_const("w", w)
        t = lm.add_arena_buffer("t", "f32", (4, 8), offset=64)
        a, o = Buffer("a", "f32", (4, 8)), Buffer("o", "f32", (4, 8))
        k0 = LoopFunc("k0", [a], loop("i", 4, lambda i: loop(
            "j", 8, lambda j: t.store((i, j), max_(a[i, j] * wb[i, j], 0.0)))))
        k1 = LoopFunc("k1", [o], loop("i", 4, lambda i: loop(
            "j", 8, lambda j: o.store((i, j), t[i, j] + t[3 - i, j]))))
        x, y = Buffer("x", "f32", (4, 8)), Buffer("y", "f32", (4, 8))
        lm.funcs = [k0, k1, LoopFunc("main", [x, y], seq(CallFunc("k0", [x]),
                                                          CallFunc("k1", [y])))]
        lm.attrs = {"inputs": [{"name": "in", "dtype": "f32", "shape": [4, 8]}],
                    "outputs": [{"name": "result", "dtype": "f32", "shape": [4, 8]}]}
        return lm

    monkeypatch.setattr(plugins, "lower_graph", lower)
    g = Graph("g")
    g.set_outputs([g.op("Relu", g.add_input("in", TensorType("f32", (4, 8))))], ["result"])
    m = compiler.compile(g, num_threads=2)
    x = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    t = np.maximum(x * w, 0)
    np.testing.assert_allclose(m.run({"in": x})["result"], t + t[::-1], rtol=1e-6)
    assert m.stats["arena_bytes"] == 64 + 128


@register_pass
@dataclass
class CountKernels(Pass):
    """Test-only loop pass: records how many functions the lowered module has."""
    name = "test-count-kernels"
    opt_level = 3
    ir = "loop"
    seen = []

    def run(self, lm, ctx) -> bool:
        CountKernels.seen.append(len(lm.funcs))
        return False


def test_loop_passes_run_under_the_same_instruments():
    rec, stream = Recorder(), io.StringIO()
    CountKernels.seen.clear()
    m = compiler.compile(elementwise_graph(), opt_level=1, loop_passes="test-count-kernels",
                         instruments=[rec], print_ir_after="test-count-kernels",
                         ir_stream=stream)
    assert rec.names[-1] == "test-count-kernels" and CountKernels.seen == [7]  # 6 ops + main
    assert "IR Dump After test-count-kernels" in stream.getvalue()
    assert "module @ew {" in stream.getvalue()
    assert m.stats["compile_seconds"]["loop passes"] >= 0
