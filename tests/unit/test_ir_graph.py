"""Graph construction and editing keep use lists and names right."""
import numpy as np
import pytest

from backends.reference import run_graph
from compiler import Graph, TensorType
from compiler.ir.verifier import verify


def small_graph():
    g = Graph("g")
    x = g.add_input("x", TensorType("f32", (2, 3)))
    w = g.add_constant(np.arange(3, dtype=np.float32), "w")
    a = g.op("Add", x, w)
    r = g.op("Relu", a)
    g.set_outputs([r])
    return g, x, w, a, r


def test_use_lists_track_operands():
    g, x, w, a, r = small_graph()
    assert x.uses == [(a.producer, 0)] and w.uses == [(a.producer, 1)]
    assert a.users == [r.producer]
    assert r.producer.inputs == [a]


def test_replace_all_uses_with_updates_nodes_and_outputs():
    g, x, w, a, r = small_graph()
    n = g.replace_all_uses_with(r, a)
    assert n == 1 and g.outputs == [a]
    n = g.replace_all_uses_with(a, x)
    assert n == 2  # the Relu operand and the graph output
    assert r.producer.inputs[0] is x and g.outputs == [x]
    assert a.uses == [] and (r.producer, 0) in x.uses


def test_erase_refuses_used_node_and_cleans_uses():
    g, x, w, a, r = small_graph()
    with pytest.raises(ValueError, match="still used"):
        g.erase_node(a.producer)
    g.set_outputs([a])
    g.erase_node(r.producer)
    assert a.uses == [] and len(g.nodes) == 1
    verify(g)


def test_inserting_before_places_nodes_in_order():
    g, x, w, a, r = small_graph()
    with g.inserting_before(r.producer):
        n = g.op("Add", a, a)
    r.producer.set_input(0, n)
    assert [nd.op for nd in g.nodes] == ["Add", "Add", "Relu"]
    verify(g)
    out = run_graph(g, {"x": np.ones((2, 3), np.float32)})[r.name]
    np.testing.assert_allclose(out, np.tile(2 * (1 + np.arange(3)), (2, 1)))


def test_inserting_after():
    g, x, w, a, r = small_graph()
    with g.inserting_after(a.producer):
        b = g.op("Relu", a)
    assert g.nodes[1] is b.producer
    verify(g)


def test_names_are_unique_and_fresh():
    g, x, *_ = small_graph()
    with pytest.raises(ValueError, match="already used"):
        g.add_input("x", TensorType("f32", (1,)))
    c1 = g.add_constant(np.zeros(2, np.float32), "w")
    assert c1.name == "w_1"


def test_constants_are_not_copied_and_read_only():
    g = Graph()
    data = np.ones((4, 4), np.float32)
    c = g.add_constant(data)
    assert np.shares_memory(c.data, data)
    with pytest.raises(ValueError):
        c.data[0, 0] = 5
    assert data.flags.writeable  # the caller's array is untouched


def test_clone_is_independent_and_shares_weights():
    g, *_ = small_graph()
    h = g.clone()
    assert str(h) == str(g)
    h.erase_node(h.nodes[-1]) if False else None
    h.set_outputs([h.nodes[0].output])
    h.erase_node(h.nodes[1])
    assert len(g.nodes) == 2 and len(h.nodes) == 1
    assert np.shares_memory(h.constants[0].data, g.constants[0].data)


def test_symbolic_dims_propagate():
    g = Graph()
    x = g.add_input("x", TensorType("f32", ("N", 3)))
    y = g.add_input("y", TensorType("f32", (1, 3)))
    assert g.op("Add", x, y).type == TensorType("f32", ("N", 3))


def test_tensor_type_validation():
    with pytest.raises(ValueError, match="negative"):
        TensorType("f32", (-1,))
    with pytest.raises(ValueError, match="unknown dtype|no IR dtype"):
        TensorType("f33", (1,))
    assert TensorType("i64", ()).numel == 1
    assert TensorType("f16", (2, 3)).nbytes == 12
    with pytest.raises(ValueError, match="symbolic"):
        TensorType("f32", ("N",)).numel
