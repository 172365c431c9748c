"""The bundled examples end to end: docs/examples/mlp.ir and encoder.onnx compiled to native
code match the reference interpreter, survive a save/load round trip, and run from the CLI."""
from pathlib import Path

import numpy as np
import pytest

import compiler
from backends.reference import run_graph
from compiler.cli.main import main
from compiler.ir.serialize import load_graph
from compiler.transform import PassInstrument

from ._models import random_feeds

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


class Names(PassInstrument):
    def __init__(self):
        self.names = []

    def run_after_pass(self, p, ir, changed):
        self.names.append(p.name)


@pytest.mark.parametrize("opt_level", [0, 2])
def test_mlp_matches_reference(opt_level):
    graph = load_graph(EXAMPLES / "mlp.ir")
    rec = Names()
    m = compiler.compile(str(EXAMPLES / "mlp.ir"), opt_level=opt_level, instruments=[rec])
    if opt_level == 0:      # Shape -> Reshape leaves a dynamic type: folded to lower it
        assert rec.names == ["fold-constants"]
    feeds = random_feeds(m.inputs, 11)
    np.testing.assert_allclose(m.run(feeds)["probs"], run_graph(graph, feeds)["probs"],
                               rtol=1e-5, atol=1e-6)
    assert m.stats["graph_ops"]["imported"]["Reshape"] == 1


@pytest.fixture(scope="module")
def encoder():
    pytest.importorskip("onnx")
    from frontends.onnx import import_onnx
    path = EXAMPLES / "encoder.onnx"
    return import_onnx(str(path)), compiler.compile(str(path), opt_level=2)


def test_encoder_matches_reference_and_round_trips(encoder, tmp_path):
    graph, m = encoder
    assert [s.name for s in m.inputs] == [v.name for v in graph.inputs]
    assert [s.name for s in m.outputs] == graph.output_names
    for seed in (0, 1):
        feeds = random_feeds(m.inputs, seed)
        got, want = m.run(feeds), run_graph(graph, feeds)
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-5)
    m.save(tmp_path / "encoder.aicc")
    loaded = compiler.load(tmp_path / "encoder.aicc")
    feeds = random_feeds(m.inputs, 2)
    for name, value in m.run(feeds).items():
        np.testing.assert_array_equal(loaded.run(feeds)[name], value)
    assert loaded.stats["weights"] > 0 and loaded.stats["graph_ops"]["imported"]["MatMul"] > 0


def test_mlp_through_the_cli(tmp_path, capsys):
    graph = load_graph(EXAMPLES / "mlp.ir")
    feeds = random_feeds(graph.inputs, 4)
    np.savez(tmp_path / "in.npz", **feeds)
    art = tmp_path / "mlp.aicc"
    assert main(["compile", str(EXAMPLES / "mlp.ir"), "-o", str(art), "-O3"]) == 0
    assert main(["run", str(art), "--inputs", str(tmp_path / "in.npz"), "--outputs",
                 str(tmp_path / "out.npz"), "--bench", "3"]) == 0
    out, _ = capsys.readouterr()
    assert "probs: float32[2, 4]" in out and "bench: 3 runs, median" in out
    with np.load(tmp_path / "out.npz") as z:
        np.testing.assert_allclose(z["probs"], run_graph(graph, feeds)["probs"], rtol=1e-5,
                                   atol=1e-6)
