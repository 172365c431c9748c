"""Lowering: graph IR -> loop IR (compute rules + kernel rules; see README.md).

    from passes.lower import lower_graph, LowerTarget
    lm = lower_graph(graph, LowerTarget(vector_bits=256, num_threads=2))"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from .registry import COMPUTE_RULES, KERNEL_RULES, LoweringError, compute, kernel
from .target import LowerTarget


@lru_cache(maxsize=None)
def load_rules() -> None:
    """Import every module of computes/ and kernels/ (each registers its rules)."""
    for pkg in ("computes", "kernels"):
        mod = importlib.import_module(f"{__name__}.{pkg}")
        for info in pkgutil.iter_modules(mod.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{mod.__name__}.{info.name}")


def lower_graph(graph, target=None):
    from .module import lower_graph as _lower
    return _lower(graph, target)


__all__ = ["lower_graph", "LowerTarget", "LoweringError", "compute", "kernel", "load_rules",
           "COMPUTE_RULES", "KERNEL_RULES"]
