"""The zoo through the torch.fx frontend, on both paths (symbolic_trace and torch.export), run
by the reference interpreter and compared with torch eager on several random inputs."""
from __future__ import annotations

import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from backends.reference import run_graph  # noqa: E402
from compiler.ir.verifier import verify  # noqa: E402
from frontends.fx import import_fx  # noqa: E402

from tests.models.zoo import ZOO, input_names  # noqa: E402

PATHS = ("symbolic_trace", "export")
SEEDS = (0, 1, 2)


@functools.lru_cache(maxsize=None)
def imported(name: str, path: str):
    """(module, graph), imported once per model and path."""
    entry = ZOO[name]
    module = entry.build()
    example = entry.inputs(100)
    if path == "symbolic_trace":
        graph = import_fx(torch.fx.symbolic_trace(module), example)
    else:
        graph = import_fx(torch.export.export(module, example))
    verify(graph)
    return module, graph


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", sorted(ZOO))
def test_matches_torch(name, path, seed):
    module, graph = imported(name, path)
    inputs = ZOO[name].inputs(seed)
    with torch.no_grad():
        expected = module(*inputs)
    feeds = {n: t.numpy() for n, t in zip(input_names(module), inputs)}
    got = run_graph(graph, feeds)
    (out_name,) = graph.output_names
    np.testing.assert_allclose(got[out_name], expected.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_parameters_become_shared_constants(name):
    module, graph = imported(name, "symbolic_trace")
    consts = {c.name: c for c in graph.constants}
    for pname, p in module.named_parameters():
        assert pname in consts, f"parameter {pname} is not a graph constant"
        assert np.shares_memory(consts[pname].data, p.detach().numpy())
