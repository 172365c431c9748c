"""The results of one benchmark run and RESULTS.md: the machine, one table per thread count, and
the issue's targets with PASS / MISS and the numbers they were judged on."""
from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from typing import Optional



WRONG_RESULT = 1e-3        # max |ours - ORT| / max(1, max |ORT|) beyond which ours is wrong


@dataclass
class ModelResult:
    model: str
    description: str
    threads: int
    flops: Optional[int] = None
    timings: dict = field(default_factory=dict)         # engine name -> Timing
    errors: dict = field(default_factory=dict)          # engine name -> one-line setup error
    compile_seconds: Optional[float] = None             # wall time of compiler.compile
    compile_cpu_seconds: Optional[float] = None         # its CPU time (this process)
    max_error: Optional[float] = None                   # ours vs onnxruntime, relative
    other_load: Optional[float] = None                  # CPU share other processes took

    def ms(self, engine: str) -> Optional[float]:
        t = self.timings.get(engine)
        return None if t is None or t.median is None else t.median * 1e3

    def error(self, engine: str) -> Optional[str]:
        t = self.timings.get(engine)
        return self.errors.get(engine) or (t.error if t is not None else None)

    def gflops(self, engine: str) -> Optional[float]:
        ms = self.ms(engine)
        return None if ms is None or not self.flops else self.flops / (ms * 1e-3) / 1e9

    @property
    def wrong(self) -> bool:
        """Ours' outputs differ from onnxruntime's by more than float32 rounding explains."""
        return self.max_error is not None and not self.max_error <= WRONG_RESULT

    def ratio(self) -> Optional[float]:
        ours, ort = self.ms("ours"), self.ms("ort")
        return None if ours is None or ort is None else ours / ort


# ---- the machine ---------------------------------------------------------------------------------
def _cpuinfo() -> dict:
    """The first processor's fields of /proc/cpuinfo ({} where there is none)."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                info[key.strip()] = value.strip()
    except OSError:
        pass
    return info


def _cpu_description() -> dict:
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    return {"CPU": info.get("model name") or platform.processor() or "unknown",
            "cores per package / logical CPUs per package":
                f"{info.get('cpu cores', '?')} / {info.get('siblings', '?')}",
            "SIMD flags": ", ".join(simd) or "none of avx2/fma/avx512f"}


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict:
    import llvmlite.binding as llvm
    import numpy as np
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - older numpy
        blas = "unknown"
    return {
        **_cpu_description(), "LLVM host CPU": llvm.get_host_cpu_name(),
        "cores (os.cpu_count)": str(os.cpu_count()),
        "usable cores (affinity)": str(len(os.sched_getaffinity(0)))
        if hasattr(os, "sched_getaffinity") else "?",
        "Python": platform.python_version(), "llvmlite": _version("llvmlite"),
        "LLVM": ".".join(map(str, llvm.llvm_version_info)),
        "onnxruntime": _version("onnxruntime"), "torch": _version("torch"),
        "numpy": f"{np.__version__} (BLAS: {blas})", "onnx": _version("onnx"),
    }


# ---- targets -------------------------------------------------------------------------------------
def _find(results, model, threads) -> Optional[ModelResult]:
    return next((r for r in results if r.model == model and r.threads == threads), None)


def _not_run(r: Optional[ModelResult], engine: str) -> Optional[tuple]:
    """(status, reason) when `engine` has no valid timing in `r`, else None."""
    if r is None:
        return "NOT MEASURED", "not in this run"
    if r.ms(engine) is None:
        return "MISS", f"{engine} did not run: {r.error(engine) or 'no timing'}"
    if engine == "ours" and r.wrong:
        return "MISS", f"ours computes a wrong result (max err vs ORT {r.max_error:.1e})"
    return None


def _busy(r: ModelResult) -> str:
    if r.other_load is None or r.other_load <= 0.05:
        return ""
    return f" (other processes used {100 * r.other_load:.0f}% of the CPUs meanwhile)"


def targets(results, opt_level: int, o2_compile: Optional[dict] = None) -> list:
    """(target, status, measured) rows. `o2_compile` maps a model to the (wall, CPU) seconds of
    an extra -O2 compile, made when the run's own level is not 2."""
    rows = []
    mm = _find(results, "matmul", 1)
    missing = _not_run(mm, "ours") or _not_run(mm, "numpy")
    if missing:
        rows.append(("MatMul 1024^3, 1 thread: ours >= 70% of numpy/OpenBLAS GFLOP/s", *missing))
    else:
        frac = mm.gflops("ours") / mm.gflops("numpy")
        rows.append(("MatMul 1024^3, 1 thread: ours >= 70% of numpy/OpenBLAS GFLOP/s",
                     "PASS" if frac >= 0.7 else "MISS",
                     f"ours {mm.gflops('ours'):.1f} GFLOP/s, numpy {mm.gflops('numpy'):.1f} "
                     f"GFLOP/s: {100 * frac:.0f}%{_busy(mm)}"))
    for model, label in (("resnet18", "ResNet-18"), ("transformer", "Transformer encoder")):
        r = _find(results, model, 1)
        text = f"{label}, 1 thread: ours within 1.5x of onnxruntime's latency"
        missing = _not_run(r, "ours") or _not_run(r, "ort")
        if missing:
            rows.append((text, *missing))
            continue
        rows.append((text, "PASS" if r.ratio() <= 1.5 else "MISS",
                     f"ours {r.ms('ours'):.2f} ms, ORT {r.ms('ort'):.2f} ms: {r.ratio():.2f}x"
                     f"{_busy(r)}"))
    text = "ResNet-18 compiles at -O2 in under 60 s"
    compiled = [r for r in results if r.model == "resnet18" and r.compile_seconds is not None]
    if opt_level != 2 and (o2_compile or {}).get("resnet18"):
        wall, cpu = o2_compile["resnet18"]
        rows.append((text, "PASS" if wall < 60 else "MISS",
                     f"{wall:.1f} s wall, {cpu:.1f} s CPU (1 thread; a separate -O2 compile, "
                     f"the timed models are -O{opt_level})"))
    elif opt_level != 2:
        rows.append((text, "NOT MEASURED", f"this run compiled at -O{opt_level}"))
    elif compiled:
        worst = max(r.compile_seconds for r in compiled)
        rows.append((text, "PASS" if worst < 60 else "MISS",
                     "; ".join(f"{r.compile_seconds:.1f} s wall, {r.compile_cpu_seconds:.1f} s "
                               f"CPU ({r.threads} thread{'s' if r.threads > 1 else ''})"
                               for r in compiled)))
    else:
        r = next((r for r in results if r.model == "resnet18"), None)
        rows.append((text, *(_not_run(r, "ours") or ("MISS", "no compile time"))))
    return rows


