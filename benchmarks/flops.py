"""FLOPs of a model: 2 x the multiply-accumulates of its MatMul, Gemm and Conv nodes, counted on
the graph IR as the ONNX importer produces it (elementwise ops, pooling and normalisation are
left out, as is usual for GFLOP/s figures)."""
from __future__ import annotations

import math

from frontends.onnx import import_onnx


def _matmul_macs(node) -> int:
    a, _ = (v.type.shape for v in node.inputs[:2])
    return math.prod(node.outputs[0].type.shape) * int(a[-1])


def _gemm_macs(node) -> int:
    a = node.inputs[0].type.shape
    k = a[0] if node.attrs.get("transA", 0) else a[1]
    return math.prod(node.outputs[0].type.shape) * int(k)


def _conv_macs(node) -> int:
    w = node.inputs[1].type.shape            # (M, C / group, k0, k1, ...)
    return math.prod(node.outputs[0].type.shape) * math.prod(int(d) for d in w[1:])


_MACS = {"MatMul": _matmul_macs, "Gemm": _gemm_macs, "Conv": _conv_macs}


def graph_flops(graph) -> int:
    return 2 * sum(_MACS[n.op](n) for n in graph.nodes if n.op in _MACS)


def model_flops(onnx_path) -> int:
    return graph_flops(import_onnx(onnx_path))
