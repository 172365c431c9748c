"""The lowering framework: compute-rule inlining, fused groups, output plumbing, the memory
plan's arena, error messages. Kernel-rule families have their own test files."""
import numpy as np
import pytest

from compiler.ir.graph import Graph
from compiler.ir.types import TensorType
from passes.lower import LowerTarget, LoweringError, lower_graph

from .util import check_against_reference, compile_graph, run_compiled


def _chain():
    g = Graph("chain")
    x = g.add_input("x", TensorType("f32", (4, 37)))
    y = g.add_input("y", TensorType("f32", (37,)))
    a = g.op("Add", x, y)
    b = g.op("Relu", a)
    c = g.op("Gelu", b)
    d = g.op("Mul", c, x)
    g.set_outputs([g.op("Sigmoid", d), b], ["out", "relu"])
    return g


@pytest.mark.parametrize("passes", ["", "fuse,memory-plan", "fold-constants,cse,dce,fuse"])
def test_elementwise_chain(passes):
    check_against_reference(_chain(), passes)


def test_fused_group_is_one_kernel_and_inlines_its_body():
    g = _chain()
    lm = check_against_reference(g, "fuse,memory-plan")
    kernels = [f for f in lm.funcs if f.name != "main"]
    assert len(kernels) == 1
    from compiler.loop.visitor import buffers_used
    assert all(b.scope == "param" for b in buffers_used(kernels[0].body))   # no intermediates
    assert str(kernels[0]).count("for %i1") == 2            # one nest per group result


def test_outputs_that_are_inputs_constants_or_repeated():
    g = Graph("plumbing")
    x = g.add_input("x", TensorType("f32", (3, 5)))
    c = g.add_constant(np.arange(6, dtype=np.float32).reshape(2, 3), "c")
    r = g.op("Relu", x)
    g.set_outputs([x, c, r, r], ["same_x", "const", "r1", "r2"])
    check_against_reference(g)


def test_arena_buffers_use_the_memory_plan_offsets():
    g = _chain()
    lm = check_against_reference(g, "memory-plan")
    plan = g.attrs["memory_plan"]
    arena = {b.name: b.offset for b in lm.buffers if b.scope == "arena"}
    assert arena and all(plan["offsets"][n] == off for n, off in arena.items()
                         if n in plan["offsets"])
    assert lm.arena_size >= plan["arena_bytes"]


def test_integer_division_by_zero_does_not_trap():
    g = Graph("idiv")
    a = g.add_input("a", TensorType("i32", (6,)))
    b = g.add_input("b", TensorType("i32", (6,)))
    g.set_outputs([g.op("Div", a, b), g.op("Mod", a, b)], ["q", "r"])
    feeds = {"a": np.array([7, -7, 7, -7, 5, 3], np.int32),
             "b": np.array([2, 2, -2, -2, 0, 0], np.int32)}
    _, cm = compile_graph(g, bounds_check=False)
    got = run_compiled(cm, g, feeds)
    np.testing.assert_array_equal(got["q"], [3, -3, -3, 3, 0, 0])    # C truncation, x/0 = 0
    np.testing.assert_array_equal(got["r"], [1, 1, -1, -1, 0, 0])    # floor mod (fmod=0)


@pytest.mark.parametrize("src,dst", [("f64", 10), ("i64", 10), ("f16", 7), ("f16", 11),
                                     ("f32", 9), ("u8", 1)])
def test_casts(src, dst):
    g = Graph("cast")
    x = g.add_input("x", TensorType(src, (3, 9)))
    g.set_outputs([g.op("Cast", x, to=dst)], ["y"])
    check_against_reference(g, rtol=1e-3)


def test_float16_math_runs_in_float32():
    g = Graph("half")
    x = g.add_input("x", TensorType("f16", (2, 33)))
    g.set_outputs([g.op("Tanh", g.op("Exp", x))], ["y"])
    check_against_reference(g, "fuse", rtol=2e-3, atol=1e-3)


def test_broadcasting_in_every_position():
    g = Graph("bcast")
    a = g.add_input("a", TensorType("f32", (2, 1, 5, 1)))
    b = g.add_input("b", TensorType("f32", (3, 1, 7)))
    c = g.add_input("c", TensorType("f32", ()))
    g.set_outputs([g.op("Where", g.op("Less", a, b), g.op("Sub", a, c), b)], ["y"])
    check_against_reference(g, "fuse")


def test_unsupported_ops_are_listed_in_one_error(monkeypatch):
    from passes.lower import registry
    g = Graph("bad")
    x = g.add_input("x", TensorType("f32", (4,)))
    g.set_outputs([g.op("Relu", g.op("Exp", x))], ["y"])
    monkeypatch.delitem(registry.COMPUTE_RULES, "Exp")
    monkeypatch.delitem(registry.COMPUTE_RULES, "Relu")
    with pytest.raises(LoweringError, match=r"no loop lowering for: Exp \(1x.*Relu \(1x"):
        lower_graph(g)


def test_symbolic_shapes_are_refused_with_a_hint():
    g = Graph("dyn")
    x = g.add_input("x", TensorType("f32", ("N", 4)))
    g.set_outputs([g.op("Relu", x)], ["y"])
    with pytest.raises(LoweringError, match="input_shapes"):
        lower_graph(g)


def test_parallel_loops_only_for_big_tensors():
    g = Graph("big")
    x = g.add_input("x", TensorType("f32", (64, 1024)))
    g.set_outputs([g.op("Relu", x)], ["y"])
    lm = lower_graph(g, LowerTarget(num_threads=2))
    assert "parallel" in str(lm)
    assert "parallel" not in str(lower_graph(_chain(), LowerTarget(num_threads=2)))
    assert "parallel" not in str(lower_graph(g, LowerTarget(num_threads=1)))
    check_against_reference(g)
