"""ONNX ModelProto -> graph IR: inputs (with their shapes resolved), initializers as constants,
nodes through the opset rules, outputs under their ONNX names.

- Tensor names are kept (inputs, outputs, initializers, node results); node names become our
  nodes' names (`loc(...)` in the IR text), so errors point at the ONNX node.
- Initializers that are also listed as graph inputs (models from before IR version 4) are
  constants: their stored value is used and they are not inputs of the imported graph.
- Result types come from our ops' shape rules. Shape computations whose operands are known at
  import time (Shape of a static tensor, small all-constant subgraphs) are evaluated right
  away, so Reshape / Resize / Expand targets computed in the graph stay static.
- Unsupported operators are collected over the whole model first and reported in one error.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import numpy as np
import onnx

from compiler.errors import (AiccError, ShapeInferenceError, UnsupportedError,
                             VerificationError)
from compiler.ir.evaluate import evaluate_node
from compiler.ir.graph import Graph, Value
from compiler.ir.types import TensorType
from compiler.ir.verifier import verify

from .context import NodeContext
from .errors import OnnxImportError
from .loader import DEFAULT_DOMAINS, ML_DOMAIN, LoadedModel, node_label
from .opset_rules import find_rule
from .tensors import (DTYPES, dtype_of, format_dims, onnx_dtype_name, sparse_to_array,
                      tensor_to_array, tensor_type_of)

FOLD_LIMIT = 4096            # largest result (elements) evaluated at import time
INFER_LIMIT = 256 << 20      # largest model (bytes) given to onnx shape inference
_SHAPE_OPS = ("Shape", "Size")
_SIMPLE_ERRORS = (UnsupportedError, ShapeInferenceError, OnnxImportError, VerificationError)


# ---- unsupported operators ----------------------------------------------------------------
@dataclass
class UnsupportedOp:
    domain: str
    op_type: str
    opset: Optional[int]
    reason: str
    count: int = 0
    nodes: list = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return f"{self.domain}::{self.op_type}" if self.domain else self.op_type

    def describe(self, max_nodes: int = 3) -> str:
        names = ", ".join(self.nodes[:max_nodes]) + (", ..." if len(self.nodes) > max_nodes
                                                     else "")
        return (f"{self.qualified} x{self.count} ({self.domain or 'ai.onnx'} opset "
                f"{self.opset}: {self.reason}; node{'s' if self.count > 1 else ''} {names})")


def find_unsupported(loaded: LoadedModel) -> list:
    """Every operator of the main graph that aicc cannot convert, grouped with counts."""
    groups: "OrderedDict[tuple, UnsupportedOp]" = OrderedDict()
    opset = loaded.opset()
    for node in loaded.graph.node:
        domain = "" if node.domain in DEFAULT_DOMAINS else node.domain
        if domain == "":
            lookup = find_rule(node.op_type, opset)
            if lookup.rule is not None:
                continue
            reason, version = lookup.reason, opset
        else:
            version = loaded.opset(domain)
            reason = ("ONNX-ML operators are not supported" if domain == ML_DOMAIN else
                      "operators outside the default ONNX domain are not supported")
        key = (domain, node.op_type, version)
        entry = groups.setdefault(key, UnsupportedOp(domain, node.op_type, version, reason))
        entry.count += 1
        entry.nodes.append(node_label(node))
    return list(groups.values())


def unsupported_message(source: str, ops: Sequence[UnsupportedOp]) -> str:
    n = sum(o.count for o in ops)
    return (f"{source}: the model uses {len(ops)} operator{'s' if len(ops) > 1 else ''} aicc "
            f"cannot import ({n} node{'s' if n > 1 else ''}): "
            + "; ".join(o.describe() for o in ops))


# ---- shapes -----------------------------------------------------------------------------------
def symbol_name(text: str) -> str:
    """A dim_param as an IR symbolic dim (an identifier)."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", text.strip())
    return s if s and re.match(r"[A-Za-z_]", s[0]) else f"_{s}"


def _example(dims) -> list:
    return [str(d) if isinstance(d, int) else "1" for d in dims]


