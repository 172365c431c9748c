"""Walk an fx graph in program order and convert each node with the builder a lookup finds.

Shared by the torch.fx (symbolic_trace) path and the torch.export path; they differ only in how
placeholders are bound and how a node's target is looked up. Every unsupported target is
collected (the walk goes on, poisoning what depends on it) and reported in one error; each
converted node's result type is checked against the shape/dtype torch recorded for it."""
from __future__ import annotations

import builtins
import inspect
import math
import operator
from dataclasses import dataclass
from typing import Any, Callable, Optional

import torch
from torch.fx.node import map_aggregate

from compiler.errors import AiccError

from .context import Ctx, FxImportError, Missing, NotConvertible, is_value, type_of, \
    unsupported_error

_RANDOM = ("rand", "normal", "bernoulli", "multinomial", "dropout", "uniform", "poisson",
           "exponential", "empty")


@dataclass
class Target:
    """What a node calls: a printable label, the builder (None if unsupported), the callable
    torch would run (for evaluating calls on Python values / constants) and the index of the
    argument the call mutates in place (None if it does not)."""
    label: str
    builder: Optional[Callable]
    torch_fn: Optional[Callable] = None
    inplace_arg: Optional[int] = None
    accepts_missing: bool = False    # getitem: picking a present element of a tuple is fine
    prefix: tuple = ()               # leading builder arguments (the module of call_module)
    module_path: str = ""            # the called module's qualified name (names its weights)


class _Poison:
    """The result of a node that could not be converted."""


POISON = _Poison()


def zeros_instead(*size, dtype=None, **_):
    """torch.empty / aten.empty evaluated at import: zeros, not uninitialised memory."""
    return torch.zeros(*size, dtype=dtype)


def zeros_strided(size, stride, *, dtype=None, **_):
    return torch.zeros(size, dtype=dtype)


FOLD_AS = {torch.empty: zeros_instead, torch.ops.aten.empty.memory_format: zeros_instead,
           torch.ops.aten.empty_strided.default: zeros_strided}


def _leaves(obj) -> list:
    out = []
    map_aggregate(obj, lambda x: out.append(x) or x)
    return out


def _is_random(fn) -> bool:
    name = (getattr(fn, "__name__", "") or type(fn).__name__).lower()
    return any(r in name for r in _RANDOM)


def _python_level(fn) -> bool:
    """operator.*, math.*, builtins: shape arithmetic rather than tensor operations."""
    return getattr(fn, "__module__", None) in ("_operator", "operator", "math", "builtins")


