"""The driver: `compile` a model to native code, `load` a saved artifact, run it.

    import compiler
    m = compiler.compile("model.onnx", opt_level=2)       # -> CompiledModel
    outs = m.run({"x": x}); y = m(x)
    m.save("model.aicc"); m2 = compiler.load("model.aicc")

Files: config.py (CompileConfig), source.py (what can be compiled -> graph IR), compile.py (the
phases: import, graph passes, lowering, loop passes, codegen), native.py (building and loading
shared libraries through the backend), artifact.py (the one-file format), model.py
(CompiledModel, load)."""
from .artifact import ArtifactError
from .compile import Compilation, compile_model, emit
from .config import CompileConfig, ConfigError
from .model import CompiledModel, InputError, TensorSpec, load

__all__ = ["ArtifactError", "Compilation", "compile_model", "emit", "CompileConfig",
           "ConfigError", "CompiledModel", "InputError", "TensorSpec", "load"]
