"""Every registered graph pass, alone and in the -O pipelines, keeps a random graph valid and its
outputs equal (within float tolerance) to the reference interpreter's before the pass."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from backends.reference import run_graph
from compiler import plugins
from compiler.ir.parser import parse_graph
from compiler.ir.printer import print_graph
from compiler.ir.verifier import verify
from compiler.transform import PassContext, PassManager, list_passes

from .random_graphs import random_graphs

plugins.load_passes()
GRAPH_PASSES = sorted(p.name for p in list_passes()
                      if p.ir == "graph" and not p.name.startswith(("test-", "example-")))
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_same_outputs(before: dict, after: dict):
    assert before.keys() == after.keys()
    for k in before:
        a, b = before[k], after[k]
        assert a.shape == b.shape and a.dtype == b.dtype, k
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5, err_msg=k)


def run_pipeline(g, pipeline, opt_level=3):
    with PassContext(opt_level=opt_level, required=[p.split("{")[0] for p in pipeline.split(",")
                                                     if p]) as ctx:
        PassManager(pipeline).run(g, ctx)


@pytest.mark.parametrize("pass_name", GRAPH_PASSES)
@FUZZ
@given(case=random_graphs())
def test_each_pass_preserves_outputs(pass_name, case):
    g, feeds = case
    verify(g)
    expected = run_graph(g, feeds)
    run_pipeline(g, pass_name)
    verify(g)
    assert_same_outputs(expected, run_graph(g, feeds))
    text = print_graph(g, elide_large=False)
    assert print_graph(parse_graph(text), elide_large=False) == text


@pytest.mark.parametrize("level", [1, 2, 3])
@FUZZ
@given(case=random_graphs(max_ops=16))
def test_default_pipelines_preserve_outputs(level, case):
    g, feeds = case
    expected = run_graph(g, feeds)
    pipeline = plugins.default_pipeline(level)
    with PassContext(opt_level=level) as ctx:
        PassManager(pipeline).run(g, ctx)
    assert_same_outputs(expected, run_graph(g, feeds))
