"""The aicc command line: help, opt, run, and clean one-line errors (traceback only with --debug)."""
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from compiler.cli.main import main
from compiler.ir.serialize import load_graph
from compiler.transform import Pass, register_pass

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "mlp.ir"


def aicc(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@register_pass
@dataclass
class BreakTypes(Pass):
    """Test-only: corrupts the first node's result type (the verifier must catch it)."""
    name = "test-break-types"
    opt_level = 0

    def run(self, graph, ctx) -> bool:
        from compiler.ir.types import TensorType
        graph.nodes[0].outputs[0].type = TensorType("f64", (7,))
        return True


def test_help_texts_are_useful():
    proc = subprocess.run([sys.executable, "-m", "compiler.cli.main", "--help"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "opt" in proc.stdout and "run" in proc.stdout
    for sub, words in [("opt", ["--passes", "--print-ir-after", "--time-passes", "-O2",
                                 "--list-passes", "fuse{max-depth=8}"]),
                       ("run", ["--inputs", "--outputs", "--seed"])]:
        proc = subprocess.run([sys.executable, "-m", "compiler.cli.main", sub, "--help"], cwd=ROOT,
                              capture_output=True, text=True)
        assert proc.returncode == 0
        for w in words:
            assert w in proc.stdout, (sub, w)


def test_opt_writes_ir_and_weights(tmp_path, capsys):
    out = tmp_path / "o.ir"
    code, _, err = aicc(capsys, "opt", str(EXAMPLE), "-O2", "-o", str(out))
    assert code == 0 and (tmp_path / "o.npz").exists()
    g = load_graph(out)
    assert "Shape" not in g.op_counts()          # folded
    assert all(n.name != "unused" for n in g.nodes)


def test_opt_prints_ir_after_all_and_times_passes(capsys):
    code, out, err = aicc(capsys, "opt", str(EXAMPLE), "--passes", "fold-constants,cse,dce",
                          "--print-ir-after", "all", "--time-passes")
    assert code == 0 and out.startswith("graph @mlp(")
    for name in ("fold-constants", "cse", "dce"):
        assert f"IR Dump After {name}" in err
    assert "Pass execution timing report" in err and "Total" in err


def test_opt_stats_and_list_passes(capsys):
    code, out, err = aicc(capsys, "opt", str(EXAMPLE), "--passes", "dce", "--stats")
    assert code == 0 and "dce" in err and "Relu" in err
    code, out, _ = aicc(capsys, "opt", "--list-passes")
    assert code == 0 and "fold-constants" in out and "max-bytes" in out and "-O1" in out


def test_unknown_pass_lists_known_passes_without_traceback(capsys):
    code, out, err = aicc(capsys, "opt", str(EXAMPLE), "--passes", "csee")
    assert code == 2 and "unknown pass 'csee'" in err and "did you mean 'cse'" in err
    assert "known passes:" in err and "dce" in err and "Traceback" not in err


def test_bad_option_type_names_pass_and_option(capsys):
    code, out, err = aicc(capsys, "opt", str(EXAMPLE), "--passes", "fold-constants{max-bytes=lots}")
    assert code == 2 and "fold-constants" in err and "max-bytes" in err and "int" in err


def test_verifier_failure_names_pass_and_node(capsys, tmp_path):
    code, out, err = aicc(capsys, "opt", str(EXAMPLE), "--passes", "test-break-types",
                          "--crash-reproducer", str(tmp_path / "repro.ir"))
    assert code == 2 and "test-break-types" in err and "MatMul node 'fc1/matmul'" in err


def test_debug_shows_the_traceback(capsys):
    with pytest.raises(Exception, match="unknown pass"):
        main(["opt", str(EXAMPLE), "--passes", "csee", "--debug"])


def test_missing_file_is_a_clean_error(capsys):
    code, out, err = aicc(capsys, "opt", "/nonexistent/m.ir")
    assert code == 2 and "cannot read IR file" in err and "Traceback" not in err


def test_run_with_inputs_and_outputs(tmp_path, capsys):
    x = np.random.default_rng(1).standard_normal((2, 16)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    code, out, _ = aicc(capsys, "run", str(EXAMPLE), "--inputs", str(tmp_path / "in.npz"),
                        "--outputs", str(tmp_path / "out.npz"))
    assert code == 0 and "probs: float32[2, 4]" in out
    probs = np.load(tmp_path / "out.npz")["probs"]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_run_rejects_wrong_input_shape(tmp_path, capsys):
    np.savez(tmp_path / "in.npz", x=np.zeros((3, 16), np.float32))
    code, out, err = aicc(capsys, "run", str(EXAMPLE), "--inputs", str(tmp_path / "in.npz"))
    assert code == 2 and "input 'x'" in err and "f32[2,16]" in err and "[3, 16]" in err


def test_explicit_passes_run_at_any_opt_level_unless_disabled(capsys):
    code, out, _ = aicc(capsys, "opt", str(EXAMPLE), "-O0", "--passes", "dce")
    assert code == 0 and "unused" not in out          # dce ran although -O0 < its opt level
    code, out, _ = aicc(capsys, "opt", str(EXAMPLE), "--passes", "dce", "--disable-pass", "dce")
    assert code == 0 and 'loc("unused")' in out


def test_default_pipeline_follows_opt_level(capsys):
    code, out, _ = aicc(capsys, "opt", str(EXAMPLE), "-O0")
    assert code == 0 and "Shape(" in out               # nothing runs at -O0
    code, out, _ = aicc(capsys, "opt", str(EXAMPLE), "-O2")
    assert code == 0 and "Shape(" not in out
