"""Printer and parser: round trips, literal forms, weights on disk, and parse errors."""
import numpy as np
import pytest

from compiler import Graph, IRParseError, TensorType
from compiler.ir.parser import parse_graph
from compiler.ir.printer import print_graph
from compiler.ir.serialize import load_graph, save_graph
from compiler.ir.verifier import verify


def assert_round_trip(g, weights=None):
    text = print_graph(g)
    again = print_graph(parse_graph(text, g.weights() if weights is None else weights))
    assert again == text
    full = print_graph(g, elide_large=False)
    assert print_graph(parse_graph(full), elide_large=False) == full
    return text


def test_round_trip_with_every_dtype_and_odd_names():
    g = Graph("all dtypes")
    outs = []
    for i, dt in enumerate(["f16", "f32", "f64", "i8", "i16", "i32", "i64", "u8", "bool"]):
        x = g.add_input(f"in/{i}:0", TensorType(dt, ("N", 2)))
        c = g.add_constant(np.ones((1, 2), dtype=x.type.dtype.np_dtype), f"c {i}")
        outs.append(x if dt == "bool" else g.op("Add", x, c))
    g.set_outputs(outs)
    text = assert_round_trip(g)
    assert '%"in/0:0": f16[N,2]' in text and 'graph @"all dtypes"' in text


def test_float_values_round_trip_exactly():
    vals = np.array([0.1, -2.5e-8, 1e20, np.inf, -np.inf, 3.0, np.float32(1 / 3)], np.float32)
    g = Graph()
    x = g.add_input("x", TensorType("f32", (7,)))
    c = g.add_constant(vals, "v")
    g.set_outputs([g.op("Add", x, c)])
    g2 = parse_graph(print_graph(g, elide_large=False))
    np.testing.assert_array_equal(g2.constants[0].data, vals)


def test_nan_and_splat_and_scalar_literals():
    g = Graph()
    x = g.add_input("x", TensorType("f64", (3,)))
    n = g.add_constant(np.array([np.nan, 1.0, 2.0]), "n")
    s = g.add_constant(np.full((40,), 7.0), "s")
    z = g.add_constant(np.array(5.0), "z")
    g.set_outputs([g.op("Add", g.op("Add", x, n), g.op("Add", s[0:3] if False else z, z))])
    text = print_graph(g)
    assert "dense<7.0> : f64[40]" in text and "dense<5.0> : f64[]" in text
    g2 = parse_graph(text)
    assert np.isnan(g2.constants[0].data[0]) and g2.constants[1].data.shape == (40,)


def test_attributes_of_every_kind_round_trip():
    g = Graph()
    x = g.add_input("x", TensorType("f32", (2,)))
    node = g.create_node("Relu", [x], {"i": -3, "f": 0.5, "s": 'a "quoted"\nstring', "ints": [1, -2],
                                        "floats": [1.0, 2.5], "strs": ["a", "b"], "empty": [],
                                        "t": np.arange(4, dtype=np.int64).reshape(2, 2)},
                         [TensorType("f32", (2,))])
    g.set_outputs(node.outputs)
    text = print_graph(g)
    g2 = parse_graph(text)
    assert print_graph(g2) == text
    a = g2.nodes[0].attrs
    assert a["i"] == -3 and a["f"] == 0.5 and a["s"] == 'a "quoted"\nstring'
    assert a["ints"] == [1, -2] and a["floats"] == [1.0, 2.5] and a["strs"] == ["a", "b"]
    np.testing.assert_array_equal(a["t"], np.arange(4).reshape(2, 2))


def test_subgraph_attribute_round_trips():
    body = Graph("body")
    p = body.add_input("p", TensorType("f32", (2,)))
    body.set_outputs([body.op("Relu", p)])
    g = Graph()
    x = g.add_input("x", TensorType("f32", (2,)))
    n = g.create_node("Relu", [x], {"body": body}, [TensorType("f32", (2,))], name="with body")
    g.set_outputs(n.outputs)
    text = print_graph(g)
    assert "graph @body(%p: f32[2])" in text
    assert print_graph(parse_graph(text)) == text


