"""What `compiler.compile` accepts, turned into a graph: a path to .onnx or .ir (weights in the
.npz beside it), an onnx.ModelProto, a compiler Graph (copied, never changed), or a torch model
(nn.Module, fx.GraphModule, ExportedProgram) with example inputs."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Optional

from ..errors import AiccError
from ..ir.graph import Graph
from ..ir.infer import infer_node_types
from ..ir.types import TensorType
from .. import plugins


def _is_type(obj, module_prefix: str, names: tuple) -> bool:
    """Duck-type check that does not import the (heavy, optional) package itself."""
    return any(c.__module__.split(".")[0] == module_prefix and c.__name__ in names
               for c in type(obj).__mro__)


def load_source(source, input_shapes: Optional[Mapping] = None, example_inputs=None) -> Graph:
    if isinstance(source, Graph):
        graph = source.clone()
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        suffix = path.suffix.lower()
        if suffix == ".aicc":
            raise AiccError(f"{path} is a compiled artifact: open it with compiler.load() "
                            "(or aicc run), not compile()")
        if not path.exists():
            raise AiccError(f"no such model file: {path}")
        if suffix == ".onnx":
            return plugins.onnx_frontend().import_onnx(str(path), input_shapes)
        if suffix == ".ir":
            from ..ir.serialize import load_graph
            graph = load_graph(path)
        else:
            raise AiccError(f"cannot tell the format of {path}: expected a .onnx or .ir file")
    elif _is_type(source, "onnx", ("ModelProto",)):
        return plugins.onnx_frontend().import_onnx(source, input_shapes)
    elif _is_type(source, "torch", ("Module", "GraphModule", "ExportedProgram")):
        if example_inputs is None and not _is_type(source, "torch", ("ExportedProgram",)):
            raise AiccError("compiling a torch model needs example_inputs (a tuple of tensors "
                            "fixing every input's shape and dtype)")
        graph = plugins.fx_frontend().import_fx(source, example_inputs)
    else:
        raise AiccError(f"cannot compile a {type(source).__name__}: give a path to a .onnx or "
                        ".ir file, an onnx.ModelProto, a compiler Graph, or a torch model with "
                        "example_inputs")
    if example_inputs is not None and not _is_type(source, "torch",
                                                   ("Module", "GraphModule", "ExportedProgram")):
        raise AiccError("example_inputs are only for torch models; use input_shapes to fix "
                        "the input shapes of other models")
    if input_shapes:
        specialize_inputs(graph, input_shapes)
    return graph


def specialize_inputs(graph: Graph, shapes: Mapping) -> None:
    """Give graph inputs the shapes in `shapes` (their dims must agree with the declared static
    dims) and re-infer every node's result types."""
    by_name = {v.name: v for v in graph.inputs}
    for name, dims in shapes.items():
        v = by_name.get(name)
        if v is None:
            raise AiccError(f"input_shapes names '{name}', which is not an input of graph "
                            f"@{graph.name} (inputs: {', '.join(by_name) or 'none'})")
        old = v.type
        new = TensorType(old.dtype, dims)
        if new.rank != old.rank or any(isinstance(a, int) and isinstance(b, int) and a != b
                                       for a, b in zip(old.shape, new.shape)):
            raise AiccError(f"input_shapes['{name}'] = {list(dims)} does not fit input "
                            f"'{name}' of type {old}")
        v.type = new
    for node in graph.nodes:
        types = infer_node_types(node, len(node.outputs))
        for out, t in zip(node.outputs, types):
            out.type = t


def dynamic_values(graph: Graph) -> list:
    """Values whose type still has a symbolic dim (what lowering cannot take)."""
    return [v for v in graph.values() if not v.type.is_static]
