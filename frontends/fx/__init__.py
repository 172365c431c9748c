"""The torch.fx frontend: `import_fx(model, example_inputs) -> Graph`.

    from frontends.fx import import_fx
    g = import_fx(model.eval(), (torch.randn(1, 3, 224, 224),))            # symbolic_trace
    g = import_fx(torch.export.export(model.eval(), (x,)))                 # torch.export

`model` is a `torch.fx.GraphModule` (e.g. from `torch.fx.symbolic_trace`), a plain
`torch.nn.Module` (traced here with `symbolic_trace`; a bare torch.nn layer becomes one module
call) or a `torch.export.ExportedProgram` (decomposed to core ATen first unless
`decompose=False`). The example inputs fix every shape and dtype (an ExportedProgram has its
own; examples then only specialise dynamic dims). Graph inputs are named after forward's
parameters; parameters and buffers become constants named by their qualified names that share
memory with the model's tensors. Every unsupported operation is listed in one
`UnsupportedError`; a model in training mode is refused (call `.eval()`).

The conversion tables are data: `lowering_modules.MODULES` (nn.Module types),
`lowering_torch.FUNCTIONS` / `METHODS` (functions, Python operators, tensor methods) and
`lowering_aten.ATEN` (aten ops), each mapping a torch target to a small builder (build_*.py)."""
from __future__ import annotations

from compiler.errors import AiccError

try:
    import torch
except ImportError:   # torch is an optional extra
    raise AiccError(
        "the torch.fx frontend needs PyTorch, which is not installed; install the CPU build "
        "with: pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu "
        "(or pip install 'aicc[torch]')") from None

from compiler.ir.graph import Graph

from .context import FxImportError
from .export_importer import import_exported_program
from .fx_importer import import_graph_module, trace


def import_fx(model, example_inputs=None, *, name=None, decompose: bool = True) -> Graph:
    """Import a torch model into graph IR (see the module docstring)."""
    from torch.export import ExportedProgram
    if isinstance(model, ExportedProgram):
        return import_exported_program(model, example_inputs, name, decompose)
    if isinstance(model, torch.fx.GraphModule):
        return import_graph_module(model, example_inputs, name)
    if isinstance(model, torch.nn.Module):
        try:
            gm = trace(model)
        except Exception as e:
            raise FxImportError(
                f"torch.fx.symbolic_trace could not trace {type(model).__name__}: "
                f"{type(e).__name__}: {e}. Models with data-dependent control flow can be "
                f"imported through torch.export: import_fx(torch.export.export(model, args))"
            ) from e
        return import_graph_module(gm, example_inputs, name or type(model).__name__)
    raise AiccError(f"import_fx expects a torch.nn.Module, torch.fx.GraphModule or "
                    f"torch.export.ExportedProgram, got {type(model).__name__}")


__all__ = ["import_fx", "FxImportError"]
