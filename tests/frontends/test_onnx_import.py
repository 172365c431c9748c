"""Importing ONNX models: names, weights (inline and external), input shapes, dynamic dims,
constants, shape folding, the single unsupported-ops report, and the `aicc import` /
`aicc inspect` commands."""
import json
import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from backends.reference import run_graph
from compiler.cli.main import main
from compiler.errors import UnsupportedError
from compiler.ir.serialize import load_graph
from frontends.onnx import OnnxImportError, import_onnx, inspect_onnx, load
from frontends.onnx import loader as onnx_loader

ort = pytest.importorskip("onnxruntime")
RNG = np.random.default_rng(1)


def f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def model(graph, opsets=(("", 13),), **kw):
    """A ModelProto with an IR version onnxruntime accepts."""
    return h.make_model(graph, opset_imports=[h.make_opsetid(d, v) for d, v in opsets],
                        ir_version=8, **kw)


def mlp(batch="batch", opset=13):
    """x -> fc1 (MatMul + Add) -> Relu -> fc2 (Gemm) -> Softmax -> y, PyTorch-style names."""
    inits = [nh.from_array(f32(8, 16), "fc1.weight"), nh.from_array(f32(16), "fc1.bias"),
             nh.from_array(f32(4, 16), "fc2.weight"), nh.from_array(f32(4), "fc2.bias")]
    nodes = [h.make_node("MatMul", ["x", "fc1.weight"], ["/fc1/MatMul_output_0"],
                         name="/fc1/MatMul"),
             h.make_node("Add", ["/fc1/MatMul_output_0", "fc1.bias"], ["/fc1/Add_output_0"],
                         name="/fc1/Add"),
             h.make_node("Relu", ["/fc1/Add_output_0"], ["/act/Relu_output_0"], name="/act/Relu"),
             h.make_node("Gemm", ["/act/Relu_output_0", "fc2.weight", "fc2.bias"], ["logits"],
                         name="/fc2/Gemm", transB=1),
             h.make_node("Softmax", ["logits"], ["probs"], name="/Softmax", axis=-1)]
    g = h.make_graph(nodes, "mlp", [h.make_tensor_value_info("x", T.FLOAT, [batch, 8])],
                     [h.make_tensor_value_info("probs", T.FLOAT, [batch, 4]),
                      h.make_tensor_value_info("logits", T.FLOAT, [batch, 4])], inits)
    return model(g, [("", opset)], producer_name="pytest", producer_version="1.0")


def ort_run(m, feeds):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(m.SerializeToString(), so).run(None, feeds)


def assert_matches_ort(g, m, feeds, atol=1e-5):
    got = run_graph(g, feeds)
    for (name, a), b in zip(got.items(), ort_run(m, feeds)):
        np.testing.assert_allclose(a, b, atol=atol, rtol=1e-5, err_msg=name)


