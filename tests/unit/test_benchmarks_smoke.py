"""The benchmark script's machinery on tiny models (2 runs, 1 warm-up): every engine is set up
and timed, a failing engine is reported in the table instead of stopping the run, FLOPs are
counted from the graph, and RESULTS.md has its tables and targets. No timing is asserted."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

import torch.nn as nn  # noqa: E402

from benchmarks import run as bench  # noqa: E402
from benchmarks.engines import NumpyMatMul  # noqa: E402
from benchmarks.models import WORKLOADS, MatMulOp, Workload, _randn, _seeded  # noqa: E402
from benchmarks.timing import interleaved  # noqa: E402


class Unsupported(nn.Module):
    """Exports to ONNX and runs in onnxruntime, but uses an op our compiler does not take
    (should Det ever be supported, the assertions below say to pick another op)."""

    def forward(self, x):
        return torch.det(x)


TINY = {
    "matmul": Workload("matmul", "MatMul 8x16 @ 16x4", _seeded(MatMulOp), _randn((8, 16), (16, 4))),
    "unsupported": Workload("unsupported", "Det of 3x3", _seeded(Unsupported), _randn((2, 3, 3))),
}


def test_run_writes_tables_and_targets(tmp_path):
    out = tmp_path / "RESULTS.md"
    results = bench.run(list(TINY), [1], runs=2, warmup=1, opt_level=2, out=str(out),
                        workloads=TINY, command="smoke", settle=0.005)
    by_name = {r.model: r for r in results}
    mm, bad = by_name["matmul"], by_name["unsupported"]
    for engine in ("ours", "ort", "torch", "numpy"):
        assert len(mm.timings[engine].times) == 2, (engine, mm.error(engine))
    assert mm.flops == 2 * 8 * 16 * 4 and mm.max_error < 1e-5 and mm.compile_seconds > 0
    assert 0.0 <= mm.other_load <= 1.0
    # ours fails on the unsupported model; the others still ran and the row says why
    assert bad.ms("ours") is None and "Det" in bad.error("ours"), "Det is supported now?"
    assert bad.flops is None and "numpy" not in bad.timings
    assert bad.ms("ort") is not None and bad.ms("torch") is not None

    text = out.read_text()
    assert "## 1 thread" in text and "## 2 threads" not in text
    row = next(line for line in text.splitlines() if line.startswith("| unsupported |"))
    assert "ours: " in row and bad.error("ours").split(":")[0] in row
    # the targets name models this run did not have
    assert text.count("NOT MEASURED") == 3
    assert "MatMul 1024^3, 1 thread" in text and "- LLVM:" in text and "- torch:" in text


def test_interleaved_rotates_and_drops_a_failing_engine():
    calls = []

    def engine(name, fail_at=None):
        def call():
            calls.append(name)
            if len([c for c in calls if c == name]) == fail_at:
                raise ValueError(f"{name} broke\nsecond line")
            return 1.0
        return call

    res = interleaved({"a": engine("a"), "b": engine("b"), "c": engine("c", fail_at=3)},
                      runs=3, warmup=1)
    assert calls[:3] == ["a", "b", "c"] and calls[3:6] == ["b", "c", "a"]
    assert calls[6:8] == ["c", "a"] and "c" not in calls[8:]
    assert res["a"].times == [1.0] * 3 and res["c"].error == "ValueError: c broke"
    assert res["c"].median is None and res["a"].median == 1.0


def test_each_turn_settles_with_untimed_runs_first():
    calls = []

    def engine():
        calls.append(None)
        return 0.5

    res = interleaved({"a": engine}, runs=2, warmup=0, settle=0.01)
    assert res["a"].times == [0.5, 0.5] and len(calls) >= 4     # >= 1 untimed call a turn


def test_numpy_worker_uses_the_thread_count():
    eng = NumpyMatMul(4, 4, 4, threads=1)
    try:
        assert eng() >= 0 and eng.info["threads_env"]["OPENBLAS_NUM_THREADS"] == "1"
    finally:
        eng.close()
    assert eng.proc.returncode == 0


def test_cli_arguments():
    args = bench.parse_args(["--models", "matmul,mlp", "--threads", "1", "--runs", "3"])
    assert args.models == ["matmul", "mlp"] and args.threads == [1] and args.runs == 3
    assert bench.parse_args([]).models == list(WORKLOADS)
    with pytest.raises(SystemExit):
        bench.parse_args(["--models", "alexnet"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--threads", "0"])


def test_compile_time_target_uses_the_separate_o2_compile():
    from benchmarks.report import targets
    row = lambda rows: next(r for r in rows if r[0].startswith("ResNet-18 compiles"))  # noqa
    assert row(targets([], 3))[1] == "NOT MEASURED"
    status, measured = row(targets([], 3, {"resnet18": (5.0, 4.5)}))[1:]
    assert status == "PASS" and "separate -O2 compile" in measured and "-O3" in measured
    assert row(targets([], 3, {"resnet18": (61.0, 60.5)}))[1] == "MISS"
