"""The bundled example (docs/examples/encoder.onnx, the zoo's transformer encoder exported at
opset 16 by tests/models/zoo.py) imports, optimizes at every -O level and still matches
onnxruntime; -O2 raises its decomposed LayerNorm and GELU and fuses it."""
from pathlib import Path

import numpy as np
import pytest

from backends.reference import run_graph
from compiler import plugins
from compiler.transform import PassContext, PassManager
from frontends.onnx import import_onnx

ort = pytest.importorskip("onnxruntime")
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "encoder.onnx"


def feeds(seed):
    rng = np.random.default_rng(seed)
    mask = np.where(rng.random((2, 1, 1, 8)) < 0.25, -1e4, 0).astype(np.float32)
    return {"x": rng.standard_normal((2, 8, 32)).astype(np.float32), "mask": mask}


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_example_matches_onnxruntime_at_every_level(level):
    sess = ort.InferenceSession(str(EXAMPLE), providers=["CPUExecutionProvider"])
    g = import_onnx(EXAMPLE)
    with PassContext(opt_level=level) as ctx:
        PassManager(plugins.default_pipeline(level)).run(g, ctx)
    counts = g.op_counts()
    if level >= 2:
        assert "Erf" not in counts and "ReduceMean" not in counts
        assert counts.get("FusedGroup", 0) >= 5 and "memory_plan" in g.attrs
    for seed in range(3):
        f = feeds(seed)
        expected = sess.run(None, f)
        got = run_graph(g, f)
        assert list(got) == [o.name for o in sess.get_outputs()]
        for e, a in zip(expected, got.values()):
            np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-5)
