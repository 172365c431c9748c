"""`inspect_onnx`: what is in an ONNX model (metadata, opsets, inputs/outputs, op counts,
parameters) and what of it aicc cannot import, without importing it. Weights are not read:
sizes come from the initializers' dims and element types."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Optional


from .errors import OnnxImportError, one_line
from .importer import find_unsupported
from .loader import DEFAULT_DOMAINS, TWO_GB, LoadedModel, load
from .tensors import (dtype_label, format_dims, itemsize_bits, tensor_type_of,
                      uses_external_data)


@dataclass
class TensorInfo:
    name: str
    dtype: str
    shape: str


@dataclass
class ModelSummary:
    source: str
    ir_version: int
    producer: str
    opsets: list                 # [(domain, version)]
    graph_name: str
    inputs: list                 # [TensorInfo]
    outputs: list
    op_counts: list              # [(op, count)], most frequent first
    num_nodes: int
    num_initializers: int
    num_parameters: int
    parameter_bytes: int
    external_initializers: int
    unsupported: list            # [(op, opset, count, reason, [node names])]
    checker: str                 # "passed", "failed: ..." or "skipped: ..."
    local_functions: int = 0
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def human_bytes(n: int) -> str:
    units = ("bytes", "KiB", "MiB", "GiB", "TiB")
    value, unit = float(n), 0
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{n} bytes" if unit == 0 else f"{value:.1f} {units[unit]} ({n:,} bytes)"


def _tensor_info(vi) -> TensorInfo:
    try:
        elem, dims = tensor_type_of(vi)
    except Exception as e:   # sequences, maps, optionals
        return TensorInfo(vi.name, one_line(e).split("has type ")[-1].split(";")[0], "")
    return TensorInfo(vi.name, dtype_label(elem) if elem is not None else "?",
                      format_dims(dims))


def _op_name(node) -> str:
    return node.op_type if node.domain in DEFAULT_DOMAINS else f"{node.domain}::{node.op_type}"


def inspect_onnx(model, base_dir: Optional[str] = None, check: bool = True) -> ModelSummary:
    """Summarize `model` (a path, bytes or an onnx.ModelProto)."""
    loaded = load(model, base_dir=base_dir, check=False, inline_functions=False)
    m, g = loaded.proto, loaded.graph
    inits = {t.name for t in g.initializer} | {s.values.name for s in g.sparse_initializer}
    counts = Counter(_op_name(n) for n in g.node)
    n_params = n_bytes = external = 0
    for t in list(g.initializer) + [s.values for s in g.sparse_initializer]:
        numel = math.prod(t.dims)
        bits = itemsize_bits(t.data_type)
        n_params += numel
        n_bytes += (numel * bits + 7) // 8 if bits else len(t.raw_data)
        external += uses_external_data(t)
    checker = "not run"
    if check:
        checker = _check(loaded)
    scan = loaded
    if m.functions and m.ByteSize() < TWO_GB:     # the inliner serializes the model
        try:
            from onnx import inliner
            scan = LoadedModel(inliner.inline_local_functions(m), loaded.source,
                               loaded.base_dir, loaded.path)
        except Exception:
            pass
    unsupported = [(u.qualified, u.opset, u.count, u.reason, list(u.nodes))
                   for u in find_unsupported(scan)]
    producer = " ".join(p for p in (m.producer_name, m.producer_version) if p) or "unknown"
    return ModelSummary(
        source=loaded.source, ir_version=int(m.ir_version), producer=producer,
        opsets=[(o.domain or "ai.onnx", int(o.version)) for o in m.opset_import],
        graph_name=g.name, inputs=[_tensor_info(vi) for vi in g.input if vi.name not in inits],
        outputs=[_tensor_info(vi) for vi in g.output],
        op_counts=sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])),
        num_nodes=len(g.node), num_initializers=len(inits), num_parameters=n_params,
        parameter_bytes=n_bytes, external_initializers=external, unsupported=unsupported,
        checker=checker, local_functions=len(m.functions))


def _check(loaded: LoadedModel) -> str:
    from .loader import run_checker
    try:
        run_checker(loaded)
    except OnnxImportError as e:
        return "failed: " + str(e).split("(onnx.checker): ", 1)[-1]
    return f"skipped: {loaded.check_skipped}" if loaded.check_skipped else "passed"


def format_summary(s: ModelSummary) -> str:
    lines = [f"model:       {s.source}",
             f"ir_version:  {s.ir_version}",
             f"producer:    {s.producer}",
             f"opsets:      " + ", ".join(f"{d} {v}" for d, v in s.opsets),
             f"graph:       {s.graph_name or '(unnamed)'}",
             f"checker:     {s.checker}"]
    if s.local_functions:
        lines.append(f"functions:   {s.local_functions} model-local (inlined on import)")
    width = max([len(t.name) for t in s.inputs + s.outputs] + [4])
    lines.append(f"inputs ({len(s.inputs)}):")
    lines += [f"  {t.name:<{width}}  {t.dtype}{t.shape}" for t in s.inputs]
    lines.append(f"outputs ({len(s.outputs)}):")
    lines += [f"  {t.name:<{width}}  {t.dtype}{t.shape}" for t in s.outputs]
    ext = f", {s.external_initializers} in external data" if s.external_initializers else ""
    lines.append(f"parameters:  {s.num_parameters:,} in {s.num_initializers} initializers{ext}, "
                 f"{human_bytes(s.parameter_bytes)}")
    lines.append(f"ops ({s.num_nodes} nodes, {len(s.op_counts)} op types):")
    w = max([len(op) for op, _ in s.op_counts] + [4])
    lines += [f"  {op:<{w}}  {n}" for op, n in s.op_counts]
    if not s.unsupported:
        lines.append("unsupported: none (every operator has a conversion rule)")
    else:
        total = sum(u[2] for u in s.unsupported)
        lines.append(f"unsupported ({len(s.unsupported)} op types, {total} nodes):")
        w = max(len(u[0]) for u in s.unsupported)
        for op, opset, count, reason, nodes in s.unsupported:
            shown = ", ".join(nodes[:3]) + (", ..." if len(nodes) > 3 else "")
            lines.append(f"  {op:<{w}}  {count}  (opset {opset}: {reason}; e.g. {shown})")
    return "\n".join(lines) + "\n"