# ---- markdown ------------------------------------------------------------------------------------
def _cell(x, fmt="{:.2f}") -> str:
    return "—" if x is None else fmt.format(x)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


COLUMNS = ("model", "GFLOP", "ours ms", "ORT ms", "torch ms", "numpy ms", "ours/ORT",
           "ours GFLOP/s", "compile s", "notes")


def _compile_cell(r: ModelResult) -> str:
    if r.compile_seconds is None:
        return "—"
    return f"{r.compile_seconds:.1f} ({r.compile_cpu_seconds:.1f} CPU)"


def _row(r: ModelResult) -> str:
    notes = [f"{e}: {_escape(r.error(e))}" for e in ("ours", "ort", "torch", "numpy")
             if r.error(e)]
    if r.max_error is not None:
        notes.append(f"max err vs ORT {r.max_error:.1e}" + (" (WRONG RESULT)" if r.wrong else ""))
    noisy = [f"{e} {100 * r.timings[e].spread:.0f}%" for e in r.timings
             if r.timings[e].spread is not None and r.timings[e].spread > 0.1]
    if noisy:
        notes.append("IQR/median " + ", ".join(noisy))
    if r.other_load is not None and r.other_load > 0.05:
        notes.append(f"other processes used {100 * r.other_load:.0f}% of the CPUs")
    if r.ms("numpy") is not None:
        notes.append(f"numpy {r.gflops('numpy'):.1f} GFLOP/s")
    cells = [r.model, _cell(r.flops and r.flops / 1e9, "{:.3f}"), _cell(r.ms("ours")),
             _cell(r.ms("ort")), _cell(r.ms("torch")), _cell(r.ms("numpy")),
             _cell(r.ratio(), "{:.2f}x"), _cell(r.gflops("ours"), "{:.1f}"),
             _compile_cell(r), "; ".join(notes)]
    return "| " + " | ".join(cells) + " |"


LEGEND = ("Latencies are medians; ours/ORT < 1 means we are faster. GFLOP/s counts 2 x the "
          "multiply-accumulates of MatMul, Gemm and Conv nodes. `compile s` is the wall time of "
          "`compiler.compile` for that thread count (its CPU time in brackets). Notes list setup "
          "and run errors; ours' largest output difference from onnxruntime (relative to max(1, "
          "max |ORT|)); engines whose runs spread by more than 10% (interquartile range / "
          "median); and the share of the machine's CPU time other processes took while the row "
          "was timed (when above 5%).")


def markdown(results, settings: dict, machine_info: dict, descriptions: dict,
             o2_compile: Optional[dict] = None) -> str:
    out = ["# Benchmark results", "",
           "Written by `python -m benchmarks.run` (see benchmarks/README.md); do not edit by hand.",
           "", "## Machine", ""]
    out += [f"- {k}: {v}" for k, v in machine_info.items()]
    out += ["", "## Settings", ""]
    out += [f"- {k}: {v}" for k, v in settings.items()]
    out += ["", "## Models", ""]
    out += [f"- `{name}`: {text}" for name, text in descriptions.items()]
    for threads in sorted({r.threads for r in results}):
        out += ["", f"## {threads} thread{'s' if threads > 1 else ''}", "",
                "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        out += [_row(r) for r in results if r.threads == threads]
    out += ["", LEGEND, "", "## Targets", "", "| target | status | measured |", "|---|---|---|"]
    out += [f"| {t} | {s} | {_escape(m)} |" for t, s, m in targets(results,
                                                                     settings["opt level"],
                                                                     o2_compile)]
    return "\n".join(out) + "\n"