class Walker:
    def __init__(self, cx: Ctx, resolve: Callable[[Any], Target], meta_key: str):
        self.cx = cx
        self.resolve = resolve
        self.meta_key = meta_key
        self.unsupported: dict[str, list] = {}

    def _record(self, label: str, node) -> None:
        self.unsupported.setdefault(label, []).append(node.name)

    # ---- one node -------------------------------------------------------------------------
    def convert(self, node, env: dict):
        cx = self.cx
        target = self.resolve(node)
        cx.module_path = target.module_path
        args = map_aggregate(node.args, lambda a: env[a] if isinstance(a, torch.fx.Node) else a)
        kwargs = map_aggregate(node.kwargs,
                               lambda a: env[a] if isinstance(a, torch.fx.Node) else a)
        leaves = _leaves((args, kwargs))
        if any(leaf is POISON for leaf in leaves):
            if target.builder is None and not _python_level(target.torch_fn):
                self._record(target.label, node)
            return POISON
        missing = [leaf for leaf in leaves if isinstance(leaf, Missing)]
        if missing and not target.accepts_missing:
            self._record(f"{target.label} of {missing[0].why}", node)
            return POISON
        try:
            if not any(is_value(leaf) for leaf in leaves) and target.torch_fn is not None \
                    and not _is_random(target.torch_fn):
                # no graph values: shape arithmetic or a factory, evaluated right here
                result = target.torch_fn(*args, **kwargs)
            elif target.builder is not None:
                if kwargs.get("out") is not None:
                    raise NotConvertible("an out= argument (writes into an existing tensor)")
                result = self._build(target, args, kwargs)
            elif self._foldable(target, leaves):
                result = target.torch_fn(*map_aggregate(args, cx.to_torch),
                                         **map_aggregate(kwargs, cx.to_torch))
            else:
                self._record(target.label, node)
                return POISON
            result = map_aggregate(result, lambda r: cx.const(r, name=node.name)
                                   if isinstance(r, torch.Tensor) else r)
        except NotConvertible as e:
            self._record(f"{target.label}: {e}", node)
            return POISON
        except AiccError as e:
            raise FxImportError(f"converting fx node '{node.name}' ({target.label}): {e}") from e
        self._check_meta(node, target, result)
        if target.inplace_arg is not None and target.inplace_arg < len(node.args):
            mutated = node.args[target.inplace_arg]
            if isinstance(mutated, torch.fx.Node):
                env[mutated] = result      # later readers of the mutated tensor see the result
        return result

    def _foldable(self, target: Target, leaves) -> bool:
        vals = [leaf for leaf in leaves if is_value(leaf)]
        return (target.torch_fn is not None and not _is_random(target.torch_fn)
                and all(v.data is not None for v in vals))

    def _build(self, target: Target, args, kwargs):
        args = target.prefix + tuple(args)
        try:
            inspect.signature(target.builder).bind(self.cx, *args, **kwargs)
        except TypeError as e:
            raise NotConvertible(f"unsupported arguments ({e})") from None
        return target.builder(self.cx, *args, **kwargs)

    # ---- checks and names -----------------------------------------------------------------
    def _check_meta(self, node, target: Target, result) -> None:
        meta = node.meta.get(self.meta_key)
        if meta is None:
            return

        def check(ours, theirs):
            if is_value(ours) and hasattr(theirs, "shape") and hasattr(theirs, "dtype"):
                expect = type_of(theirs)
                if expect is not None and ours.type != expect:
                    raise FxImportError(
                        f"converting fx node '{node.name}' ({target.label}) gave {ours.type}, "
                        f"but torch computed {expect}; this is a bug in the aicc fx frontend")
            elif isinstance(ours, (tuple, list)) and isinstance(theirs, (tuple, list)):
                for a, b in zip(ours, theirs):
                    check(a, b)
        check(result, meta)

    def name_results(self, node, result, first_new: int) -> None:
        """Name the values this node produced after it (its loc is already set by cx.op)."""
        new_nodes = {id(n) for n in self.cx.g.nodes[first_new:]}
        values = [result] if is_value(result) else \
            [r for r in result if is_value(r)] if isinstance(result, (tuple, list)) else []
        for k, v in enumerate(values):
            if v.producer is not None and id(v.producer) in new_nodes and v.name.isdigit():
                hint = node.name if len(values) == 1 else f"{node.name}_{k}"
                self.cx.g.rename(v, self.cx.g.fresh_name(hint))

    # ---- the whole graph ------------------------------------------------------------------
    def run(self, fx_graph, bind_placeholder: Callable, get_attr: Callable):
        """Convert every node; returns the output node's argument with our values in it."""
        cx = self.cx
        env: dict = {}
        outputs = None
        for node in fx_graph.nodes:
            cx.node, cx.module_path = node, ""
            if node.op == "placeholder":
                env[node] = bind_placeholder(node)
            elif node.op == "get_attr":
                env[node] = get_attr(node)
            elif node.op == "output":
                outputs = map_aggregate(node.args[0], lambda a: env[a]
                                        if isinstance(a, torch.fx.Node) else a)
            else:
                first_new = len(cx.g.nodes)
                env[node] = self.convert(node, env)
                if env[node] is not POISON:
                    self.name_results(node, env[node], first_new)
        cx.node, cx.module_path = None, ""
        return outputs

    def finish(self, outputs) -> tuple[list, list]:
        """Raise the collected unsupported targets, if any; else the flat list of output values
        and their (unique) names."""
        leaves = [] if outputs is None else _leaves(outputs)
        for leaf in leaves:
            if isinstance(leaf, Missing):
                self.unsupported.setdefault(f"returning {leaf.why}", []).append("output")
        if self.unsupported:
            raise unsupported_error(self.unsupported)
        values = []
        for leaf in leaves:
            if is_value(leaf):
                values.append(leaf)
            elif isinstance(leaf, (bool, int, float)):
                values.append(self.cx.const(leaf, name="output"))
            elif leaf is not None:
                raise FxImportError(f"the model returns {type(leaf).__name__} {leaf!r}, "
                                    f"which is not a tensor or a number")
        if not values:
            raise FxImportError("the model returns no tensors")
        names, seen = [], set()
        for v in values:
            name, k = v.name, 1
            while name in seen:
                name, k = f"{v.name}_{k}", k + 1
            seen.add(name)
            names.append(name)
        return values, names


def qualified_name(fn) -> str:
    """How error messages name a call target: `torch.flip`, `torch.nn.functional.relu`, ..."""
    if isinstance(fn, torch._ops.OpOverload):
        return str(fn)
    name = getattr(fn, "__name__", None)
    for prefix, namespace in (("torch.nn.functional", torch.nn.functional), ("torch", torch),
                              ("operator", operator), ("math", math), ("builtins", builtins)):
        if name and getattr(namespace, name, None) is fn:
            return f"{prefix}.{name}"
    mod = getattr(fn, "__module__", None) or ""
    qual = getattr(fn, "__qualname__", None) or name or repr(fn)
    return f"{mod}.{qual}" if mod else qual


__all__ = ["Walker", "Target", "POISON", "FOLD_AS", "qualified_name"]
