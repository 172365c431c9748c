"""The zoo through the ONNX frontend: each model is exported to ONNX once (legacy exporter,
opset 17), imported with frontends.onnx, run by the reference interpreter and compared with
onnxruntime on several random inputs."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from backends.reference import run_graph  # noqa: E402
from compiler.ir.verifier import verify  # noqa: E402

from tests.models.zoo import ZOO, export_onnx  # noqa: E402

SEEDS = (0, 1, 2)


def _import_onnx():
    try:
        from frontends.onnx import import_onnx
    except ModuleNotFoundError as e:   # only while the ONNX frontend does not exist yet
        if e.name in ("frontends.onnx", "onnx"):
            pytest.skip(f"{e.name} is not available")
        raise
    return import_onnx


@pytest.fixture(scope="module", params=sorted(ZOO))
def exported(request, tmp_path_factory):
    """(name, input names, graph, onnxruntime session) per zoo model, exported once."""
    import_onnx = _import_onnx()
    entry = ZOO[request.param]
    path = tmp_path_factory.mktemp("zoo") / f"{request.param}.onnx"
    names = export_onnx(entry.build(), entry.inputs(100), path)
    graph = import_onnx(str(path))
    verify(graph)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return request.param, names, graph, session


@pytest.mark.parametrize("seed", SEEDS)
def test_matches_onnxruntime(exported, seed):
    name, names, graph, session = exported
    feeds = {n: t.numpy() for n, t in zip(names, ZOO[name].inputs(seed))}
    expected = session.run(None, feeds)
    got = run_graph(graph, feeds)
    assert len(graph.outputs) == len(expected)
    for out_name, want in zip(graph.output_names, expected):
        np.testing.assert_allclose(got[out_name], want, rtol=1e-4, atol=1e-5)
