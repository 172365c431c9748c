"""The fuse pass on realistic graphs: numerics equal before and after (reference interpreter on
random inputs), expected groups, verifier, printer/parser round trip, and a property test on
random DAGs that every group obeys the fusion rules."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.reference import run_graph
from compiler.ir.parser import parse_graph
from compiler.ir.printer import print_graph
from compiler.ir.verifier import verify
from compiler.ops import OpKind
from compiler.transform import PassContext, PassManager
from passes.graph.fuse import ANCHORS, fusion_groups, op_kind
from tests.passes._fuse_memplan_graphs import (mobilenet_block_graph, random_dag, random_feeds,
                                               resnet_graph, transformer_graph)


def fuse(graph, pipeline="fuse"):
    """Run `pipeline` under a debug context (which also checks the changed flag); the logs."""
    with PassContext(opt_level=2, debug=True, log_stream=_Null()) as ctx:
        PassManager(pipeline).run(graph, ctx)
    return [str(r) for r in ctx.logs]


class _Null:
    def write(self, _):
        pass


def assert_same_numerics(before, after, seeds=(0, 1), rtol=1e-4, atol=1e-5):
    for seed in seeds:
        feeds = random_feeds(before, seed)
        want, got = run_graph(before, feeds), run_graph(after, feeds)
        assert list(want) == list(got)
        for k in want:
            np.testing.assert_allclose(got[k], want[k], rtol=rtol, atol=atol, err_msg=k)


def assert_round_trips(g):
    text = print_graph(g)
    back = parse_graph(text, weights=g.weights())
    verify(back)
    assert print_graph(back) == text


def group_ops(graph):
    return [[n.op for n in grp] for grp in fusion_groups(graph)]


def fused_and_checked(make, **kw):
    g = make(**kw)
    verify(g)
    h = g.clone()
    logs = fuse(h)
    verify(h)
    assert_same_numerics(g, h)
    assert_round_trips(h)
    return g, h, logs


# ---- realistic graphs ------------------------------------------------------------------------
def test_resnet_block_graph():
    g, h, logs = fused_and_checked(resnet_graph)
    assert group_ops(g) == [["Conv", "BatchNormalization", "Relu"]] * 2 + [
        ["Conv", "BatchNormalization", "Add", "Relu"], ["Conv", "BatchNormalization", "Relu"],
        ["Conv", "BatchNormalization"], ["Conv", "BatchNormalization", "Add", "Relu"]]
    assert h.op_counts() == {"Flatten": 1, "FusedGroup": 6, "Gemm": 1, "GlobalAveragePool": 1,
                             "MaxPool": 1}
    assert any("fused 19 of 23 ops into 6 groups" in m for m in logs)
    kinds = {n.attrs["kind"] for n in h.nodes if n.op == "FusedGroup"}
    assert kinds == {"out_elemwise_fusable"}


def test_mobilenet_v2_block_graph():
    g, h, _ = fused_and_checked(mobilenet_block_graph)
    assert group_ops(g) == [["Conv", "BatchNormalization", "Clip"]] * 2 + [
        ["Conv", "BatchNormalization", "Add"], ["Conv", "Clip"]]
    dw = next(n for n in h.nodes if n.op == "FusedGroup"
              and any(m.name == "dw" for m in n.attrs["body"].nodes))
    # weights are operands; the relu6 bounds (scalars) are captured in the body
    x, w = dw.inputs[:2]
    assert x.producer.op == "FusedGroup" and w.is_constant and w.shape == (48, 1, 3, 3)
    assert all(v.is_constant and v.shape == (48,) for v in dw.inputs[2:])   # batch-norm params
    assert sorted(c.data.item() for c in dw.attrs["body"].constants) == [0.0, 6.0]


@pytest.mark.parametrize("decomposed", [False, True])
def test_transformer_layer_graph(decomposed):
    g, h, _ = fused_and_checked(transformer_graph, decomposed=decomposed)
    groups = group_ops(g)
    assert ["MatMul", "Add", "Gelu"] in groups or \
        ["MatMul", "Add", "Div", "Erf", "Add", "Mul", "Mul"] in groups
    assert groups.count(["Reshape", "Transpose"]) == 3          # q, k, v into heads
    assert ["Transpose", "Reshape"] in groups                   # heads back
    assert ["MatMul", "Div"] in groups                          # scaled scores
    assert groups.count(["MatMul", "Add", "Add"]) == 2          # projections + residual
    left = {n.op for n in h.nodes if n.op != "FusedGroup"}
    if decomposed:
        # LayerNorm's variance reduction fuses its centring prologue, which is also a result
        assert groups.count(["Sub", "Pow", "ReduceMean", "Add", "Sqrt"]) == 2
        assert left == {"ReduceMean", "Softmax", "MatMul"}
    else:
        assert left == {"LayerNormalization", "Softmax", "MatMul"}


def test_two_layer_transformer_with_small_max_depth():
    g, h, _ = fused_and_checked(transformer_graph, layers=2, decomposed=True)
    h3 = g.clone()
    fuse(h3, "fuse{max-depth=3}")
    assert_same_numerics(g, h3)
    assert max(len(n.attrs["body"].nodes) for n in h3.nodes if n.op == "FusedGroup") == 3


# ---- the zoo, through the ONNX frontend ---------------------------------------------------------
@pytest.fixture(scope="module")
def zoo_graphs(tmp_path_factory):
    pytest.importorskip("torch")
    from frontends.onnx import import_onnx
    from tests.models.zoo import ZOO, export_onnx
    out = {}
    for name in ("resnet", "mobilenetv2_block", "transformer_encoder"):
        path = tmp_path_factory.mktemp("zoo") / f"{name}.onnx"
        names = export_onnx(ZOO[name].build(), ZOO[name].inputs(0), path)
        g = import_onnx(str(path))
        fuse(g, "fold-constants,cse,dce")
        feeds = {n: t.numpy() for n, t in zip(names, ZOO[name].inputs(1))}
        out[name] = (g, feeds)
    return out


@pytest.mark.parametrize("name,groups,left", [
    ("resnet", 5, {"MaxPool", "AveragePool", "Conv", "GlobalAveragePool", "Flatten", "Gemm"}),
    ("mobilenetv2_block", 5, {"Conv"}),
    ("transformer_encoder", 11, {"LayerNormalization", "Softmax", "MatMul"}),
])
def test_zoo_models(zoo_graphs, name, groups, left):
    g, feeds = zoo_graphs[name]
    h = g.clone()
    fuse(h)
    verify(h)
    assert sum(n.op == "FusedGroup" for n in h.nodes) == groups
    assert {n.op for n in h.nodes} - {"FusedGroup"} == left
    want, got = run_graph(g, feeds), run_graph(h, feeds)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-4, atol=1e-5)
    assert_round_trips(h)


# ---- API and pass behaviour --------------------------------------------------------------------
def test_fuse_is_idempotent_and_reports_no_change():
    g = resnet_graph()
    fuse(g)
    before = print_graph(g)
    logs = fuse(g)                    # debug mode checks that "unchanged" is the truth
    assert print_graph(g) == before
    assert not any("changed the IR" in m for m in logs)


def test_fusion_groups_does_not_change_the_graph():
    g = transformer_graph()
    text = print_graph(g)
    groups = fusion_groups(g, max_depth=2)
    assert print_graph(g) == text
    assert groups and all(len(grp) == 2 for grp in groups)
    assert fusion_groups(g, max_depth=1) == []


# ---- property: random DAGs --------------------------------------------------------------------
def _check_group_rules(grp, max_depth):
    assert 2 <= len(grp) <= max_depth
    kinds = [op_kind(n) for n in grp]
    assert OpKind.OPAQUE not in kinds
    anchors = [n for n in grp if op_kind(n) in ANCHORS]
    assert len(anchors) <= 1
    if not anchors:
        assert max(kinds) <= OpKind.INJECTIVE
        return
    a = anchors[0]
    members = {id(n) for n in grp}
    later, stack = set(), [u for o in a.outputs for u in o.users]
    while stack:                                  # the anchor's epilogue inside the group
        n = stack.pop()
        if id(n) in members and id(n) not in later:
            later.add(id(n))
            stack += [u for o in n.outputs for u in o.users]
    for n in grp:
        if id(n) in later:
            assert op_kind(n) <= OpKind.BROADCAST and n.outputs[0].shape == a.outputs[0].shape
    if op_kind(a) == OpKind.OUT_ELEMWISE_FUSABLE:
        assert all(v is None or v.producer is None or id(v.producer) not in members
                   for v in a.inputs)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 24), depth=st.sampled_from([2, 3, 8]),
       multi=st.booleans())
def test_random_dags_fuse_legally_and_keep_numerics(seed, n, depth, multi):
    g = random_dag(seed, n)
    for grp in fusion_groups(g, max_depth=depth, multi_output=multi):
        _check_group_rules(grp, depth)
    h = g.clone()
    fuse(h, f"fuse{{max-depth={depth} multi-output={'true' if multi else 'false'}}}")
    verify(h)
    assert_same_numerics(g, h, seeds=(seed % 1000,))
    assert_round_trips(h)
