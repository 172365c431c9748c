"""aicc core: IR, op set, text format, verifier, pass infrastructure and rewrite engine."""
from . import ops as _ops  # noqa: F401  (registers the op set)
from .errors import (AiccError, IRParseError, PassError, ShapeInferenceError, UnsupportedError,
                     VerificationError)
from .ir import Graph, Node, TensorType, Value, dtypes

__all__ = ["AiccError", "IRParseError", "PassError", "ShapeInferenceError", "UnsupportedError",
           "VerificationError", "Graph", "Node", "TensorType", "Value", "dtypes"]