def test_import_keeps_onnx_names_and_matches_onnxruntime():
    m = mlp()
    g = import_onnx(m, {"x": (3, 8)})
    assert [v.name for v in g.inputs] == ["x"] and g.output_names == ["probs", "logits"]
    assert {c.name for c in g.constants} >= {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    assert [n.name for n in g.nodes] == ["/fc1/MatMul", "/fc1/Add", "/act/Relu", "/fc2/Gemm",
                                         "/Softmax"]
    assert g.value("/act/Relu_output_0").producer.op == "Relu"
    assert str(g.inputs[0].type) == "f32[3,8]" and str(g.outputs[0].type) == "f32[3,4]"
    assert 'loc("/fc1/MatMul")' in str(g)
    assert_matches_ort(g, m, {"x": f32(3, 8)})


def test_weights_are_not_copied_into_the_graph():
    m = mlp()
    g = import_onnx(m, {"x": (1, 8)})
    w = g.value("fc1.weight").data
    assert not w.flags.writeable and not w.flags.owndata   # a view of the proto's bytes
    np.testing.assert_array_equal(w, nh.to_array(m.graph.initializer[0]))


def test_external_data_is_read_from_the_models_directory(tmp_path):
    """The >2 GB path: load by path without loading external data into the proto, check the
    file (not the in-memory proto), read each weight from its file. (A real >2 GB model would
    be too slow for CI; the code path is the same.)"""
    m = mlp()
    path = tmp_path / "sub" / "model.onnx"
    path.parent.mkdir()
    saved = onnx.ModelProto()
    saved.CopyFrom(m)           # save_model moves the copy's weights out of its proto
    onnx.save_model(saved, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    assert (tmp_path / "sub" / "weights.bin").exists()
    loaded = load(path)
    assert loaded.checked and loaded.base_dir == str(path.parent)
    assert all(t.data_location == T.EXTERNAL and not t.raw_data
               for t in loaded.proto.graph.initializer)
    cwd = os.getcwd()
    os.chdir(tmp_path)            # relative paths resolve against the model, not the cwd
    try:
        g = import_onnx(str(path), {"x": (2, 8)})
    finally:
        os.chdir(cwd)
    for t in m.graph.initializer:
        np.testing.assert_array_equal(g.value(t.name).data, nh.to_array(t))
    assert_matches_ort(g, m, {"x": f32(2, 8)})


def test_checker_is_skipped_for_in_memory_protos_over_2gb(monkeypatch):
    monkeypatch.setattr(onnx_loader, "TWO_GB", 100)   # pretend the small model is huge
    calls = []
    monkeypatch.setattr(onnx.checker, "check_model", lambda *a, **k: calls.append(a))
    loaded = load(mlp())
    assert not loaded.checked and "over 2 GB" in loaded.check_skipped and not calls
    g = import_onnx(mlp(), {"x": (1, 8)})
    assert len(g.nodes) == 5


def test_model_bytes_and_paths_are_accepted(tmp_path):
    m = mlp()
    path = tmp_path / "m.onnx"
    onnx.save(m, str(path))
    for source in (m.SerializeToString(), path, str(path)):
        assert len(import_onnx(source, {"x": (1, 8)}).nodes) == 5


def test_input_shapes_fix_and_override_dims():
    m = mlp(batch=1)
    g = import_onnx(m, {"x": (5, 8)})          # overrides the declared static batch
    assert str(g.inputs[0].type) == "f32[5,8]" and str(g.outputs[0].type) == "f32[5,4]"
    m = mlp()
    assert_matches_ort(import_onnx(m, {"x": (2, 8)}), m, {"x": f32(2, 8)})
    g = import_onnx(m, {"x": ("B", 8)})    # a name keeps the dim symbolic
    assert str(g.outputs[0].type) == "f32[B,4]"


@pytest.mark.parametrize("shapes,msg", [
    ({"y": (1, 8)}, "input_shapes names 'y', which is not an input of the model; the inputs "
                    "are: x"),
    ({"fc1.weight": (8, 16)}, "'fc1.weight', which is an initializer"),
    ({"x": (1, 8, 1)}, "has rank 3, but the model declares input 'x' with shape [batch,8]"),
    ({"x": (-1, 8)}, "dims must be non-negative integers"),
])
def test_bad_input_shapes(shapes, msg):
    with pytest.raises(OnnxImportError, match=msg.replace("[", r"\[").replace("]", r"\]")):
        import_onnx(mlp(), shapes)


def test_dynamic_dims_are_an_error_naming_input_and_dim():
    m = mlp()
    m.graph.input.append(h.make_tensor_value_info("mask", T.FLOAT, [2, None]))
    m.graph.node.append(h.make_node("Identity", ["mask"], ["mask_out"]))
    m.graph.output.append(h.make_tensor_value_info("mask_out", T.FLOAT, [2, None]))
    with pytest.raises(OnnxImportError) as e:
        import_onnx(m)
    msg = str(e.value)
    assert "'x' [batch,8] dim 0 ('batch')" in msg and "'mask' [2,?] dim 1 (unnamed)" in msg
    assert "input_shapes={'x': (1, 8), 'mask': (2, 1)}" in msg
    assert "--input-shape x=1,8 --input-shape mask=2,1" in msg and "--allow-dynamic" in msg
    assert "\n" not in msg


def test_allow_dynamic_keeps_symbolic_dims():
    m = mlp(batch="batch size")
    g = import_onnx(m, allow_dynamic=True)
    assert str(g.inputs[0].type) == "f32[batch_size,8]"
    assert str(g.outputs[0].type) == "f32[batch_size,4]"
    for n in (1, 4):
        assert_matches_ort(g, m, {"x": f32(n, 8)})
    m.graph.input[0].type.tensor_type.shape.dim[0].Clear()     # no dim_param at all
    assert str(import_onnx(m, allow_dynamic=True).inputs[0].type) == "f32[x_d0,8]"


def test_initializers_listed_as_inputs_are_constants():
    m = mlp()
    m.graph.input.extend(h.make_tensor_value_info(t.name, t.data_type, t.dims)
                         for t in m.graph.initializer)
    g = import_onnx(m, {"x": (2, 8)})
    assert [v.name for v in g.inputs] == ["x"]
    assert g.value("fc2.weight").is_constant


def test_constant_nodes_become_graph_constants():
    sparse = h.make_sparse_tensor(nh.from_array(np.array([5.0, 7.0], np.float32), "v"),
                                  nh.from_array(np.array([1, 4], np.int64), "i"), [2, 3])
    nodes = [h.make_node("Constant", [], ["t"], value=nh.from_array(f32(2, 3), "t")),
             h.make_node("Constant", [], ["f"], value_float=2.0),
             h.make_node("Constant", [], ["fs"], value_floats=[1.0, 2.0, 3.0]),
             h.make_node("Constant", [], ["s"], sparse_value=sparse),
             h.make_node("Constant", [], ["shape"], value_ints=[3, 2]),
             h.make_node("Mul", ["x", "t"], ["a"]), h.make_node("Mul", ["a", "f"], ["b"]),
             h.make_node("Add", ["b", "fs"], ["c"]), h.make_node("Add", ["c", "s"], ["d"]),
             h.make_node("Reshape", ["d", "shape"], ["y"], name="reshape")]
    g_ = h.make_graph(nodes, "consts", [h.make_tensor_value_info("x", T.FLOAT, [2, 3])],
                      [h.make_tensor_value_info("y", T.FLOAT, [3, 2]),
                       h.make_tensor_value_info("f", T.FLOAT, [])])
    m = model(g_)
    g = import_onnx(m)
    assert "Constant" not in g.op_counts()
    assert g.value("s").is_constant and g.value("s").data.tolist() == [[0, 5, 0], [0, 7, 0]]
    assert g.value("shape").data.dtype == np.int64 and g.output_names == ["y", "f"]
    assert_matches_ort(g, m, {"x": f32(2, 3)})


def test_shape_computations_are_folded_at_import():
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as PyTorch exports flatten()."""
    nodes = [h.make_node("Shape", ["x"], ["s"]),
             h.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             h.make_node("Unsqueeze", ["n", "zero1"], ["n1"]),
             h.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
             h.make_node("Reshape", ["x", "target"], ["y"], name="flatten")]
    inits = [nh.from_array(np.array(0, np.int64), "zero"),
             nh.from_array(np.array([0], np.int64), "zero1"),
             nh.from_array(np.array([-1], np.int64), "minus1")]
    g_ = h.make_graph(nodes, "flat", [h.make_tensor_value_info("x", T.FLOAT, ["N", 3, 4])],
                      [h.make_tensor_value_info("y", T.FLOAT, ["N", 12])], inits)
    m = model(g_)
    g = import_onnx(m, {"x": (2, 3, 4)})
    assert g.op_counts() == {"Reshape": 1} and str(g.outputs[0].type) == "f32[2,12]"
    assert g.value("target").data.tolist() == [2, -1]
    g = import_onnx(m, {"x": (2, 3, 4)}, fold_shapes=False)
    assert g.op_counts()["Shape"] == 1 and str(g.outputs[0].type) == "f32[?,?]"
    g = import_onnx(m, allow_dynamic=True)     # onnx's symbolic shape inference names the dim
    assert str(g.outputs[0].type) == "f32[N,12]"
    assert_matches_ort(g, m, {"x": f32(5, 3, 4)})


def test_dropout_output_alias_keeps_the_output_name():
    nodes = [h.make_node("Dropout", ["x"], ["y"], name="drop")]
    g_ = h.make_graph(nodes, "d", [h.make_tensor_value_info("x", T.FLOAT, [2])],
                      [h.make_tensor_value_info("y", T.FLOAT, [2])])
    g = import_onnx(model(g_))
    x = f32(2)
    assert g.output_names == ["y"] and run_graph(g, {"x": x})["y"].tolist() == x.tolist()


def test_model_local_functions_are_inlined():
    fn = h.make_function("my.fns", "AddRelu", ["a", "b"], ["c"],
                         [h.make_node("Add", ["a", "b"], ["s"]), h.make_node("Relu", ["s"], ["c"])],
                         [h.make_opsetid("", 13)])
    g_ = h.make_graph([h.make_node("AddRelu", ["x", "x"], ["y"], domain="my.fns", name="call")],
                      "f", [h.make_tensor_value_info("x", T.FLOAT, [3])],
                      [h.make_tensor_value_info("y", T.FLOAT, [3])])
    m = model(g_, [("", 13), ("my.fns", 1)], functions=[fn])
    g = import_onnx(m)
    assert g.op_counts() == {"Add": 1, "Relu": 1}
    x = f32(3)
    np.testing.assert_allclose(run_graph(g, {"x": x})["y"], np.maximum(2 * x, 0))


def _with_unsupported():
    nodes = [h.make_node("LRN", ["x"], [f"l{i}"], name=f"lrn{i}", size=3) for i in range(5)]
    nodes += [h.make_node("Einsum", ["l0", "l1"], ["e"], name="einsum", equation="...,...->..."),
              h.make_node("FusedGemm", ["e", "l2"], ["fg"], name="fused", domain="com.microsoft"),
              h.make_node("Normalizer", ["fg"], ["y"], name="norm", domain="ai.onnx.ml"),
              h.make_node("Relu", ["x"], ["r"], name="relu")]
    g_ = h.make_graph(nodes, "u", [h.make_tensor_value_info("x", T.FLOAT, [1, 2, 3, 3])],
                      [h.make_tensor_value_info("y", T.FLOAT, [1, 2, 3, 3]),
                       h.make_tensor_value_info("r", T.FLOAT, [1, 2, 3, 3])])
    return model(g_, [("", 13), ("com.microsoft", 1), ("ai.onnx.ml", 3)])


def test_unsupported_operators_are_reported_together():
    with pytest.raises(UnsupportedError) as e:
        import_onnx(_with_unsupported())
    msg = str(e.value)
    assert msg.startswith("<ModelProto 'u'>: the model uses 4 operators aicc cannot import "
                          "(8 nodes): ")
    assert "LRN x5 (ai.onnx opset 13: not supported by aicc; nodes 'lrn0', 'lrn1', 'lrn2', ...)" \
        in msg
    assert "Einsum x1 (ai.onnx opset 13" in msg
    assert "com.microsoft::FusedGemm x1 (com.microsoft opset 1: operators outside the default " \
           "ONNX domain are not supported; node 'fused')" in msg
    assert "ai.onnx.ml::Normalizer x1 (ai.onnx.ml opset 3: ONNX-ML operators" in msg
    assert "Relu" not in msg and "\n" not in msg


@pytest.mark.filterwarnings("ignore")
def test_torch_exported_cnn_at_several_opsets():
    """A real exporter's output (Conv, MaxPool, Upsample/Resize, GlobalAveragePool, Flatten,
    Gemm, Softmax, Dropout, and a Shape -> Gather -> Concat -> Reshape chain)."""
    torch = pytest.importorskip("torch")
    import io

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.c2 = torch.nn.Conv2d(8, 16, 3, stride=2)
            self.fc = torch.nn.Linear(16, 10)

        def forward(self, x):
            x = torch.nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
            x = torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")
            x = torch.nn.functional.adaptive_avg_pool2d(torch.relu(self.c2(x)), 1).flatten(1)
            return torch.softmax(self.fc(x), dim=-1), x.reshape(x.shape[0], 4, -1).mean(-1)

    torch.manual_seed(0)
    net, x = Net().eval(), torch.randn(2, 3, 16, 16)
    for opset in (9, 11, 17):
        f = io.BytesIO()
        torch.onnx.export(net, (x,), f, opset_version=opset, dynamo=False, input_names=["x"],
                          output_names=["probs", "means"], dynamic_axes={"x": {0: "batch"}})
        m = onnx.load_from_string(f.getvalue())
        g = import_onnx(m, {"x": (2, 3, 16, 16)})
        assert "Shape" not in g.op_counts() and str(g.outputs[1].type) == "f32[2,4]"
        assert_matches_ort(g, m, {"x": x.numpy()})
        g = import_onnx(m, allow_dynamic=True)
        assert str(g.outputs[0].type) == "f32[batch,10]"
        assert_matches_ort(g, m, {"x": torch.randn(3, 3, 16, 16).numpy()})


# ---- the command line -------------------------------------------------------------------------
def aicc(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_import_then_opt_then_run(tmp_path, capsys):
    path = tmp_path / "mlp.onnx"
    m = mlp()
    onnx.save(m, str(path))
    code, out, err = aicc(capsys, "import", path, "-o", tmp_path / "mlp.ir", "--input-shape",
                          "x=2,8")
    assert code == 0 and out == "" and "wrote" in err
    assert (tmp_path / "mlp.ir").exists() and (tmp_path / "mlp.npz").exists()
    text = (tmp_path / "mlp.ir").read_text()
    assert text.startswith("graph @mlp(%x: f32[2,8])") and "%fc1.weight = const @fc1.weight" in text
    code, _, err = aicc(capsys, "opt", tmp_path / "mlp.ir", "-O2", "-o", tmp_path / "opt.ir")
    assert code == 0, err
    x = f32(2, 8)
    np.savez(tmp_path / "in.npz", x=x)
    code, out, err = aicc(capsys, "run", tmp_path / "opt.ir", "--inputs", tmp_path / "in.npz",
                          "--outputs", tmp_path / "out.npz")
    assert code == 0 and "probs: float32[2, 4]" in out
    got = np.load(tmp_path / "out.npz")
    want = ort_run(m, {"x": x})
    np.testing.assert_allclose(got["probs"], want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["logits"], want[1], rtol=1e-5, atol=1e-5)
    g = load_graph(tmp_path / "mlp.ir")
    assert g.output_names == ["probs", "logits"]


def test_cli_import_to_stdout_and_dynamic(tmp_path, capsys):
    path = tmp_path / "mlp.onnx"
    onnx.save(mlp(), str(path))
    code, out, err = aicc(capsys, "import", path, "--allow-dynamic")
    assert code == 0 and out.startswith("graph @mlp(%x: f32[batch,8])")
    code, out, err = aicc(capsys, "import", path)
    assert code == 2 and "--input-shape x=1,8" in err and "Traceback" not in err
    code, out, err = aicc(capsys, "import", path, "--input-shape", "x")
    assert code == 2 and "expected NAME=D0,D1,..." in err


def test_cli_inspect(tmp_path, capsys):
    m = _with_unsupported()
    m.graph.initializer.extend([nh.from_array(f32(100, 50), "w1"), nh.from_array(f32(50), "b1")])
    m.producer_name, m.producer_version = "pytorch", "2.13.0"
    path = tmp_path / "u.onnx"
    onnx.save(m, str(path))
    code, out, err = aicc(capsys, "inspect", path)
    assert code == 0, err
    assert f"model:       {path}" in out and f"ir_version:  {m.ir_version}" in out
    assert "producer:    pytorch 2.13.0" in out
    assert "opsets:      ai.onnx 13, com.microsoft 1, ai.onnx.ml 3" in out
    lines = [line.split() for line in out.splitlines()]
    assert ["x", "f32[1,2,3,3]"] in lines and ["y", "f32[1,2,3,3]"] in lines
    assert "parameters:  5,050 in 2 initializers, 19.7 KiB (20,200 bytes)" in out
    ops = out.split("ops (9 nodes, 5 op types):\n")[1].split("unsupported")[0].split("\n")
    assert ops[0].split() == ["LRN", "5"]            # most frequent first
    assert "unsupported (4 op types, 8 nodes):" in out
    assert "com.microsoft::FusedGemm" in out and "checker:     passed" in out
    code, out, _ = aicc(capsys, "inspect", path, "--json")
    data = json.loads(out)
    assert data["num_parameters"] == 5050 and data["op_counts"][0] == ["LRN", 5]
    assert {u[0] for u in data["unsupported"]} == {"LRN", "Einsum", "com.microsoft::FusedGemm",
                                                   "ai.onnx.ml::Normalizer"}


def test_inspect_reports_checker_failures_instead_of_failing():
    m = mlp()
    m.graph.node[0].attribute.append(h.make_attribute("bogus", 1))
    s = inspect_onnx(m)
    assert s.checker.startswith("failed: ") and "bogus" in s.checker
    assert s.num_nodes == 5 and s.unsupported == []
