"""The zoo compiled to native code matches onnxruntime on several random inputs, at -O2 and
-O3, and with bounds checks on (the test mode in which every load and store is checked
against its buffer's shape, so an out-of-bounds access fails the test instead of passing
silently)."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

import compiler  # noqa: E402
from tests.models.zoo import ZOO, export_onnx  # noqa: E402

SEEDS = (0, 1, 2)
MODES = [(2, False), (3, True)]       # (opt level, bounds checks)


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
    model = compiler.compile(path, opt_level=level, bounds_check=bounds_check, num_threads=2)
    for seed in SEEDS:
        feeds = {n: t.numpy() for n, t in zip(names, ZOO[name].inputs(seed))}
        expected = session.run(None, feeds)
        got = model.run(feeds)
        for out_name, want in zip([o.name for o in session.get_outputs()], expected):
            np.testing.assert_allclose(got[out_name], want, rtol=1e-4, atol=1e-4,
                                       err_msg=f"{name} seed {seed} output {out_name}")