def test_absent_operands_and_multiple_results_and_locations():
    text = """graph @m(%x: f32[2]) {
  %a, %b = Relu(%x, _) : f32[2], f32[2] loc("two results")
  return %a, %b
}
"""
    g = parse_graph(text)
    assert g.nodes[0].inputs[1] is None and g.nodes[0].name == "two results"
    assert print_graph(g) == text


def test_save_and_load_with_weights(tmp_path):
    g = Graph()
    x = g.add_input("x", TensorType("f32", (8, 8)))
    w = g.add_constant(np.random.default_rng(0).standard_normal((8, 8)).astype(np.float32), "w.0")
    g.set_outputs([g.op("Add", x, w)])
    files = save_graph(g, tmp_path / "m.ir")
    assert [f.name for f in files] == ["m.ir", "m.npz"]
    assert "const @w.0 : f32[8,8]" in (tmp_path / "m.ir").read_text()
    g2 = load_graph(tmp_path / "m.ir")
    verify(g2)
    np.testing.assert_array_equal(g2.constants[0].data, w.data)
    assert print_graph(g2) == print_graph(g)


@pytest.mark.parametrize("text, line, col, expected", [
    ("graph @m(%x: f32[2]) {\n  %y = Relu(%z) : f32[2]\n  return %y\n}", 2, 13, "undefined value %z"),
    ("graph @m(%x: f33[2]) {}", 1, 14, "expected a tensor type"),
    ("graph @m(%x: f32[2]) {\n  %y = Relu(%x) : f32[2]\n", 3, 1, "expected a statement"),
    ("graph @m(%x: f32[2]) {\n  %y = Relu(%x) {a = } : f32[2]\n  return %y\n}", 2, 22, "expected a number"),
    ("graph @m(%x: f32[2]) {\n  %y = const @w : f32[2]\n  return %y\n}", 2, 14, "weight @w, which was not supplied"),
    ("graph @m(%x: f32[2]) {\n  %x = Relu(%x) : f32[2]\n  return %x\n}", 2, 3, "defined twice"),
    ("graph @m(%x: f32[2]) {\n  %y = const dense<[1, 2, 3]> : f32[2]\n  return %y\n}", 2, 20, "literal has shape [3]"),
    ("graph @m(%x: f32[2]) { %y = Relu(%x) : f32[2] return %y } trailing", 1, 59, "end of input"),
    ("graph @m(%x: f32[2]) { %y = Relu(%x) ! }", 1, 38, "unexpected character"),
])
def test_parse_errors_name_line_column_and_expectation(text, line, col, expected):
    with pytest.raises(IRParseError) as e:
        parse_graph(text, source_name="t.ir")
    assert (e.value.line, e.value.col) == (line, col), str(e.value)
    assert expected in str(e.value) and str(e.value).startswith(f"t.ir:{line}:{col}:")


def test_output_names_survive_replacement_and_round_trip():
    g = Graph()
    x = g.add_input("x", TensorType("f32", (2,)))
    y = g.op("Relu", x)
    g.rename(y, "probs")
    g.set_outputs([y])
    g.replace_all_uses_with(y, x)
    assert g.output_names == ["probs"] and g.outputs == [x]
    text = print_graph(g)
    assert 'return %x as "probs"' in text
    g2 = parse_graph(text)
    assert g2.output_names == ["probs"] and print_graph(g2) == text


def test_dict_attributes_round_trip():
    g = Graph()
    x = g.add_input("x", TensorType("f32", (2,)))
    g.set_outputs([g.op("Relu", x)])
    g.attrs["memory_plan"] = {"arena_bytes": 128, "offsets": {"0": 0, "a b": 64}, "note": "x"}
    text = print_graph(g)
    assert 'attributes {memory_plan = {arena_bytes = 128, offsets = {"0" = 0, "a b" = 64}' in text
    g2 = parse_graph(text)
    assert g2.attrs == g.attrs and print_graph(g2) == text
