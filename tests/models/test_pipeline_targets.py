"""Issue targets of the -O2 graph pipeline on the zoo: BatchNorm folded away, decomposed
LayerNorm/GELU raised, and a memory arena at most half the sum of intermediate tensors for the
ResNet-style and transformer models."""
import pytest

from compiler import plugins
from compiler.transform import PassContext, PassManager
from frontends.onnx import import_onnx

torch = pytest.importorskip("torch")
from tests.models.zoo import ZOO, export_onnx  # noqa: E402  (needs torch)


def all_op_counts(g):
    counts = dict(g.op_counts())
    for n in g.nodes:
        if n.op == "FusedGroup":
            for k, v in n.attrs["body"].op_counts().items():
                counts[k] = counts.get(k, 0) + v
    return counts


def optimized(name, tmp_path, frontend):
    entry = ZOO[name]
    module, inputs = entry.build(), entry.inputs(0)
    if frontend == "fx":
        from frontends.fx import import_fx
        g = import_fx(module, inputs)
    else:
        path = tmp_path / f"{name}.onnx"
        export_onnx(module, inputs, path, opset=16)
        g = import_onnx(path)
    before = all_op_counts(g)
    with PassContext(opt_level=2) as ctx:
        PassManager(plugins.default_pipeline(2)).run(g, ctx)
    return before, all_op_counts(g), g.attrs["memory_plan"]


@pytest.mark.parametrize("name", ["resnet18_style", "transformer_encoder"])
def test_arena_is_at_most_half_of_intermediates(name, tmp_path):
    _, _, plan = optimized(name, tmp_path, "fx")
    assert plan["arena_bytes"] <= 0.5 * plan["total_bytes"], plan


@pytest.mark.parametrize("name", ["resnet", "resnet18_style", "mobilenetv2_block"])
def test_every_batchnorm_is_folded(name, tmp_path):
    before, after, _ = optimized(name, tmp_path, "fx")
    assert before.get("BatchNormalization", 0) > 0
    assert after.get("BatchNormalization", 0) == 0 and "Mul" not in after


def test_decomposed_layernorm_and_gelu_are_raised(tmp_path):
    before, after, _ = optimized("transformer_encoder", tmp_path, "onnx")
    assert before["Erf"] == 1 and before["ReduceMean"] == 4
    assert "Erf" not in after and "ReduceMean" not in after and "Pow" not in after
    assert after["LayerNormalization"] == 2 and after["Gelu"] == 1