def _check_shape_override(name: str, shape) -> tuple:
    try:
        dims = tuple(shape)
    except TypeError:
        raise OnnxImportError(f"input_shapes['{name}'] must be a sequence of dims, got "
                              f"{shape!r}") from None
    out = []
    for d in dims:
        if isinstance(d, str):
            out.append(symbol_name(d))
        elif isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0:
            out.append(int(d))
        else:
            raise OnnxImportError(f"input_shapes['{name}'] = {list(dims)}: dims must be "
                                  f"non-negative integers (or names of symbolic dims)")
    return tuple(out)


# ---- the importer -------------------------------------------------------------------------------
class Importer:
    def __init__(self, loaded: LoadedModel, input_shapes: Optional[Mapping] = None,
                 allow_dynamic: bool = False, fold_shapes: bool = True):
        self.loaded = loaded
        self.source = loaded.source
        self.base_dir = loaded.base_dir
        self.opset = loaded.opset()
        self.input_shapes = dict(input_shapes or {})
        self.allow_dynamic = allow_dynamic
        self.fold_shapes = fold_shapes
        g = loaded.graph
        self.graph = Graph(g.name or "main")
        self.env: dict[str, Value] = {}
        self.used: set[str] = set()
        self.used.update(i.name for i in g.input)
        self.used.update(t.name for t in g.initializer)
        self.used.update(s.values.name for s in g.sparse_initializer)
        for n in g.node:
            self.used.update(o for o in n.output if o)
        self.declared = self._declared_types() if not self.input_shapes else {}

    def _declared_types(self) -> dict:
        """name -> (elem_type, dims) from the model's value_info and outputs (plus onnx shape
        inference with data propagation for dynamic models, which names symbolic dims of
        computed shapes), used to refine dims our shape rules leave unknown."""
        g = self.loaded.graph
        infos = list(g.value_info) + list(g.output)
        if self.allow_dynamic and self.loaded.proto.ByteSize() < INFER_LIMIT:
            try:
                inferred = onnx.shape_inference.infer_shapes(self.loaded.proto, data_prop=True)
                infos = list(inferred.graph.value_info) + infos
            except Exception:     # a model onnx cannot infer: keep what is declared
                pass
        out = {}
        for vi in infos:
            try:
                elem, dims = tensor_type_of(vi)
            except UnsupportedError:
                continue
            if elem and dims is not None:
                out[vi.name] = (elem, dims)
        return out

    def _refine(self, v: Value, name: str) -> None:
        """Fill dims our rules left unknown ('?') from the model's declared type of `name`."""
        decl = self.declared.get(name)
        if decl is None or "?" not in v.type.shape:
            return
        elem, dims = decl
        if len(dims) != v.type.rank or DTYPES.get(elem) != v.dtype:
            return
        shape = tuple(
            (d if isinstance(d, int) else symbol_name(d)) if s == "?" and d is not None else s
            for s, d in zip(v.type.shape, dims))
        v.type = TensorType(v.dtype, shape)

    def fresh_name(self, hint: str) -> str:
        name, k = hint, 0
        while name in self.used:
            k += 1
            name = f"{hint}_{k}"
        self.used.add(name)
        return name

    # ---- driver -------------------------------------------------------------------------
    def run(self) -> Graph:
        ops = find_unsupported(self.loaded)
        if ops:
            raise UnsupportedError(unsupported_message(self.source, ops))
        try:
            self._constants()
            self._inputs()
            for node in self.loaded.graph.node:
                self.convert_node(node, self.opset)
            self._outputs()
            verify(self.graph)
        except _SIMPLE_ERRORS as e:
            raise type(e)(f"{self.source}: {e}") from None
        except AiccError as e:
            raise OnnxImportError(f"{self.source}: {e}") from None
        return self.graph

    # ---- constants and inputs -----------------------------------------------------------
    def _constants(self) -> None:
        g = self.loaded.graph
        for t in g.initializer:
            arr = tensor_to_array(t, self.base_dir, f"initializer '{t.name}'")
            self.env[t.name] = self.graph.add_constant(arr, t.name)
        for sp in g.sparse_initializer:
            name = sp.values.name
            arr = sparse_to_array(sp, self.base_dir, f"sparse initializer '{name}'")
            self.env[name] = self.graph.add_constant(arr, name)

    def _inputs(self) -> None:
        g = self.loaded.graph
        real = [vi for vi in g.input if vi.name not in self.env]
        names = {vi.name for vi in real}
        for name in self.input_shapes:
            if name not in names:
                kind = "an initializer (a constant), not an input" if name in self.env else \
                    "not an input of the model"
                raise OnnxImportError(f"input_shapes names '{name}', which is {kind}; the "
                                      f"inputs are: {', '.join(sorted(names)) or 'none'}")
        dynamic = []
        for vi in real:
            t = self._input_type(vi, dynamic)
            if t is not None:
                self.env[vi.name] = self.graph.add_input(vi.name, t)
        if dynamic:
            entries = "; ".join(f"'{name}' {format_dims(dims)} dim{'s' if len(bad) > 1 else ''} "
                                + ", ".join(f"{i} ({label})" for i, label in bad)
                                for name, dims, bad in dynamic)
            example = ", ".join(f"'{name}': ({', '.join(_example(dims))})"
                                for name, dims, _ in dynamic)
            cli = " ".join(f"--input-shape {name}={','.join(_example(dims))}"
                           for name, dims, _ in dynamic)
            raise OnnxImportError(
                f"input{'s' if len(dynamic) > 1 else ''} with dynamic dimensions: {entries}; fix "
                f"them with input_shapes={{{example}}} (CLI: {cli}) or keep them symbolic with "
                f"allow_dynamic=True (CLI: --allow-dynamic)")

    def _input_type(self, vi, dynamic: list) -> Optional[TensorType]:
        what = f"input '{vi.name}'"
        elem, dims = tensor_type_of(vi)
        if elem is None:
            raise OnnxImportError(f"{what} has no type")
        dt = dtype_of(elem, what)
        if vi.name in self.input_shapes:
            shape = _check_shape_override(vi.name, self.input_shapes[vi.name])
            if dims is not None and len(dims) != len(shape):
                raise OnnxImportError(f"input_shapes['{vi.name}'] = {list(shape)} has rank "
                                      f"{len(shape)}, but the model declares {what} with shape "
                                      f"{format_dims(dims)} (rank {len(dims)})")
            return TensorType(dt, shape)
        if dims is None:
            raise OnnxImportError(f"{what} has no shape (unknown rank); give it with "
                                  f"input_shapes (CLI: --input-shape {vi.name}=D0,D1,...)")
        if not self.allow_dynamic:
            bad = [(i, f"'{d}'" if d else "unnamed") for i, d in enumerate(dims)
                   if not isinstance(d, int)]
            if bad:
                dynamic.append((vi.name, dims, bad))
                return None
        shape = tuple(d if isinstance(d, int) else symbol_name(d or f"{vi.name}_d{i}")
                      for i, d in enumerate(dims))
        return TensorType(dt, shape)

    # ---- nodes ----------------------------------------------------------------------------
    def convert_node(self, node: onnx.NodeProto, opset: int, depth: int = 0,
                     where: str = "") -> None:
        """Convert one node read at `opset` and bind its outputs (depth > 0: a node of an
        expanded function body, named by `where`)."""
        lookup = find_rule(node.op_type, opset, depth)
        where = where or f"node {node_label(node)} ({node.op_type}, opset {opset})"
        if lookup.rule is None:     # only inside function bodies: the model was scanned
            raise UnsupportedError(f"{where}: {lookup.reason}")
        try:
            ctx = NodeContext(self, node, lookup.version, opset, depth, where)
            result = lookup.rule.convert(ctx)
        except AiccError as e:
            if getattr(e, "located", False):      # raised (and named) by a nested node
                raise
            cls = type(e) if isinstance(e, _SIMPLE_ERRORS) else OnnxImportError
            located = cls(f"{where}: {_strip_node(str(e), node)}")
            located.located = True
            raise located from None
        if isinstance(result, Value):
            result = [result]
        result = list(result)
        for i, name in enumerate(node.output):
            if not name:
                continue
            if name in self.env:
                raise OnnxImportError(f"{where}: output {i} '{name}' is already produced by "
                                      f"another node, initializer or graph input")
            v = result[i] if i < len(result) else None
            if v is None:
                raise UnsupportedError(f"{where}: output {i} ('{name}') is not supported by "
                                       f"the conversion rule")
            if id(v) in ctx.created:
                ctx.created.discard(id(v))     # rename once; a second output aliases it
                self.graph.rename(v, name)
                if not v.is_constant:
                    self._refine(v, name)
            self.env[name] = v

    def maybe_fold(self, node) -> list:
        """Evaluate `node` now if its operands are known and its results small (shape
        arithmetic); returns its results (constants when folded)."""
        present = [v for v in node.inputs if v is not None]
        # Shape / Size need only a static shape, CastLike only its target's dtype
        type_only = ((node.op in _SHAPE_OPS and present and present[0].type.is_static)
                     or (node.op == "CastLike" and present and present[0].is_constant))
        if not (self.fold_shapes and present
                and (type_only or all(v.is_constant for v in present))
                and all(o.type.is_static for o in node.outputs)
                and sum(o.type.numel for o in node.outputs) <= FOLD_LIMIT):
            return list(node.outputs)
        args = [None if v is None else v.data if v.is_constant else _stand_in(v.type)
                for v in node.inputs]
        try:
            results = evaluate_node(node, args)
        except AiccError:
            return list(node.outputs)  # leave it to run time, which will report it
        names = [o.name for o in node.outputs]
        self.graph.erase_node(node)
        return [self.graph.add_constant(r, n) for r, n in zip(results, names)]

    # ---- outputs ------------------------------------------------------------------------
    def _outputs(self) -> None:
        values, names = [], []
        for o in self.loaded.graph.output:
            v = self.env[o.name]
            self._cross_check(v, o)
            values.append(v)
            names.append(o.name)
        self.graph.set_outputs(values, names)

    def _cross_check(self, v: Value, vi) -> None:
        """The declared type of a graph output must agree with what its ops compute."""
        elem, dims = tensor_type_of(vi)
        what = f"graph output '{vi.name}'"
        if elem and elem in DTYPES and DTYPES[elem] != v.dtype:
            raise OnnxImportError(f"{what} is declared {onnx_dtype_name(elem)} but its "
                                  f"producer computes {v.dtype}")
        if dims is None or self.input_shapes:
            return
        bad = len(dims) != v.type.rank or any(
            isinstance(d, int) and isinstance(s, int) and d != s for d, s in zip(dims, v.shape))
        if bad:
            raise OnnxImportError(f"{what} is declared with shape {format_dims(dims)} but its "
                                  f"producer computes {v.type}")


def _stand_in(t: TensorType) -> np.ndarray:
    """A value standing in for one of type `t` where only its type is read: zero strides, no
    real data (a scalar when the shape is not static: then only the dtype matters)."""
    shape = t.shape if t.is_static else ()
    return np.lib.stride_tricks.as_strided(np.zeros(1, t.dtype.np_dtype), shape,
                                           (0,) * len(shape))


def _strip_node(message: str, node) -> str:
    """Drop the "Op node 'name': " our shape rules start with (the caller names the node);
    keep our op's name when it differs from the ONNX op (a rule that decomposes)."""
    m = re.match(rf"([A-Za-z]+) node '{re.escape(node.name)}': ", message)
    if not m:
        return message
    rest = message[m.end():]
    return rest if m.group(1) == node.op_type else f"{m.group(1)}: {rest}"


def import_model(loaded: LoadedModel, input_shapes=None, allow_dynamic: bool = False,
                 fold_shapes: bool = True) -> Graph:
    return Importer(loaded, input_shapes, allow_dynamic, fold_shapes).run()
