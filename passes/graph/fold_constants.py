"""fold-constants: evaluate every node whose operands are all constants, and every Shape/Size of
a statically shaped value, with the op's reference semantics; then refine result types that the
new constants make static (a Reshape whose shape just became known)."""
from __future__ import annotations

import numpy as np

from compiler.errors import AiccError
from compiler.ir.infer import infer_node_types
from compiler.ir.types import TensorType, types_compatible
from compiler.ops import OPS
from compiler.ops.registry import make_call
from compiler.transform import Pass, option, register_pass

_SHAPE_OPS = ("Shape", "Size")


def _evaluate(node):
    op = OPS[node.op]
    values = [v.data if v is not None else None for v in node.inputs]
    types = [v.type if v is not None else None for v in node.inputs]
    call = make_call(op, node.name or node.outputs[0].name, node.attrs, types, values,
                     len(node.outputs))
    if node.op in _SHAPE_OPS and node.inputs[0].data is None:
        # only the shape is known: evaluate on a stand-in without allocating real data
        stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, node.inputs[0].dtype.np_dtype),
                                                   node.inputs[0].shape,
                                                   (0,) * node.inputs[0].type.rank)
        call.values[0] = stand_in
    return op.compute(call)


# Ops whose result is not a function of their operands must never be evaluated at compile time.
_NONDETERMINISTIC = ("RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                     "Bernoulli", "Multinomial", "Dropout")


def _foldable(node) -> bool:
    if node.op in _NONDETERMINISTIC:
        return False
    present = [v for v in node.inputs if v is not None]
    if node.op in _SHAPE_OPS and present and present[0].type.is_static:
        return True
    return bool(present) and all(v.is_constant for v in present)


@register_pass
class FoldConstants(Pass):
    """Evaluate subgraphs whose inputs are all constants (incl. shape arithmetic)."""
    name = "fold-constants"
    opt_level = 1
    max_bytes: int = option(64 << 20, "largest constant (in bytes) folding may create")

    def run(self, graph, ctx) -> bool:
        folded = refined = 0
        for node in list(graph.nodes):
            if node.graph is not graph or node.op not in OPS:
                continue
            if _foldable(node):
                if self._fold(graph, node, ctx):
                    folded += 1
                    continue
            refined += self._refine(node, ctx)
        if folded or refined:
            ctx.log(f"folded {folded} nodes, refined {refined} result types", self.name)
        return bool(folded or refined)

    def _fold(self, graph, node, ctx) -> bool:
        if not all(o.type.is_static for o in node.outputs):
            return False
        size = sum(o.type.nbytes for o in node.outputs)
        if size > self.max_bytes:
            ctx.log(f"not folding {node.describe()}: result of {size} bytes exceeds "
                    f"max-bytes={self.max_bytes}", self.name)
            return False
        try:
            results = _evaluate(node)
        except (AiccError, ValueError, ArithmeticError, IndexError, TypeError) as e:
            ctx.log(f"not folding {node.describe()}: {e}", self.name)
            return False
        for out, arr in zip(node.outputs, results):
            arr = np.asarray(arr)
            if arr.dtype != out.dtype.np_dtype or arr.shape != out.shape:
                ctx.log(f"not folding {node.describe()}: evaluation gave {arr.dtype}"
                        f"{list(arr.shape)}, declared {out.type}", self.name)
                return False
        for out, arr in zip(node.outputs, results):
            const = graph.add_constant(np.ascontiguousarray(arr), out.name + "_folded")
            graph.replace_all_uses_with(out, const)
        graph.erase_node(node)
        return True

    def _refine(self, node, ctx) -> int:
        """Re-run the shape rule; adopt a result type that is strictly more static."""
        if all(o.type.is_static for o in node.outputs):
            return 0
        try:
            types = infer_node_types(node, len(node.outputs))
        except AiccError:
            return 0
        changed = 0
        for out, t in zip(node.outputs, types):
            if t != out.type and types_compatible(t, out.type) and _more_static(t, out.type):
                out.type = TensorType(t.dtype, t.shape)
                changed += 1
        return changed


def _more_static(new: TensorType, old: TensorType) -> bool:
    n = sum(isinstance(d, int) for d in new.shape)
    o = sum(isinstance(d, int) for d in old.shape)
    return n > o
