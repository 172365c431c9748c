"""Random graphs compiled to native code (graph pipeline, lowering, LLVM, with bounds checks)
give the reference interpreter's outputs."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from backends.reference import run_graph
from tests.lower.util import compile_graph, run_compiled

from .random_graphs import random_graphs

COMPILE_FUZZ = settings(max_examples=60, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow])
PIPELINES = {0: "", 2: "fold-constants,simplify,cse,dce,fuse,memory-plan",
             3: "fold-constants,simplify,cse,dce,layout,fold-constants,cse,dce,fuse,memory-plan"}


@pytest.mark.parametrize("level", sorted(PIPELINES))
@COMPILE_FUZZ
@given(case=random_graphs(max_ops=10))
def test_compiled_random_graphs_match_the_reference(level, case):
    g, feeds = case
    expected = run_graph(g, feeds)
    _, cm = compile_graph(g, PIPELINES[level], bounds_check=True)
    got = run_compiled(cm, g, feeds)
    for name, want in expected.items():
        np.testing.assert_allclose(got[name], want, rtol=1e-4, atol=1e-5, err_msg=name)
