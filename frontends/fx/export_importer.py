"""The torch.export path: an ExportedProgram, by default decomposed to core ATen first.

Parameters, buffers and lifted constants (placeholders the graph signature names) become graph
constants; user inputs become graph inputs with the shapes torch recorded (`node.meta["val"]`),
or those of the example inputs where the program has dynamic dims. Every converted node's type
is checked against `meta["val"]`."""
from __future__ import annotations

import operator
import warnings
from typing import Optional

import torch
from torch.export import ExportedProgram
from torch.export.graph_signature import InputKind, OutputKind
from torch.utils._pytree import tree_leaves

from compiler.ir.graph import Graph

from . import lowering_aten, lowering_torch
from .build_index import getitem
from .context import Ctx, FxImportError, type_of
from .fx_importer import add_input, as_tuple, fetch_attr, prune
from .walker import FOLD_AS, Target, Walker, qualified_name


def resolve(node) -> Target:
    target = node.target
    if node.op != "call_function":
        return Target(f"{node.op} {target}", None)
    if isinstance(target, torch._ops.OpOverload):
        fn, inplace = lowering_aten.lookup(target)
        return Target(str(target), fn, FOLD_AS.get(target, target), inplace)
    if isinstance(target, torch._ops.HigherOrderOperator):
        return Target(f"higher-order op {target.name()}", None)
    fn = lowering_torch.FUNCTIONS.get(target)
    return Target(qualified_name(target), fn, FOLD_AS.get(target, target),
                  accepts_missing=target is operator.getitem or fn is getitem)


def _user_examples(ep: ExportedProgram, example_inputs) -> list:
    if example_inputs is not None:
        return list(tree_leaves(as_tuple(example_inputs)))
    stored = getattr(ep, "example_inputs", None)
    return list(tree_leaves(stored)) if stored is not None else []


def import_exported_program(ep: ExportedProgram, example_inputs=None, name: Optional[str] = None,
                            decompose: bool = True) -> Graph:
    if decompose:
        with warnings.catch_warnings():   # torch-internal deprecation noise users can't act on
            warnings.filterwarnings("ignore", r".*isinstance\(treespec, LeafSpec\)", FutureWarning)
            ep = ep.run_decompositions()
    gm = ep.graph_module
    sig = ep.graph_signature
    specs = {spec.arg.name: spec for spec in sig.input_specs if hasattr(spec.arg, "name")}
    user = [s.arg.name for s in sig.input_specs if s.kind == InputKind.USER_INPUT]
    examples = _user_examples(ep, example_inputs)
    g = Graph(name or "main")
    cx = Ctx(g)

    def bind(node):
        spec = specs.get(node.name)
        if spec is None:
            raise FxImportError(f"placeholder '{node.name}' is not in the graph signature")
        if spec.kind in (InputKind.PARAMETER, InputKind.BUFFER, InputKind.CONSTANT_TENSOR):
            t = ep.state_dict.get(spec.target)
            if t is None:
                t = ep.constants.get(spec.target)
            if not isinstance(t, torch.Tensor):
                raise FxImportError(f"{spec.kind.name.lower()} '{spec.target}' is not a tensor")
            return cx.param(t, spec.target)
        if spec.kind != InputKind.USER_INPUT:
            raise FxImportError(f"input '{node.name}' of kind {spec.kind.name} is not supported")
        k = user.index(node.name)
        val = node.meta.get("val")
        if not isinstance(val, torch.Tensor):
            return val if k >= len(examples) else examples[k]
        if type_of(val) is None and k < len(examples):
            return add_input(cx, node.name, examples[k])
        if type_of(val) is None:
            raise FxImportError(f"input '{node.name}' has dynamic shape {list(val.shape)}; pass "
                                f"example_inputs to fix it")
        if k < len(examples) and isinstance(examples[k], torch.Tensor) and \
                tuple(examples[k].shape) != tuple(val.shape):
            raise FxImportError(f"example input '{node.name}' has shape "
                                f"{list(examples[k].shape)}, but the program was exported for "
                                f"the static shape {list(val.shape)}")
        return add_input(cx, node.name, val)

    def get_attr(node):
        obj = fetch_attr(gm, node.target)
        return cx.param(obj, node.target) if isinstance(obj, torch.Tensor) else obj

    walker = Walker(cx, resolve, "val")
    outputs = walker.run(gm.graph, bind, get_attr)
    selected = []
    for spec, out in zip(sig.output_specs, outputs):
        if spec.kind == OutputKind.USER_OUTPUT:
            selected.append(out)
        elif spec.kind in (OutputKind.BUFFER_MUTATION, OutputKind.USER_INPUT_MUTATION):
            walker.unsupported.setdefault(
                f"in-place update of {spec.kind.name.lower().replace('_', ' ')} "
                f"'{spec.target}' (e.g. batch norm in training mode; call model.eval() first)",
                []).append(spec.arg.name)
        else:
            walker.unsupported.setdefault(f"output kind {spec.kind.name}", []).append(
                spec.arg.name)
    g.set_outputs(*walker.finish(selected))
    prune(g)
    return g
