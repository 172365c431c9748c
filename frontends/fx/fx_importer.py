"""The torch.fx path: a GraphModule (e.g. from `torch.fx.symbolic_trace`) plus example inputs.

Shapes come from running `ShapeProp` on the example inputs (buffers are restored afterwards, so
a model left in training mode is not changed); every converted node's type is checked against
the recorded `tensor_meta`. Leaf modules (`call_module`) convert through `lowering_modules`,
functions and Python operators (`call_function`) and tensor methods (`call_method`) through
`lowering_torch`."""
from __future__ import annotations

import inspect
from typing import Optional

import torch
from torch.fx.passes.shape_prop import ShapeProp

from compiler.errors import UnsupportedError
from compiler.ir.graph import Graph
from compiler.ir.types import TensorType

from . import lowering_aten, lowering_modules, lowering_torch
from .build_index import getitem
from .context import Ctx, FxImportError, NotConvertible, ir_dtype
from .walker import FOLD_AS, Target, Walker, qualified_name


class MethodCall:
    """Calls `Tensor.<name>` on its first argument (what a call_method node does)."""

    def __init__(self, name: str):
        self.__name__ = name

    def __call__(self, obj, *args, **kwargs):
        return getattr(obj, self.__name__)(*args, **kwargs)


LEAF_ROOT = "_leaf_root"   # the submodule name of a leaf module imported on its own


def module_label(mod) -> str:
    cls = type(mod)
    mod_name = cls.__module__
    if mod_name.startswith("torch.nn.modules."):
        mod_name = "torch.nn"
    return f"{mod_name}.{cls.__qualname__}"


def resolve(gm, node) -> Target:
    if node.op == "call_module":
        mod = gm.get_submodule(node.target)
        fn = lowering_modules.lookup(mod)
        inplace = 0 if getattr(mod, "inplace", False) is True else None
        path = "" if node.target == LEAF_ROOT else node.target
        return Target(module_label(mod), fn, mod, inplace, prefix=(mod,), module_path=path)
    if node.op == "call_method":
        name = node.target
        fn, inplace = lowering_torch.METHODS.get(name), None
        if fn is None and name.endswith("_") and not name.startswith("_"):
            fn, inplace = lowering_torch.METHODS.get(name[:-1]), 0
        return Target(f"Tensor.{name}", fn, MethodCall(name), inplace)
    target = node.target
    if isinstance(target, torch._ops.OpOverload):     # e.g. a GraphModule from ep.module()
        fn, inplace = lowering_aten.lookup(target)
        return Target(str(target), fn, FOLD_AS.get(target, target), inplace)
    fn = lowering_torch.FUNCTIONS.get(target)
    inplace = 0 if node.kwargs.get("inplace") is True else None
    return Target(qualified_name(target), fn, FOLD_AS.get(target, target), inplace,
                  accepts_missing=fn is getitem)


def trace(model: torch.nn.Module) -> torch.fx.GraphModule:
    """symbolic_trace, except that a module the tables convert directly (nn.Conv2d, ...) becomes
    one call_module node instead of being traced through (its forward may branch on values)."""
    if lowering_modules.lookup(model) is None or \
            not torch.fx.Tracer().is_leaf_module(model, ""):
        return torch.fx.symbolic_trace(model)
    graph = torch.fx.Graph()
    args = [graph.placeholder(p.name, default_value=p.default)
            for p in inspect.signature(model.forward).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    out = graph.call_module(LEAF_ROOT, tuple(args))
    out._rename(type(model).__name__.lower())
    graph.output(out)
    holder = torch.nn.Module()
    setattr(holder, LEAF_ROOT, model)
    return torch.fx.GraphModule(holder, graph, class_name=type(model).__name__)


def fetch_attr(root, target: str):
    obj = root
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def as_tuple(example_inputs) -> tuple:
    if example_inputs is None:
        return ()
    if isinstance(example_inputs, (list, tuple)):
        return tuple(example_inputs)
    return (example_inputs,)


def _shape_prop(gm, example_inputs) -> None:
    saved = {name: b.detach().clone() for name, b in gm.named_buffers()}
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(*example_inputs)
    except Exception as e:
        raise FxImportError(f"running the traced model on the example inputs failed: "
                            f"{type(e).__name__}: {e}") from e
    finally:
        with torch.no_grad():
            for name, b in gm.named_buffers():
                b.copy_(saved[name])


def add_input(cx: Ctx, name: str, example) -> object:
    """A graph input for a tensor example; other examples are baked in as Python values."""
    if not isinstance(example, torch.Tensor):
        return example
    try:
        dtype = ir_dtype(example.dtype)
    except NotConvertible as e:
        raise UnsupportedError(f"input '{name}': {e}") from None
    return cx.g.add_input(name, TensorType(dtype, tuple(example.shape)))


def prune(g: Graph) -> None:
    """Drop what the conversion made but nothing reads (unused tuple parts, unused weights)."""
    outputs = {id(v) for v in g.outputs}
    for node in reversed(list(g.nodes)):
        if all(not o.uses and id(o) not in outputs for o in node.outputs):
            g.erase_node(node)
    for c in list(g.constants):
        if not c.uses and id(c) not in outputs:
            g.erase_constant(c)


def import_graph_module(gm: torch.fx.GraphModule, example_inputs,
                        name: Optional[str] = None) -> Graph:
    examples = as_tuple(example_inputs)
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(examples) > len(placeholders):
        names = ", ".join(p.name for p in placeholders)
        raise FxImportError(f"{len(examples)} example inputs for a graph with "
                            f"{len(placeholders)} inputs ({names})")
    for p in placeholders[len(examples):]:
        if not p.args:
            raise FxImportError(f"import_fx needs example inputs (they fix the shapes): input "
                                f"'{p.target}' has none; pass example_inputs=(tensor, ...)")
    full = examples + tuple(p.args[0] for p in placeholders[len(examples):])
    _shape_prop(gm, full)
    g = Graph(name or type(gm).__name__)
    cx = Ctx(g)
    position = {p: i for i, p in enumerate(placeholders)}

    def bind(node):     # inputs are named as forward's parameters
        return add_input(cx, str(node.target).lstrip("*"), full[position[node]])

    def get_attr(node):
        obj = fetch_attr(gm, node.target)
        return cx.param(obj, node.target) if isinstance(obj, torch.Tensor) else obj

    walker = Walker(cx, lambda node: resolve(gm, node), "tensor_meta")
    outputs = walker.run(gm.graph, bind, get_attr)
    g.set_outputs(*walker.finish(outputs))
    prune(g)
    return g
