"""The one place where the core reaches the outer packages, by late import, so that `compiler/`
never imports `passes/`, `frontends/` or `backends/` statically (they register into the core)."""
from __future__ import annotations

import importlib

from .errors import AiccError


def _load(module: str, what: str, extra: str = ""):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and (e.name == module or module.startswith(e.name + ".")):
            hint = f"; install it with: pip install 'aicc[{extra}]'" if extra else ""
            raise AiccError(f"{what} is not available ({e.name} is not installed){hint}") from None
        raise


def load_passes():
    """Import the built-in passes so they register themselves."""
    return _load("passes", "the built-in pass library")


def reference_backend():
    return _load("backends.reference", "the reference interpreter")


def default_pipeline(opt_level: int) -> str:
    """The graph pipeline of `-O<level>`, as the pass library defines it."""
    passes = load_passes()
    return passes.default_pipeline(opt_level)


def onnx_frontend():
    """frontends.onnx (needs the `onnx` extra)."""
    return _load("frontends.onnx", "the ONNX frontend", extra="onnx")


def fx_frontend():
    """frontends.fx (needs torch: pip install torch==2.13.0, the CPU build)."""
    return _load("frontends.fx", "the torch.fx frontend", extra="torch")


def lower_graph(graph, **target):
    """Lower an optimized graph to a loop IR module: passes.lower.lower_graph(graph,
    LowerTarget(**target)) (target: vector_bits, num_threads, parallel, features, ...)."""
    lower = _load("passes.lower", "the graph-to-loop-IR lowering")
    return lower.lower_graph(graph, lower.LowerTarget(**target))


def llvm_backend():
    """backends.llvm: loop IR -> native code (JIT and shared libraries; needs llvmlite)."""
    return _load("backends.llvm", "the LLVM backend")
