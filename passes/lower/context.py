"""What a lowering rule is given: ComputeCtx for compute rules, KernelCtx for kernel rules."""
from __future__ import annotations

import itertools
import re
from typing import Optional

import numpy as np

from compiler.loop import Buffer, IRBuilder

from .registry import LoweringError
from .target import LowerTarget
from .tensor import TensorRef


def node_label(node) -> str:
    return f"node '{node.name}' ({node.op})" if node.name else f"{node.op} node"


class _RuleCtx:
    def __init__(self, node, inputs: list, target: LowerTarget):
        self.node = node
        self.inputs: list[Optional[TensorRef]] = inputs
        self.target = target

    @property
    def attrs(self) -> dict:
        return self.node.attrs

    def attr(self, name: str, default=None):
        return self.node.attrs.get(name, default)

    def const(self, i: int) -> Optional[np.ndarray]:
        """The value of input i when it is a graph constant, else None."""
        if i >= len(self.inputs) or self.inputs[i] is None:
            return None
        return self.inputs[i].value

    def lanes(self, dtype) -> int:
        return self.target.lanes(dtype)

    def error(self, msg: str) -> LoweringError:
        return LoweringError(f"{node_label(self.node)}: {msg}")


class ComputeCtx(_RuleCtx):
    def __init__(self, node, inputs, target, out, output_index: int = 0):
        super().__init__(node, inputs, target)
        self.out = out                     # TensorType of the result being computed
        self.output_index = output_index


class KernelCtx(_RuleCtx):
    """Kernel rules emit into `b`; `outputs` are where results go (with the fused epilogue)."""

    def __init__(self, node, inputs, outputs, target, module, func_name: str):
        super().__init__(node, inputs, target)
        self.outputs = outputs
        self.b = IRBuilder()
        self._module, self._func = module, func_name
        self._names = itertools.count()

    def fresh(self, hint: str) -> str:
        return f"{re.sub(r'[^A-Za-z0-9_]', '_', hint)}{next(self._names)}"

    def add_const(self, name: str, array: np.ndarray) -> Buffer:
        """A new module weight, e.g. weights packed at compile time."""
        return self._module.add_const(f"{self._func}_{self.fresh(name)}",
                                      np.ascontiguousarray(array))

    def scratch(self, name: str, dtype, shape) -> Buffer:
        """A kernel temporary in the arena's scratch region (shared by all threads)."""
        return self._module.scratch(f"{self._func}_{self.fresh(name)}", dtype, shape)
