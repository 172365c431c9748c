"""The memory-plan pass: plans verify on realistic graphs, running a graph *out of its arena*
(every intermediate read from and written to its planned bytes) gives the interpreter's outputs,
the arena target (<= 50% of all intermediate bytes) on ResNet-style and transformer graphs,
greedy-by-size vs best-fit vs naive, and property tests on random DAGs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.reference import run_graph
from compiler.errors import PassError, VerificationError
from compiler.ir.evaluate import evaluate_node
from compiler.ir.parser import parse_graph
from compiler.ir.printer import print_graph
from compiler.transform import PassContext, PassManager
from passes.graph.memory_plan import make_plan, plan_report, verify_memory_plan
from tests.passes._fuse_memplan_graphs import (mobilenet_block_graph, random_dag, random_feeds,
                                               resnet_graph, transformer_graph)

ALGORITHMS = ("greedy-by-size", "best-fit", "naive")


def run_passes(graph, pipeline):
    with PassContext(opt_level=2, debug=True, log_stream=_Null()) as ctx:
        PassManager(pipeline).run(graph, ctx)
    return [str(r) for r in ctx.logs]


class _Null:
    def write(self, _):
        pass


def fused(graph):
    run_passes(graph, "fuse")
    return graph


def run_in_arena(graph, feeds, seed=0):
    """Execute `graph` keeping every planned value only in its bytes of one arena (that starts
    out as garbage): a plan that lets two live values share bytes corrupts the outputs."""
    plan = graph.attrs["memory_plan"]
    offsets = plan["offsets"]
    arena = np.random.default_rng(seed).integers(0, 256, plan["arena_bytes"], dtype=np.uint8)
    env = {id(v): np.asarray(feeds[v.name]) for v in graph.inputs}
    env.update((id(c), c.data) for c in graph.constants)

    def read(v):
        if v.name not in offsets:
            return env[id(v)]
        off, n = offsets[v.name], v.type.nbytes
        return arena[off:off + n].view(v.dtype.np_dtype).reshape(v.shape).copy()

    for node in graph.nodes:
        args = [read(v) if v is not None else None for v in node.inputs]
        for o, r in zip(node.outputs, evaluate_node(node, args)):
            if o.name in offsets:
                off = offsets[o.name]
                arena[off:off + o.type.nbytes] = np.ascontiguousarray(r).view(np.uint8).reshape(-1)
            else:
                env[id(o)] = r
    return dict(zip(graph.output_names, (read(v) for v in graph.outputs)))


def plan_and_check(graph, algorithm="greedy-by-size", inplace=True, alignment=64):
    run_passes(graph, f"memory-plan{{algorithm={algorithm} inplace={str(inplace).lower()} "
                      f"alignment={alignment}}}")
    verify_memory_plan(graph)
    plan = graph.attrs["memory_plan"]
    assert plan["naive_peak_bytes"] <= plan["arena_bytes"]
    assert plan["total_bytes"] == sum(plan["sizes"].values())
    feeds = random_feeds(graph)
    want, got = run_graph(graph, feeds), run_in_arena(graph, feeds)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    return plan


REALISTIC = {
    "resnet": lambda: resnet_graph(),
    "resnet18": lambda: resnet_graph(hw=32, stages=4),
    "mobilenet_v2_block": mobilenet_block_graph,
    "transformer": transformer_graph,
    "transformer_decomposed": lambda: transformer_graph(decomposed=True),
}


@pytest.mark.parametrize("name", sorted(REALISTIC))
@pytest.mark.parametrize("fuse_first", [False, True])
def test_realistic_graphs_run_out_of_their_arena(name, fuse_first):
    g = REALISTIC[name]()
    if fuse_first:
        fused(g)
    for algorithm in ALGORITHMS:
        for inplace in (True, False):
            plan_and_check(g, algorithm, inplace)


# ---- the arena target ---------------------------------------------------------------------------
def ratios(graph):
    out = {}
    for algorithm in ALGORITHMS:
        p = make_plan(graph, 64, algorithm, True)
        out[algorithm] = p["arena_bytes"] / p["total_bytes"]
    p = make_plan(graph)
    out["lower_bound"] = p["naive_peak_bytes"] / p["total_bytes"]
    return out


def test_arena_target_on_resnet_and_transformer_graphs():
    """arena <= 50% of the sum of all intermediates, before and after fusion (fusion removes
    the short-lived intermediates, so the ratio rises: the plan then packs fewer, larger values)."""
    measured = {}
    for name in ("resnet18", "transformer"):
        for fuse_first in (False, True):
            g = REALISTIC[name]()
            if fuse_first:
                fused(g)
            measured[name, fuse_first] = r = ratios(g)
            assert r["greedy-by-size"] <= 0.5, (name, fuse_first, r)
    # recorded numbers (see the pass's report): unfused 0.12 / 0.16, fused 0.37 / 0.35
    assert measured["resnet18", False]["greedy-by-size"] < 0.2
    assert measured["transformer", True]["greedy-by-size"] < 0.4


def test_arena_target_on_zoo_models(tmp_path):
    """The zoo (torch -> ONNX -> frontend, batch norms folded by the exporter). The tiny ResNet
    cannot reach 50% once fused: its stem conv output and the max-pool output are live together
    and are 57% of all intermediate bytes. The plan then reaches that lower bound exactly."""
    pytest.importorskip("torch")
    from frontends.onnx import import_onnx
    from tests.models.zoo import ZOO, export_onnx
    results = {}
    for name in ("resnet", "transformer_encoder", "mobilenetv2_block"):
        path = tmp_path / f"{name}.onnx"
        export_onnx(ZOO[name].build(), ZOO[name].inputs(0), path)
        g = import_onnx(str(path))
        run_passes(g, "fold-constants,cse,dce")
        results[name, False] = ratios(g)
        plan_and_check(g)
        fused(g)
        results[name, True] = ratios(g)
        plan_and_check(g, "best-fit")
    assert results["resnet", False]["greedy-by-size"] <= 0.5
    assert results["transformer_encoder", False]["greedy-by-size"] <= 0.5
    assert results["transformer_encoder", True]["greedy-by-size"] <= 0.5
    fused_resnet = results["resnet", True]
    assert fused_resnet["lower_bound"] > 0.5
    assert fused_resnet["greedy-by-size"] == pytest.approx(fused_resnet["lower_bound"])
    for r in results.values():                       # best-fit and greedy beat naive everywhere
        assert r["lower_bound"] <= min(r["greedy-by-size"], r["best-fit"]) <= r["naive"]


def test_greedy_best_fit_and_naive():
    g = fused(transformer_graph(layers=2, decomposed=True))
    plans = {a: make_plan(g, 64, a, False) for a in ALGORITHMS}
    aligned = sum(-(-s // 64) * 64 for s in plans["naive"]["sizes"].values())
    assert plans["naive"]["arena_bytes"] == aligned            # naive: no reuse at all
    assert plans["greedy-by-size"]["arena_bytes"] <= plans["best-fit"]["arena_bytes"] < aligned
    # the mobilenet block is the case where placing in allocation order packs tighter
    m = fused(mobilenet_block_graph(hw=16))
    greedy, best = (make_plan(m, 64, a)["arena_bytes"] for a in ALGORITHMS[:2])
    assert best <= greedy


# ---- the plan as IR -----------------------------------------------------------------------------
def test_plan_prints_parses_and_is_stable():
    g = fused(resnet_graph())
    logs = run_passes(g, "memory-plan")
    assert any(m.startswith("[memory-plan] arena ") and " bytes in 9 intermediates); peak live "
               in m for m in logs)
    text = print_graph(g)
    assert "attributes {memory_plan = {algorithm = \"greedy-by-size\", alignment = 64" in text
    back = parse_graph(text, weights=g.weights())
    assert back.attrs["memory_plan"] == g.attrs["memory_plan"]
    verify_memory_plan(back)
    assert print_graph(back) == text
    logs = run_passes(back, "memory-plan")        # planning again: the same plan, no change
    assert not any("changed the IR" in m for m in logs)


def test_symbolic_shapes_leave_the_graph_unchanged():
    g = parse_graph("graph @s(%x: f32[N,4]) {\n  %a = Exp(%x) : f32[N,4]\n"
                    "  %b = Neg(%a) : f32[N,4]\n  return %b\n}")
    logs = run_passes(g, "memory-plan")
    assert "memory_plan" not in g.attrs
    assert any("symbolic shapes (first: %a: f32[N,4])" in m for m in logs)


def test_bad_options_are_errors():
    with pytest.raises(PassError, match="unknown algorithm 'first-fit'"):
        run_passes(resnet_graph(), "memory-plan{algorithm=first-fit}")


def test_verify_memory_plan_catches_broken_plans():
    g = transformer_graph()
    run_passes(g, "memory-plan{inplace=false}")
    good = g.attrs["memory_plan"]

    def broken(edit, match):
        plan = {k: (dict(v) if isinstance(v, dict) else v) for k, v in good.items()}
        edit(plan)
        g.attrs["memory_plan"] = plan
        with pytest.raises(VerificationError, match=match):
            verify_memory_plan(g)
    first, second = list(good["offsets"])[:2]          # born at consecutive steps, both live
    broken(lambda p: p["offsets"].update({second: p["offsets"][first]}), "overlap")
    broken(lambda p: p["offsets"].update({first: p["offsets"][first] + 4}), "unaligned")
    broken(lambda p: p["offsets"].pop(first), "intermediates are")
    broken(lambda p: p["sizes"].update({first: 4}), "planned 4")
    broken(lambda p: p["inplace"].update({second: first}), "in-place pair")
    broken(lambda p: p.update(arena_bytes=64), "outside the arena")
    g.attrs.pop("memory_plan")
    with pytest.raises(VerificationError, match="missing"):
        verify_memory_plan(g)


def test_plan_report():
    g = fused(mobilenet_block_graph())
    assert "no memory plan" in plan_report(g)
    run_passes(g, "memory-plan")
    report = plan_report(g)
    assert report.splitlines()[0].startswith("memory plan of @mobilenet_v2_block: arena ")
    assert len(report.splitlines()) == 2 + len(g.attrs["memory_plan"]["offsets"])


# ---- property: random DAGs ----------------------------------------------------------------------
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 30),
       algorithm=st.sampled_from(ALGORITHMS), inplace=st.booleans(),
       alignment=st.sampled_from([16, 64, 256]), fuse_first=st.booleans())
def test_random_dags_plan_soundly(seed, n, algorithm, inplace, alignment, fuse_first):
    g = random_dag(seed, n)
    if fuse_first:
        fused(g)
    plan = plan_and_check(g, algorithm, inplace, alignment)
    if algorithm == "naive" and not inplace:
        assert plan["arena_bytes"] == sum(-(-s // alignment) * alignment
                                          for s in plan["sizes"].values())
