"""The zoo compiled to native code matches onnxruntime on several random inputs, at -O2 and
-O3, and with bounds checks on (the test mode in which every load and store is checked
against its buffer's shape, so an out-of-bounds access fails the test instead of passing
silently)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from compiler import plugins  # noqa: E402
from compiler.transform import PassContext, PassManager  # noqa: E402
from frontends.onnx import import_onnx  # noqa: E402

from tests.lower.util import compile_graph, run_compiled  # noqa: E402
from tests.models.zoo import ZOO, export_onnx  # noqa: E402

SEEDS = (0, 1, 2)
MODES = [(2, False), (2, True), (3, True)]       # (opt level, bounds checks)


@pytest.fixture(scope="module", params=sorted(ZOO))
def exported(request, tmp_path_factory):
    entry = ZOO[request.param]
    path = tmp_path_factory.mktemp("zoo") / f"{request.param}.onnx"
    names = export_onnx(entry.build(), entry.inputs(100), path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return request.param, names, str(path), session


@pytest.mark.parametrize("level,bounds_check", MODES, ids=[f"O{o}{'-checked' if b else ''}"
                                                            for o, b in MODES])
def test_compiled_zoo_matches_onnxruntime(exported, level, bounds_check):
    name, names, path, session = exported
    graph = import_onnx(path)
    with PassContext(opt_level=level) as ctx:
        PassManager(plugins.default_pipeline(level)).run(graph, ctx)
    _, cm = compile_graph(graph, bounds_check=bounds_check)
    for seed in SEEDS:
        feeds = {n: t.numpy() for n, t in zip(names, ZOO[name].inputs(seed))}
        expected = session.run(None, feeds)
        got = run_compiled(cm, graph, feeds)
        for out_name, want in zip(graph.output_names, expected):
            np.testing.assert_allclose(got[out_name], want, rtol=1e-4, atol=1e-4,
                                       err_msg=f"{name} seed {seed} output {out_name}")
