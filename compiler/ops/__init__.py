"""The graph op set (ONNX semantics at the newest opset). Importing this package registers every op."""
from . import (activation, conv, elementwise, fused, indexing, indexing_misc, layout,  # noqa: F401
               linalg, math_unary, normalization, pool, reduction, resize, shape_misc,
               shape_ops)
from .registry import OPS, REQUIRED, AttrSpec, OpCall, OpDef, OpKind, def_op, get_op

__all__ = ["OPS", "REQUIRED", "AttrSpec", "OpCall", "OpDef", "OpKind", "def_op", "get_op"]
