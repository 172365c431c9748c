"""FusedGroup: its shape rule is the body's signature, its semantics the body's evaluation."""
import numpy as np
import pytest

from backends.reference import run_graph
from compiler import Graph, ShapeInferenceError, TensorType
from compiler.ir.parser import parse_graph
from compiler.ir.printer import print_graph
from compiler.ir.verifier import verify


def body_graph():
    b = Graph("fused_add_relu")
    p0 = b.add_input("p0", TensorType("f32", (2, 3)))
    p1 = b.add_input("p1", TensorType("f32", (3,)))
    b.set_outputs([b.op("Relu", b.op("Add", p0, p1))])
    return b


def test_fused_group_runs_its_body_and_round_trips():
    g = Graph()
    x = g.add_input("x", TensorType("f32", (2, 3)))
    w = g.add_constant(np.array([1.0, -2.0, 0.5], np.float32), "w")
    y = g.op("FusedGroup", x, w, body=body_graph(), kind="broadcast")
    g.set_outputs([y])
    verify(g)
    xv = np.array([[0, 1, 2], [-3, 4, 5]], np.float32)
    np.testing.assert_array_equal(run_graph(g, {"x": xv})[y.name], np.maximum(xv + w.data, 0))
    text = print_graph(g)
    assert "body = graph @fused_add_relu(%p0: f32[2,3], %p1: f32[3])" in text
    assert print_graph(parse_graph(text)) == text


def test_fused_group_operands_must_match_body():
    g = Graph()
    x = g.add_input("x", TensorType("f32", (4, 3)))
    w = g.add_constant(np.zeros(3, np.float32), "w")
    with pytest.raises(ShapeInferenceError, match=r"operand 0 is f32\[4,3\], body parameter %p0 is f32\[2,3\]"):
        g.op("FusedGroup", x, w, body=body_graph())
    with pytest.raises(ShapeInferenceError, match="takes 2 inputs"):
        g.op("FusedGroup", x, body=body_graph())
