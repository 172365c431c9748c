"""The ONNX frontend: ModelProto (or a path to one) -> graph IR.

    from frontends.onnx import import_onnx
    g = import_onnx("model.onnx", input_shapes={"x": (1, 3, 224, 224)})

Every default-domain opset from 7 to the newest the installed onnx knows is read with the
meaning it had at the model's opset (see `opset_rules`; ops without a rule that ONNX defines by
a function body are expanded into it, see `functions`); `inspect_onnx` summarizes a model
without importing it.

Files: loader.py (reading, external data, checker, structural checks), tensors.py (dtypes,
weights, attributes), importer.py (graph construction, shapes, unsupported-op report),
context.py (what converters see), opset_rules.py (the rule table), converters_*.py (the rules
of ops whose meaning changed across opsets), functions.py, inspect.py."""
from __future__ import annotations

from typing import Mapping, Optional

try:
    import onnx  # noqa: F401
except ModuleNotFoundError as e:   # compiler.plugins turns this into a one-line install hint
    raise ModuleNotFoundError(f"the ONNX frontend needs the onnx package ({e})",
                              name=__name__) from e

from compiler.ir.graph import Graph

from .errors import OnnxImportError
from .importer import find_unsupported, import_model
from .inspect import ModelSummary, format_summary, inspect_onnx
from .loader import load
from .opset_rules import RULES, find_rule, supported_ops


def import_onnx(model, input_shapes: Optional[Mapping] = None, *, allow_dynamic: bool = False,
                base_dir: Optional[str] = None, check: bool = True,
                fold_shapes: bool = True) -> Graph:
    """Import an ONNX model as graph IR.

    model         a path (str / Path; external data is read from its directory), the model's
                  bytes, or an onnx.ModelProto (external data relative to `base_dir`, default
                  the current directory)
    input_shapes  {input name: shape} fixing (and overriding) input dims, e.g.
                  {"x": (1, 3, 224, 224)}; a str dim stays symbolic
    allow_dynamic keep unresolved dynamic input dims as symbolic dims (named after their
                  dim_param) instead of failing
    check         run onnx.checker first (on the file for paths; skipped for in-memory models
                  over 2 GB, which cannot be serialized)
    fold_shapes   evaluate shape computations known at import time (Shape of static tensors,
                  small all-constant subgraphs) so that computed shapes stay static

    Initializers that are also listed as graph inputs (IR version < 4 models) are imported as
    constants with their stored values, not as inputs.

    Raises an AiccError subclass (OnnxImportError, UnsupportedError, ...) with a one-line
    message naming the model and the node or tensor at fault."""
    loaded = load(model, base_dir=base_dir, check=check)
    return import_model(loaded, input_shapes, allow_dynamic, fold_shapes)


__all__ = ["import_onnx", "inspect_onnx", "format_summary", "ModelSummary", "OnnxImportError",
           "find_rule", "supported_ops", "RULES", "find_unsupported", "load"]
