"""Bad ONNX input: every case is one line naming the file and the node or tensor at fault, an
AiccError subclass from the API, and exit code 2 without a traceback from `aicc import`."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

from compiler.cli.main import main
from compiler.errors import AiccError, ShapeInferenceError, UnsupportedError
from frontends.onnx import OnnxImportError, import_onnx


def add_model(nodes=None, inits=None, inputs=None, opsets=(("", 13),)):
    """x + w, with pieces swapped out to break it."""
    x = h.make_tensor_value_info("x", T.FLOAT, [2, 3])
    y = h.make_tensor_value_info("y", T.FLOAT, [2, 3])
    nodes = nodes or [h.make_node("Add", ["x", "w"], ["y"], name="add1")]
    inits = inits if inits is not None else [nh.from_array(np.ones((2, 3), np.float32), "w")]
    g = h.make_graph(nodes, "g", inputs or [x], [y], inits)
    return h.make_model(g, opset_imports=[h.make_opsetid(d, v) for d, v in opsets], ir_version=8)


def save(tmp_path, m, name="bad.onnx"):
    path = tmp_path / name
    onnx.save(m, str(path))
    return path


def cli_fails(capsys, path, *extra):
    """`aicc import` fails cleanly: exit 2, one line on stderr naming the file."""
    code = main(["import", str(path), *extra])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "Traceback" not in err and err.count("\n") == 1
    assert err.startswith("aicc import: error: ") and str(path) in err
    return err


def _raw_too_short():
    w = nh.from_array(np.ones((2, 3), np.float32), "w")
    w.raw_data = w.raw_data[:-4]
    return add_model(inits=[w])


def _float_data_too_short():
    return add_model(inits=[onnx.TensorProto(name="w", data_type=T.FLOAT, dims=[2, 3],
                                             float_data=[1.0, 2.0, 3.0])])


# (id, model builder, error class, message fragments), checked through the API on a saved file
# and through the CLI. check=True / False exercises both onnx.checker and our own checks.
CASES = [
    ("checker", lambda: add_model([h.make_node("Concat", ["x", "w"], ["y"], name="cat")]),
     OnnxImportError, ["invalid ONNX model (onnx.checker)", "Required attribute 'axis' is missing",
                       "Name: cat"]),
    ("missing-input", lambda: add_model([h.make_node("Add", ["x", "nope"], ["y"], name="add1")]),
     OnnxImportError, ["node 'add1' (Add) input 1 'nope' is not produced by any node, graph "
                       "input or initializer"]),
    ("unknown-domain", lambda: add_model([h.make_node("Foo", ["x"], ["y"], name="foo",
                                                      domain="my.ops")]),
     OnnxImportError, ["node 'foo' (Foo) uses domain 'my.ops', which the model does not import "
                       "(opset_import has: ai.onnx 13)"]),
    ("raw-data-size", _raw_too_short, OnnxImportError,
     ["TensorProto (tensor name: w) raw_data size (20 bytes) is too small"]),
    ("float-data-size", _float_data_too_short, OnnxImportError,
     ["(tensor name: w) float_data size (3) is too small"]),
    ("string-initializer", lambda: add_model(inits=[h.make_tensor("w", T.STRING, [1], [b"a"])]),
     UnsupportedError, ["initializer 'w' has element type STRING, which aicc does not support"]),
    ("complex-initializer", lambda: add_model(inits=[h.make_tensor("w", T.COMPLEX64, [2, 3],
                                                                   np.ones(6, np.complex64))]),
     UnsupportedError, ["initializer 'w' has element type COMPLEX64"]),
    ("bfloat16-input", lambda: add_model(inputs=[h.make_tensor_value_info("x", T.BFLOAT16,
                                                                          [2, 3])]),
     UnsupportedError, ["input 'x' has element type BFLOAT16", "supported: FLOAT"]),
    ("shape-rule", lambda: add_model(inits=[nh.from_array(np.ones((4, 3), np.float32), "w")]),
     ShapeInferenceError, ["node 'add1' (Add, opset 13): shapes do not broadcast: [2, 3] vs "
                           "[4, 3]"]),
    ("cast-to-bfloat16", lambda: add_model([h.make_node("Cast", ["x"], ["c"], name="cast",
                                                        to=T.BFLOAT16),
                                            h.make_node("Cast", ["c"], ["y"], to=T.FLOAT)]),
     UnsupportedError, ["node 'cast' (Cast, opset 13): casts to BFLOAT16, which aicc does not "
                        "support"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_model(case, tmp_path, capsys):
    _, build, cls, fragments = case
    path = save(tmp_path, build())
    with pytest.raises(cls) as e:
        import_onnx(path)
    msg = str(e.value)
    assert isinstance(e.value, AiccError) and msg.startswith(f"{path}: ") and "\n" not in msg
    for f in fragments:
        assert f in msg, (f, msg)
    err = cli_fails(capsys, path)
    for f in fragments:
        assert f in err


@pytest.mark.parametrize("build,fragment", [
    (_raw_too_short, "initializer 'w': its data does not match its declared shape [2, 3] and type "
                     "FLOAT (expected 6 elements = 24 bytes, found 20 bytes of raw data)"),
    (_float_data_too_short, "initializer 'w': its data does not match its declared shape [2, 3] "
                            "and type FLOAT (expected 6 elements = 24 bytes, found 3 values in "
                            "float_data)"),
])
def test_data_mismatch_without_the_checker(build, fragment, tmp_path, capsys):
    path = save(tmp_path, build())
    with pytest.raises(OnnxImportError, match=r"^" + str(path).replace("\\", r"\\")) as e:
        import_onnx(path, check=False)
    assert fragment in str(e.value)
    assert fragment in cli_fails(capsys, path, "--no-check")


@pytest.mark.parametrize("content,fragment", [
    ("half", "not a readable ONNX model (DecodeError"),
    (b"this is a text file, not a model\n", "not a readable ONNX model"),
    (b"", "not an ONNX model (it has no graph)"),
])
def test_truncated_or_non_onnx_file(content, fragment, tmp_path, capsys):
    path = tmp_path / "m.onnx"
    if content == "half":
        data = add_model().SerializeToString()
        content = data[: len(data) // 2]
    path.write_bytes(content)
    with pytest.raises(OnnxImportError) as e:
        import_onnx(path)
    assert str(e.value).startswith(f"{path}: ") and fragment in str(e.value)
    assert "truncated or not an ONNX file" in str(e.value)
    assert fragment in cli_fails(capsys, path)


def test_missing_file_and_directory(tmp_path, capsys):
    assert "no such file" in cli_fails(capsys, tmp_path / "nope.onnx")
    assert "is a directory" in cli_fails(capsys, tmp_path)


def test_external_data_file_missing(tmp_path, capsys):
    path = tmp_path / "ext.onnx"
    onnx.save_model(add_model(), str(path), save_as_external_data=True, location="ext.bin",
                    size_threshold=0)
    (tmp_path / "ext.bin").unlink()
    with pytest.raises(OnnxImportError, match="tensor name: w"):
        import_onnx(path)
    with pytest.raises(OnnxImportError) as e:
        import_onnx(path, check=False)
    assert "initializer 'w': cannot read its external data 'ext.bin'" in str(e.value)
    assert "cannot read its external data" in cli_fails(capsys, path, "--no-check")


def test_unsupported_ops_through_the_cli(tmp_path, capsys):
    nodes = [h.make_node("LRN", ["x"], ["a"], name="lrn", size=3),
             h.make_node("LRN", ["a"], ["b"], name="lrn2", size=3),
             h.make_node("Einsum", ["b"], ["y"], name="ein", equation="ij->ij")]
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, [2, 3])],
                     [h.make_tensor_value_info("y", T.FLOAT, [2, 3])])
    path = save(tmp_path, h.make_model(g, opset_imports=[h.make_opsetid("", 13)], ir_version=8))
    err = cli_fails(capsys, path)
    assert "the model uses 2 operators aicc cannot import (3 nodes)" in err
    assert "LRN x2" in err and "nodes 'lrn', 'lrn2'" in err and "Einsum x1" in err


def test_debug_flag_shows_the_traceback(tmp_path):
    path = save(tmp_path, add_model([h.make_node("Add", ["x", "nope"], ["y"], name="add1")]))
    with pytest.raises(OnnxImportError, match="'nope' is not produced"):
        main(["import", str(path), "--debug"])


def test_errors_name_in_memory_models_by_graph():
    with pytest.raises(OnnxImportError, match=r"^<ModelProto 'g'>: node 'add1' \(Add\) input 1"):
        import_onnx(add_model([h.make_node("Add", ["x", "nope"], ["y"], name="add1")]))
    with pytest.raises(OnnxImportError, match="cannot import an object of type int"):
        import_onnx(42)


def test_non_tensor_inputs_and_string_constants_are_unsupported():
    seq = h.make_tensor_sequence_value_info("x", T.FLOAT, [2, 3])
    m = add_model([h.make_node("SequenceAt", ["x", "i"], ["y"], name="at")],
                  inits=[nh.from_array(np.array(0, np.int64), "i")], inputs=[seq])
    with pytest.raises(UnsupportedError, match="SequenceAt x1"):
        import_onnx(m)
    m = add_model([h.make_node("Constant", [], ["s"], name="str", value_string="hi"),
                   h.make_node("Identity", ["x"], ["y"])])
    with pytest.raises(UnsupportedError, match="node 'str' \\(Constant, opset 13\\): string "
                                               "constants are not supported"):
        import_onnx(m)


def test_model_without_default_opset_or_graph_outputs():
    m = add_model(opsets=(("com.microsoft", 1),))
    with pytest.raises(OnnxImportError, match="imports no opset of the default ONNX domain "
                                              r"\(opset_import has: com.microsoft 1\), but uses"):
        import_onnx(m)
    m = add_model([h.make_node("Binarizer", ["x"], ["y"], name="bin", domain="ai.onnx.ml")],
                  opsets=(("ai.onnx.ml", 1),))
    with pytest.raises(UnsupportedError, match="ai.onnx.ml::Binarizer x1"):
        import_onnx(m)
    m = add_model()
    m.graph.output[0].name = "zz"
    with pytest.raises(OnnxImportError, match="graph output 'zz' is not produced"):
        import_onnx(m)


def test_opset_newer_than_the_installed_onnx():
    m = add_model()
    m.opset_import[0].version = onnx.defs.onnx_opset_version() + 1
    with pytest.raises(OnnxImportError, match=f"opset {m.opset_import[0].version} of the default "
                                              f"ONNX domain, but the installed onnx package"):
        import_onnx(m)


def test_unsorted_and_duplicate_outputs_without_the_checker():
    m = add_model([h.make_node("Relu", ["t"], ["y"], name="late"),
                   h.make_node("Add", ["x", "w"], ["t"], name="early")])
    with pytest.raises(OnnxImportError, match="topologically sorted"):
        import_onnx(m)
    with pytest.raises(OnnxImportError, match=r"node 'late' \(Relu, opset 13\): input 0 't' is "
                                              r"used before the node that produces it"):
        import_onnx(m, check=False)
    m = add_model([h.make_node("Add", ["x", "w"], ["y"], name="a"),
                   h.make_node("Relu", ["x"], ["y"], name="b")])
    with pytest.raises(OnnxImportError, match=r"node 'b' \(Relu, opset 13\): output 0 'y' is "
                                              r"already produced"):
        import_onnx(m, check=False)


def test_declared_output_type_must_match():
    m = add_model()
    m.graph.output[0].type.tensor_type.elem_type = T.INT64
    with pytest.raises(OnnxImportError, match="graph output 'y' is declared INT64 but its "
                                              "producer computes f32"):
        import_onnx(m, check=False)
