"""The op set: each op is one OpDef holding its schema, shape/dtype rule, pattern kind and numpy
reference semantics, so the verifier, the interpreter and constant folding share one definition."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Callable, Optional

import numpy as np

from ..errors import ShapeInferenceError
from ..ir.types import TensorType


class OpKind(IntEnum):
    """Op-pattern kinds, ordered so fusion rules can compare them (as TVM's OpPatternKind)."""
    ELEMWISE = 0
    BROADCAST = 1
    INJECTIVE = 2
    REDUCTION = 3
    OUT_ELEMWISE_FUSABLE = 4
    OPAQUE = 8


class _Required:
    def __repr__(self):
        return "REQUIRED"


REQUIRED = _Required()
ATTR_KINDS = ("int", "float", "string", "ints", "floats", "strings", "tensor", "graph", "dict")


@dataclass(frozen=True)
class AttrSpec:
    kind: str            # one of ATTR_KINDS
    default: Any = None  # REQUIRED, None (absent / optional) or a value


@dataclass
class OpCall:
    """One application of an op, as shape rules and reference kernels see it.

    `values[i]` is the array of input i: always present for `compute`; for `infer` it is the
    constant value when the input is a constant (else None) so rules like Reshape can read it.
    Absent optional inputs have input_types[i] None."""
    op: "OpDef"
    name: str
    attrs: dict
    input_types: list
    values: list
    num_outputs: int

    def attr(self, key):
        return self.attrs[key]

    def has_input(self, i: int) -> bool:
        return i < len(self.input_types) and self.input_types[i] is not None

    def const(self, i: int) -> Optional[np.ndarray]:
        return self.values[i] if i < len(self.values) else None

    def error(self, message: str) -> ShapeInferenceError:
        where = f"{self.op.name} node '{self.name}'" if self.name else f"{self.op.name} node"
        return ShapeInferenceError(f"{where}: {message}")


@dataclass
class OpDef:
    name: str
    kind: OpKind
    infer: Callable[[OpCall], list]            # -> list[TensorType], one per output
    compute: Callable[[OpCall], list]          # -> list[np.ndarray], one per output
    attrs: dict = field(default_factory=dict)  # name -> AttrSpec
    min_inputs: int = 1
    max_inputs: Optional[int] = 1              # None = variadic
    min_outputs: int = 1
    max_outputs: Optional[int] = 1
    commutative: bool = False
    doc: str = ""

    def full_attrs(self, given: dict) -> dict:
        """Given attributes with defaults filled in (absent optional ones stay absent)."""
        out = {k: s.default for k, s in self.attrs.items()
               if s.default is not None and s.default is not REQUIRED}
        out.update(given)
        return out


OPS: dict[str, OpDef] = {}


def register(opdef: OpDef) -> OpDef:
    if opdef.name in OPS:
        raise ValueError(f"op {opdef.name} registered twice")
    OPS[opdef.name] = opdef
    return opdef


def def_op(name: str, kind: OpKind, infer, compute, *, attrs=None, inputs=1, outputs=1,
           commutative=False, doc="") -> OpDef:
    """Register an op. `inputs`/`outputs` are an int (exact) or a (min, max) pair; max None = any."""
    lo_i, hi_i = (inputs, inputs) if isinstance(inputs, int) else inputs
    lo_o, hi_o = (outputs, outputs) if isinstance(outputs, int) else outputs
    specs = {k: (v if isinstance(v, AttrSpec) else AttrSpec(*v)) for k, v in (attrs or {}).items()}
    for k, s in specs.items():
        assert s.kind in ATTR_KINDS, f"{name}.{k}: bad attr kind {s.kind}"
    return register(OpDef(name, kind, infer, compute, specs, lo_i, hi_i, lo_o, hi_o,
                          commutative, doc))


def get_op(name: str) -> OpDef:
    from ..errors import UnsupportedError
    try:
        return OPS[name]
    except KeyError:
        raise UnsupportedError(f"unknown op '{name}'") from None


def make_call(op: OpDef, name: str, attrs: dict, input_types: list, values: list,
              num_outputs: int) -> OpCall:
    call = OpCall(op, name, op.full_attrs(attrs), list(input_types), list(values), num_outputs)
    missing = [k for k, s in op.attrs.items() if s.default is REQUIRED and k not in attrs]
    if missing:
        raise call.error(f"attribute {', '.join(missing)} is required")
    return call


def check_attr_value(kind: str, value) -> bool:
    """Does `value` fit attribute kind `kind`? (ints are accepted where floats are expected)."""
    from ..ir.graph import Graph  # late: graph imports ops for verification
    if kind == "int":
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind in ("ints", "floats", "strings"):
        return isinstance(value, (list, tuple)) and all(check_attr_value(kind[:-1], v) for v in value)
    if kind == "tensor":
        return isinstance(value, np.ndarray)
    if kind == "graph":
        return isinstance(value, Graph)
    if kind == "dict":
        return isinstance(value, dict) and all(isinstance(k, str) for k in value)
    return False


__all__ = ["OpKind", "OpDef", "OpCall", "AttrSpec", "REQUIRED", "OPS", "def_op", "get_op",
           "make_call", "register", "TensorType"]
