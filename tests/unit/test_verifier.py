"""Each verifier invariant rejects a broken graph with a message naming the node."""
import numpy as np
import pytest

from compiler import Graph, TensorType, VerificationError
from compiler.ir.graph import Node, Value
from compiler.ir.verifier import verify


def build():
    g = Graph()
    x = g.add_input("x", TensorType("f32", (2, 3)))
    a = g.op("Add", x, x, name="add0")
    r = g.op("Relu", a, name="relu0")
    g.set_outputs([r])
    return g, x, a, r


def test_valid_graph_passes():
    verify(build()[0])


def test_wrong_result_type_is_rejected():
    g, x, a, r = build()
    r.type = TensorType("f32", (3, 2))
    with pytest.raises(VerificationError, match=r"Relu node 'relu0'.*declared f32\[3,2\].*gives f32\[2,3\]"):
        verify(g)


def test_wrong_dtype_is_rejected():
    g, x, a, r = build()
    a.type = TensorType("f64", (2, 3))
    with pytest.raises(VerificationError, match="add0"):
        verify(g)


def test_use_before_definition_is_rejected():
    g, x, a, r = build()
    g.nodes.reverse()
    with pytest.raises(VerificationError, match=r"Add node 'add0'|Relu node 'relu0'.*before it is defined"):
        verify(g)


def test_dangling_use_is_rejected():
    g, x, a, r = build()
    stray = Node("Relu", name="stray")
    stray.inputs.append(None)
    stray.set_input(0, x)   # a use by a node that is not in the graph
    with pytest.raises(VerificationError, match="dangling use by Relu node 'stray'"):
        verify(g)


def test_missing_use_is_rejected():
    g, x, a, r = build()
    a.uses.clear()
    with pytest.raises(VerificationError, match="relu0.*missing from its use list"):
        verify(g)


def test_undefined_operand_is_rejected():
    g, x, a, r = build()
    other = Value("ghost", TensorType("f32", (2, 3)))
    r.producer.set_input(0, other)
    with pytest.raises(VerificationError, match="relu0.*%ghost.*not defined"):
        verify(g)


def test_duplicate_names_are_rejected():
    g, x, a, r = build()
    r.name = "x"
    with pytest.raises(VerificationError, match="%x is defined more than once"):
        verify(g)


def test_unknown_op_and_attribute_and_arity():
    g, x, a, r = build()
    r.producer.op = "Frobnicate"
    with pytest.raises(VerificationError, match="unknown op 'Frobnicate'"):
        verify(g)
    g, x, a, r = build()
    r.producer.attrs["alpha"] = 1.0
    with pytest.raises(VerificationError, match="relu0.*unknown attribute 'alpha'"):
        verify(g)
    g, x, a, r = build()
    r.producer._append_input(x)
    with pytest.raises(VerificationError, match="relu0.*2 operands"):
        verify(g)


def test_undefined_output_and_no_outputs():
    g, x, a, r = build()
    g.set_outputs([Value("nowhere", TensorType("f32", (1,)))])
    with pytest.raises(VerificationError, match="output %nowhere"):
        verify(g)
    g.set_outputs([])
    with pytest.raises(VerificationError, match="no outputs"):
        verify(g)


def test_constant_data_must_match_type():
    g, x, a, r = build()
    c = g.add_constant(np.zeros(3, np.float32), "c")
    c.type = TensorType("f32", (4,))
    with pytest.raises(VerificationError, match="constant %c"):
        verify(g)


def test_shape_rule_violation_is_rejected():
    g, x, a, r = build()
    y = g.add_input("y", TensorType("f32", (4, 5)))
    a.producer.set_input(1, y)   # Add of [2,3] and [4,5] does not broadcast
    with pytest.raises(VerificationError, match="add0.*broadcast"):
        verify(g)
