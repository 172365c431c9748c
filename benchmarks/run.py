"""Benchmark ours against onnxruntime, torch eager and (MatMul only) numpy, in one run:

    python -m benchmarks.run [--models matmul,resnet18] [--threads 1,2] [--runs 20]
                             [--warmup 3] [--opt-level 3] [--out benchmarks/RESULTS.md]

For every thread count and model: export the workload to ONNX, compile it with ours (timing the
compile), open it in onnxruntime, and time all engines interleaved (timing.py). A model ours
cannot compile or run keeps its row, with the error, and the run goes on."""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time

from .engines import NumpyMatMul, OnnxRuntime, Ours, TorchEager, max_abs_error
from .flops import model_flops
from .load import OtherLoad
from .models import WORKLOADS, Workload, export_workload
from .report import ModelResult, machine, markdown
from .timing import interleaved, one_line

SETTLE = 0.1        # seconds each engine runs untimed before its timed call (timing.py)
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Prepared:
    """A workload exported once: its ONNX file, numpy feeds, torch module and FLOP count."""

    def __init__(self, w: Workload, workdir: str):
        self.w = w
        self.path = os.path.join(workdir, f"{w.name}.onnx")
        self.module, self.inputs = w.build(), w.inputs()
        names = export_workload(w, self.path)
        self.feeds = {n: t.numpy() for n, t in zip(names, self.inputs)}
        try:        # counted on our graph IR: a model our importer rejects has no count
            self.flops = model_flops(self.path)
        except Exception as e:  # noqa: BLE001 - ours' own compile reports the error
            self.flops = None
            _log(f"{w.name}: no FLOP count: {one_line(e)}")


def _engines(p: Prepared, threads: int, opt_level: int, result: ModelResult) -> dict:
    """The engines that could be set up (errors go into result.errors)."""
    makers = {"ours": lambda: Ours(p.path, p.feeds, threads, opt_level),
              "ort": lambda: OnnxRuntime(p.path, p.feeds, threads),
              "torch": lambda: TorchEager(p.module, p.inputs, threads)}
    if p.w.name == "matmul":
        (m, k), (_, n) = (a.shape for a in p.feeds.values())
        makers["numpy"] = lambda: NumpyMatMul(m, k, n, threads)
    engines = {}
    for name, make in makers.items():
        try:
            engines[name] = make()
        except Exception as e:  # noqa: BLE001 - record it; the other engines still run
            result.errors[name] = one_line(e)
    if "ours" in engines:
        result.compile_seconds = engines["ours"].compile_seconds
        result.compile_cpu_seconds = engines["ours"].compile_cpu_seconds
    return engines


def _compile_seconds(path: str, opt_level: int):
    """(wall, CPU) seconds of compiling `path` at `opt_level` for one thread, or None."""
    import compiler
    t0, cpu0 = time.perf_counter(), time.process_time()
    try:
        compiler.compile(path, opt_level=opt_level, num_threads=1)
    except Exception as e:  # noqa: BLE001 - the timed runs already report ours' errors
        _log(f"-O{opt_level} compile failed: {one_line(e)}")
        return None
    return time.perf_counter() - t0, time.process_time() - cpu0


def bench_model(p: Prepared, threads: int, runs: int, warmup: int, opt_level: int,
                settle: float = SETTLE) -> ModelResult:
    result = ModelResult(p.w.name, p.w.description, threads, flops=p.flops)
    engines = _engines(p, threads, opt_level, result)
    try:
        if "ours" in engines and "ort" in engines:
            try:
                result.max_error = max_abs_error(engines["ours"].outputs(),
                                                 engines["ort"].outputs())
            except Exception as e:  # noqa: BLE001 - a failing run is reported, not raised
                result.errors["ours"] = one_line(e)
                engines.pop("ours")
        workers = [e.proc.pid for e in engines.values() if isinstance(e, NumpyMatMul)]
        with OtherLoad(workers) as load:
            result.timings = interleaved(engines, runs, warmup, settle)
        result.other_load = load.fraction
    finally:
        for e in engines.values():
            e.close()
    return result


def _summary(r: ModelResult) -> str:
    parts = [f"{e} {r.ms(e):.2f} ms" if r.ms(e) is not None else f"{e} FAILED ({r.error(e)})"
             for e in ("ours", "ort", "torch", "numpy") if e in r.timings or e in r.errors]
    if r.compile_seconds is not None:
        parts.append(f"compile {r.compile_seconds:.1f} s")
    return f"[{r.threads} thr] {r.model}: " + ", ".join(parts)


def run(models, threads, runs: int, warmup: int, opt_level: int, out: str,
        workloads=WORKLOADS, command: str = "", settle: float = SETTLE) -> list:
    t_start = time.time()
    load_start = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="aicc-bench-") as workdir:
        prepared = {}
        for name in models:
            try:
                prepared[name] = Prepared(workloads[name], workdir)
            except Exception as e:  # noqa: BLE001 - the model cannot be benchmarked at all
                _log(f"{name}: cannot build/export: {one_line(e)}")
                for t in threads:
                    results.append(ModelResult(name, workloads[name].description, t,
                                               errors={"export": one_line(e)}))
        for t in threads:
            for name, p in prepared.items():
                r = bench_model(p, t, runs, warmup, opt_level, settle)
                _log(_summary(r))
                results.append(r)
        o2_compile = {}
        if "resnet18" in prepared and opt_level != 2:     # the compile-time target is at -O2
            o2_compile["resnet18"] = _compile_seconds(prepared["resnet18"].path, 2)
            _log(f"resnet18: -O2 compile {o2_compile['resnet18'][0]:.1f} s")
    settings = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "command": command or "(called from Python)",
        "opt level": opt_level, "threads": ", ".join(map(str, threads)),
        "runs": f"{runs} timed runs after {warmup} warm-ups per engine, interleaved; each "
                f"timed run follows {1e3 * settle:.0f} ms of untimed runs of the same engine",
        "load average (1 min) at start / end":
            f"{load_start[0]:.2f} / {os.getloadavg()[0]:.2f} (the end includes this run)",
        "wall time": f"{time.time() - t_start:.0f} s",
    }
    text = markdown(results, settings, machine(),
                    {n: workloads[n].description for n in models}, o2_compile)
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            f.write(text)
        _log(f"wrote {out}")
    return results


def _int_list(text: str) -> list:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(WORKLOADS),
                    help=f"comma-separated, of: {', '.join(WORKLOADS)} (default: all)")
    ap.add_argument("--threads", type=_int_list, default=[1, 2], help="default: 1,2")
    ap.add_argument("--runs", type=int, default=20, help="timed runs per engine (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    ap.add_argument("--settle-ms", type=float, default=SETTLE * 1e3,
                    help="untimed runs of an engine before each timed one (default %(default)g)")
    ap.add_argument("--opt-level", type=int, choices=(0, 1, 2, 3), default=3)
    ap.add_argument("--out", default=DEFAULT_OUT, help="the markdown report (default: %(default)s)")
    args = ap.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in args.models if m not in WORKLOADS]
    if unknown or not args.models:
        ap.error(f"unknown model(s) {', '.join(unknown) or '(none given)'}; "
                 f"known: {', '.join(WORKLOADS)}")
    if args.runs < 1 or args.warmup < 0 or args.settle_ms < 0:
        ap.error("--runs must be >= 1, --warmup and --settle-ms >= 0")
    return args


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    run(args.models, args.threads, args.runs, args.warmup, args.opt_level, args.out,
        command=" ".join(["python -m benchmarks.run", *argv]), settle=args.settle_ms / 1e3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
