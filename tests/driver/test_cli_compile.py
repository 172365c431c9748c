"""`aicc compile` and `aicc run` on artifacts, in-process: artifacts, --emit, --stats,
--time-passes, --print-ir-after, --disable-pass, --bench, and one-line errors with exit code 2."""
import numpy as np
import pytest

from backends.reference import run_graph
from compiler.cli.main import main
from compiler.ir.serialize import save_graph

from ._models import elementwise_graph, random_feeds


def aicc(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def model_ir(tmp_path):
    g = elementwise_graph()
    save_graph(g, tmp_path / "ew.ir")
    np.savez(tmp_path / "in.npz", **random_feeds(g.inputs, 2))
    return tmp_path / "ew.ir"


def test_compile_then_run_with_npz_and_bench(model_ir, capsys):
    d = model_ir.parent
    code, out, err = aicc(capsys, "compile", model_ir, "-o", d / "ew.aicc", "-O3", "--threads", 1)
    assert code == 0 and out == "" and f"wrote {d / 'ew.aicc'} (" in err
    code, out, err = aicc(capsys, "run", d / "ew.aicc", "--inputs", d / "in.npz", "--outputs",
                          d / "out.npz", "--bench", 5)
    assert code == 0, err
    assert "probs: float32[16, 32]" in out and "bench: 5 runs, median " in out
    feeds = dict(np.load(d / "in.npz"))
    ref = run_graph(elementwise_graph(), feeds)
    with np.load(d / "out.npz") as z:
        assert sorted(z.files) == ["5", "probs"]
        np.testing.assert_allclose(z["probs"], ref["probs"], rtol=1e-5)
    # the reference interpreter still runs .ir files
    code, out, _ = aicc(capsys, "run", model_ir, "--inputs", d / "in.npz")
    assert code == 0 and "probs: float32[16, 32]" in out


def test_default_output_name_is_the_model_stem(model_ir, capsys, monkeypatch):
    monkeypatch.chdir(model_ir.parent.parent)
    code, _, err = aicc(capsys, "compile", model_ir)
    assert code == 0 and "wrote ew.aicc" in err
    assert (model_ir.parent.parent / "ew.aicc").exists()


@pytest.mark.parametrize("kind, marks", [
    ("graph-ir", ["graph @ew(", "FusedGroup", "memory_plan"]),
    ("loop-ir", ["module @ew {", "func @main(%x: f32[16,32], %y: f32[32], %out_probs",
                 "vectorized"]),
    ("llvm", ["i32 @aicc_main(ptr noalias", "target triple"]),
    ("asm", ["aicc_main:", "vmulps"]),
])
def test_emit_prints_each_stage(model_ir, capsys, kind, marks):
    code, out, err = aicc(capsys, "compile", model_ir, "--emit", kind)
    assert code == 0, err
    for mark in marks:
        assert mark in out, (kind, mark)


def test_emit_to_files(model_ir, capsys):
    d = model_ir.parent
    code, _, err = aicc(capsys, "compile", model_ir, "--emit", "asm", "-o", d / "ew.s")
    assert code == 0 and "aicc_main:" in (d / "ew.s").read_text()
    code, _, err = aicc(capsys, "compile", model_ir, "--emit", "graph-ir", "-o", d / "opt.ir")
    assert code == 0 and (d / "opt.npz").exists()            # re-loadable with its weights
    code, out, _ = aicc(capsys, "run", d / "opt.ir", "--inputs", d / "in.npz")
    assert code == 0 and "probs" in out


def test_stats_time_passes_and_print_ir(model_ir, capsys):
    d = model_ir.parent
    code, _, err = aicc(capsys, "compile", model_ir, "-o", d / "a.aicc", "--stats",
                        "--time-passes", "--print-ir-after", "all")
    assert code == 0
    assert "Pass statistics report" in err and "fuse            6 -> 1" in err
    assert "FusedGroup 0->1" in err and "loop IR: block" in err and "arena 0 bytes" in err
    assert "Pass execution timing report" in err and "Compilation phase timing report" in err
    for phase in ("import", "graph passes", "lowering", "codegen + link"):
        assert f"  {phase}\n" in err
    for name in ("fold-constants", "cse", "fuse", "memory-plan", "lower (graph IR -> loop IR)"):
        assert f"// -----// IR Dump After {name} //----- //" in err


def test_disable_pass_and_print_one_pass(model_ir, capsys):
    code, out, err = aicc(capsys, "compile", model_ir, "--emit", "graph-ir", "--disable-pass",
                          "fuse", "--print-ir-after", "cse", "--stats")
    assert code == 0 and "FusedGroup" not in out and "Sigmoid(" in out
    assert "IR Dump After cse" in err and "IR Dump After dce" not in err
    assert "  fuse " not in err


@pytest.mark.parametrize("argv, message", [
    (["compile", "{d}/missing.onnx"], "no such model file"),
    (["compile", "{d}/ew.ir", "--disable-pass", "fsue"], "did you mean 'fuse'"),
    (["compile", "{d}/ew.ir", "--input-shape", "q=1,2"], "'q', which is not an input"),
    (["compile", "{d}/ew.ir", "--threads", "0"], "--threads must be at least 1"),
    (["compile", "{d}/ew.ir", "--passes", "cse{{x=1}}"], "pass 'cse' takes no options"),
    (["run", "{d}/bad.aicc"], "not an aicc artifact"),
    (["run", "{d}/ew.aicc", "--inputs", "{d}/wrong_dtype.npz"], "input 'x' has dtype float64"),
    (["run", "{d}/ew.aicc", "--inputs", "{d}/missing_y.npz"], "missing input 'y'"),
    (["run", "{d}/ew.aicc", "--bench", "0"], "--bench needs a positive run count"),
    (["run", "{d}/ew.ir", "--threads", "2"], "--threads applies to compiled artifacts"),
])
def test_errors_are_one_line_with_exit_code_2(model_ir, capsys, argv, message):
    d = model_ir.parent
    aicc(capsys, "compile", model_ir, "-o", d / "ew.aicc")
    (d / "bad.aicc").write_bytes(b"not an artifact at all")
    feeds = dict(np.load(d / "in.npz"))
    np.savez(d / "wrong_dtype.npz", x=feeds["x"].astype(np.float64), y=feeds["y"])
    np.savez(d / "missing_y.npz", x=feeds["x"])
    code, out, err = aicc(capsys, *[a.format(d=d) for a in argv])
    assert code == 2 and message in err, err
    assert err.count("\n") == 1 and err.startswith(f"aicc {argv[0]}: error: ")
    assert "Traceback" not in err


def test_run_artifact_without_inputs_uses_seeded_random_inputs(model_ir, capsys):
    d = model_ir.parent
    aicc(capsys, "compile", model_ir, "-o", d / "ew.aicc")
    code, out, err = aicc(capsys, "run", d / "ew.aicc", "--seed", 3, "--threads", 1)
    code2, out2, _ = aicc(capsys, "run", d / "ew.aicc", "--seed", 3)
    assert code == code2 == 0 and out == out2 and "random inputs with seed 3" in err
