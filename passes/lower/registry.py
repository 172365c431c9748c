"""The two rule tables of lowering, filled by the modules of computes/ and kernels/.

compute rules say what one output element is (elementwise, broadcast and injective ops); they
are inlined into their consumers and never allocate memory. Kernel rules emit loop nests
(reductions, matmul, conv, pooling, normalisations, ...). An op has at most one of the two."""
from __future__ import annotations

from typing import Callable

from compiler.errors import AiccError

COMPUTE_RULES: dict[str, Callable] = {}
KERNEL_RULES: dict[str, Callable] = {}


class LoweringError(AiccError):
    """A graph the lowering cannot turn into loop IR (names the node, op and reason)."""


def _register(table: dict, other: dict, kind: str, ops):
    def deco(fn):
        for op in ops:
            if op in table or op in other:
                raise ValueError(f"op {op} already has a lowering rule")
            table[op] = fn
        return fn
    return deco


def compute(*ops: str):
    """Register `fn(cc: ComputeCtx, idx) -> Expr` as the element rule of `ops`."""
    return _register(COMPUTE_RULES, KERNEL_RULES, "compute", ops)


def kernel(*ops: str):
    """Register `fn(kc: KernelCtx) -> None` (emits into kc.b) as the loop-nest rule of `ops`."""
    return _register(KERNEL_RULES, COMPUTE_RULES, "kernel", ops)


def lowerable_ops() -> set:
    from . import load_rules
    load_rules()
    return set(COMPUTE_RULES) | set(KERNEL_RULES)
