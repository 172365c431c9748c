"""What a converter sees of the ONNX node it converts, and how it emits graph IR.

A converter is `fn(ctx: NodeContext) -> Value | sequence of Value/None` (one per ONNX output).
It reads inputs (`ctx.input(i)`, `ctx.const(i)`), attributes (`ctx.attr(name)`, which falls back
to the default of the ONNX schema *at the model's opset*), and emits nodes with `ctx.op(...)`;
every emitted node carries the ONNX node's name, and the values it returns are renamed to the
ONNX output names by the importer."""
from __future__ import annotations

from typing import Optional

import numpy as np
import onnx

from compiler.errors import UnsupportedError
from compiler.ir.graph import Value
from compiler.ir.types import TensorType
from compiler.ops import OPS

from .errors import OnnxImportError
from .tensors import attribute_value, schema_default

_MISSING = object()


class NodeContext:
    def __init__(self, importer, node: onnx.NodeProto, version: int, opset: int,
                 depth: int = 0, where: str = ""):
        self.importer = importer
        self.node = node
        self.op_type = node.op_type
        self.version = version                 # the op's schema since_version at `opset`
        self.opset = opset                     # the default-domain opset the node is read at
        self.depth = depth                     # > 0 inside an expanded function body
        self.where = where                     # how errors name the node
        self.name = node.name
        self.graph = importer.graph
        self.created: set[int] = set()         # ids of the values this conversion made
        self._schema = None
        self.attrs = {a.name: attribute_value(a, importer.base_dir) for a in node.attribute}
        self._hint = next((o for o in node.output if o), node.op_type.lower())

    # ---- errors ---------------------------------------------------------------------------
    def fail(self, message: str) -> OnnxImportError:
        """`raise ctx.fail("...")`: the node is malformed for its opset."""
        return OnnxImportError(message)

    def unsupported(self, message: str) -> UnsupportedError:
        """`raise ctx.unsupported("...")`: valid ONNX that aicc cannot honour."""
        return UnsupportedError(message)

    # ---- inputs ---------------------------------------------------------------------------
    @property
    def num_inputs(self) -> int:
        """Declared inputs, not counting trailing absent ("") ones."""
        n = len(self.node.input)
        while n and not self.node.input[n - 1]:
            n -= 1
        return n

    def has_input(self, i: int) -> bool:
        return i < len(self.node.input) and bool(self.node.input[i])

    def input(self, i: int) -> Optional[Value]:
        """Input i as a Value; None when absent (not given or given as "")."""
        if not self.has_input(i):
            return None
        name = self.node.input[i]
        v = self.importer.env.get(name)
        if v is None:
            raise self.fail(f"input {i} '{name}' is used before the node that produces it (the "
                            f"graph's nodes must be topologically sorted)")
        return v

    def inputs(self) -> list:
        return [self.input(i) for i in range(self.num_inputs)]

    def type(self, i: int) -> TensorType:
        v = self.input(i)
        if v is None:
            raise self.fail(f"input {i} is required")
        return v.type

    def const(self, i: int) -> Optional[np.ndarray]:
        """The value of input i when it is a constant (initializer, Constant node or a folded
        shape computation), else None."""
        v = self.input(i)
        return None if v is None else v.data

    def require_const(self, i: int, what: str) -> np.ndarray:
        data = self.const(i)
        if data is None:
            if not self.has_input(i):
                raise self.fail(f"input {i} ({what}) is required")
            raise self.unsupported(f"input {i} ({what}) must be a constant (an initializer or "
                                   f"computable at import time), but '{self.node.input[i]}' is "
                                   f"computed at run time")
        return data

    # ---- outputs ---------------------------------------------------------------------------
    @property
    def num_outputs(self) -> int:
        """Declared outputs, not counting trailing absent ("") ones."""
        n = len(self.node.output)
        while n and not self.node.output[n - 1]:
            n -= 1
        return n

    def output_used(self, i: int) -> bool:
        return i < len(self.node.output) and bool(self.node.output[i])

    # ---- attributes ----------------------------------------------------------------------
    @property
    def schema(self):
        if self._schema is None:
            self._schema = onnx.defs.get_schema(self.op_type, self.opset, "")
        return self._schema

    def schema_default(self, name: str):
        return schema_default(self.schema, name)

    def has_attr(self, name: str) -> bool:
        return name in self.attrs

    def attr(self, name: str, default=_MISSING):
        """Attribute `name`; when absent, `default` if given, else the ONNX schema's default at
        this node's opset; an absent attribute with neither is an error."""
        if name in self.attrs:
            return self.attrs[name]
        if default is not _MISSING:
            return default
        d = self.schema_default(name)
        if d is None:
            raise self.fail(f"attribute '{name}' is required")
        return d

    def check_attrs(self, allowed=(), ignored=()) -> None:
        """Reject attributes other than `allowed` / `ignored` unless they hold the schema's
        default (so a new attribute we have not thought about can never be silently dropped)."""
        for k, v in self.attrs.items():
            if k in allowed or k in ignored or _same_value(v, self.schema_default(k)):
                continue
            raise self.unsupported(f"attribute {k}={_short(v)} is not supported")

    def attrs_for(self, op: str, ignored=()) -> dict:
        """The node's attributes mapped 1:1 onto our op `op`: copies those our op defines,
        rejects others unless at their ONNX default (or in `ignored`), and spells out ONNX
        defaults (at this opset) that differ from our op's defaults."""
        opdef = OPS[op]
        self.check_attrs(allowed=opdef.attrs, ignored=ignored)
        out = {k: v for k, v in self.attrs.items() if k in opdef.attrs}
        for k, spec in opdef.attrs.items():
            if k in out:
                continue
            d = self.schema_default(k)
            if d is not None and not _same_value(d, spec.default):
                out[k] = d
        return out

    # ---- emitting ------------------------------------------------------------------------
    def fresh(self, suffix: str) -> str:
        return self.importer.fresh_name(f"{self._hint}.{suffix}")

    def op(self, op_type: str, *inputs: Optional[Value], n_outputs: int = 1,
           out_types=None, **attrs):
        """Emit one of our ops; returns its result (a tuple for several). Shape computations
        whose inputs are all known at import time come back folded into constants."""
        attrs = {k: v for k, v in attrs.items() if v is not None}
        inputs = list(inputs)
        while inputs and inputs[-1] is None:     # trailing absent optional inputs
            inputs.pop()
        names = [self.fresh(op_type.lower()) for _ in range(n_outputs)]
        node = self.graph.create_node(op_type, inputs, attrs, output_types=out_types,
                                      num_outputs=n_outputs, name=self.name, output_names=names)
        outs = self.importer.maybe_fold(node)
        self.created.update(id(v) for v in outs)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def constant(self, data, suffix: str = "const") -> Value:
        v = self.graph.add_constant(np.asarray(data), self.fresh(suffix))
        self.created.add(id(v))
        return v

    def ints(self, values, suffix: str = "ints") -> Value:
        """A constant 1-D i64 tensor (the spelling of axes / shapes / pads as inputs)."""
        return self.constant(np.asarray(list(values), dtype=np.int64).reshape(-1), suffix)

    def scalar(self, value, dtype, suffix: str = "scalar") -> Value:
        return self.constant(np.asarray(value, dtype=np.dtype(dtype)).reshape(()), suffix)


def _same_value(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        try:
            return np.float32(a) == np.float32(b)
        except (TypeError, ValueError):
            return False
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and \
            a.dtype == b.dtype and a.shape == b.shape and bool(np.all(a == b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    return a == b


def _short(v) -> str:
    if isinstance(v, np.ndarray):
        return f"<tensor {v.dtype}{list(v.shape)}>"
    if isinstance(v, onnx.GraphProto):
        return f"<graph '{v.name}'>"
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."
