"""aicc core: IR, op set, text format, verifier, pass infrastructure and rewrite engine, and the
driver (`compiler.compile`, `compiler.load`, `compiler.CompileConfig`; imported on first use so
that `import compiler` stays cheap)."""
from . import ops as _ops  # noqa: F401  (registers the op set)
from .errors import (AiccError, IRParseError, PassError, ShapeInferenceError, UnsupportedError,
                     VerificationError)
from .ir import Graph, Node, TensorType, Value, dtypes

_DRIVER = {"compile": "compile_model", "load": "load", "CompileConfig": "CompileConfig",
           "CompiledModel": "CompiledModel"}


def __getattr__(name: str):
    if name in _DRIVER:
        from . import driver
        return getattr(driver, _DRIVER[name])
    raise AttributeError(f"module 'compiler' has no attribute '{name}'")


# `compile` stays out of __all__: a star import must not shadow the builtin
__all__ = ["AiccError", "IRParseError", "PassError", "ShapeInferenceError", "UnsupportedError",
           "VerificationError", "Graph", "Node", "TensorType", "Value", "dtypes", "load",
           "CompileConfig", "CompiledModel"]
