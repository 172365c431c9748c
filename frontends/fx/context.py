"""What every builder shares: the graph being built, the fx node being converted, and helpers for
constants, casts, torch's dtype promotion and static shapes.

A *builder* is a small function `build(cx, *args, **kwargs)` whose parameters mirror the torch
callable it converts (a functional, a tensor method, an aten overload); `args` hold our graph
`Value`s where torch had tensors, and plain Python objects (ints, tuples, dtypes) elsewhere. It
emits ops through `cx.op(...)` and returns a Value, a Python object, or a tuple of those."""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import torch

from compiler.errors import AiccError, UnsupportedError
from compiler.ir import dtypes as D
from compiler.ir.graph import Graph, Value
from compiler.ir.types import TensorType
from compiler.ops.elementwise import ONNX_DTYPE

TORCH_TO_IR = {torch.float32: D.f32, torch.float16: D.f16, torch.float64: D.f64,
               torch.int8: D.i8, torch.int16: D.i16, torch.int32: D.i32, torch.int64: D.i64,
               torch.uint8: D.u8, torch.uint16: D.u16, torch.uint32: D.u32,
               torch.uint64: D.u64, torch.bool: D.bool_}
IR_TO_TORCH = {v: k for k, v in TORCH_TO_IR.items()}
ONNX_CODE = {v: k for k, v in ONNX_DTYPE.items()}   # our dtype -> Cast's `to` code


class FxImportError(AiccError):
    """A conversion failed in a way that is not just an unsupported operation."""


class NotConvertible(Exception):
    """Raised by a builder: this call cannot be converted (the reason says which argument)."""


class Missing:
    """Stands for a result torch has but the conversion does not produce (e.g. max-pool indices,
    layer-norm statistics). Using it in a later node reports that node as unsupported."""
    __slots__ = ("why",)

    def __init__(self, why: str):
        self.why = why

    def __repr__(self) -> str:
        return f"<missing: {self.why}>"


def ir_dtype(torch_dtype) -> D.DType:
    try:
        return TORCH_TO_IR[torch_dtype]
    except KeyError:
        raise NotConvertible(f"dtype {torch_dtype} is not supported "
                             f"(supported: {', '.join(str(t) for t in TORCH_TO_IR)})") from None


def tensor_to_numpy(t: torch.Tensor) -> np.ndarray:
    """The tensor's data as numpy, sharing memory when the tensor lives on the CPU."""
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    ir_dtype(t.dtype)
    if t.is_conj() or t.is_neg():
        t = t.resolve_conj().resolve_neg()
    return t.numpy()


def is_value(x) -> bool:
    return isinstance(x, Value)


def norm_dim(d: int, rank: int) -> int:
    d = int(d)
    if not -max(rank, 1) <= d < max(rank, 1):
        raise NotConvertible(f"dimension {d} is out of range for rank {rank}")
    return d + rank if d < 0 else d


def as_list(x, n: Optional[int] = None) -> list:
    """An int or a sequence as a list; a lone int repeated n times."""
    if isinstance(x, (list, tuple, torch.Size)):
        out = [int(v) for v in x]
        if n is not None and len(out) == 1 and n > 1:
            out = out * n
        return out
    return [int(x)] * (n or 1)


def shape_args(args) -> list:
    """`view(2, 3)`, `view((2, 3))` and `view([2, 3])` all mean the shape [2, 3]."""
    if len(args) == 1 and isinstance(args[0], (list, tuple, torch.Size)):
        args = args[0]
    return [int(a) for a in args]


class Ctx:
    def __init__(self, graph: Graph):
        self.g = graph
        self.node = None             # the fx node being converted
        self.module_path = ""        # its module's qualified name, for call_module nodes
        self._params: dict[int, tuple[Any, Value]] = {}

    # ---- emitting -------------------------------------------------------------------------
    def loc(self) -> str:
        if self.node is None:
            return ""
        return self.module_path or self.node.name

    def op(self, op: str, *inputs, n_outputs: int = 1, **attrs):
        """Emit `op` (located at the fx node); one Value, or a tuple for several outputs."""
        inputs = list(inputs)
        while inputs and inputs[-1] is None:      # absent trailing optional operands
            inputs.pop()
        node = self.g.create_node(op, inputs, attrs, num_outputs=n_outputs, name=self.loc())
        return node.outputs[0] if len(node.outputs) == 1 else tuple(node.outputs)

    # ---- constants ------------------------------------------------------------------------
    def qualified(self, name: str) -> str:
        """`name` under the module being converted (`layer1.0.conv1` + `weight`)."""
        return f"{self.module_path}.{name}" if self.module_path else name

    def param(self, tensor: torch.Tensor, name: Optional[str] = None) -> Value:
        """A parameter or buffer as a constant sharing its memory; one constant per tensor."""
        hit = self._params.get(id(tensor))
        if hit is not None:
            return hit[1]
        v = self.g.add_constant(tensor_to_numpy(tensor), self.qualified(name or "param"))
        self._params[id(tensor)] = (tensor, v)   # keeps the tensor alive, so its id stays unique
        return v

    def const(self, data, dtype=None, name: Optional[str] = None) -> Value:
        if isinstance(data, torch.Tensor):
            data = tensor_to_numpy(data).copy()
        np_dtype = None if dtype is None else D.as_dtype(dtype).np_dtype
        return self.g.add_constant(np.array(data, dtype=np_dtype), name or "c")

    def scalar(self, x, dtype) -> Value:
        return self.const(np.array(x).astype(D.as_dtype(dtype).np_dtype), name="scalar")

    def ints(self, seq, name: str = "c") -> Value:
        return self.const(np.array([int(s) for s in seq], dtype=np.int64), name=name)

    # ---- types and shapes -----------------------------------------------------------------
    def shape(self, v: Value) -> tuple:
        if not v.type.is_static:
            raise NotConvertible(f"%{v.name} has a dynamic shape {v.type}; the fx frontend needs "
                                 f"static shapes (give example inputs)")
        return tuple(v.type.shape)

    def cast(self, v: Value, dtype) -> Value:
        dtype = D.as_dtype(dtype)
        if v.type.dtype == dtype:
            return v
        return self.op("Cast", v, to=ONNX_CODE[dtype])

    def tensor(self, x, dtype) -> Value:
        """`x` (a Value, Python number or torch tensor) as a Value of `dtype`."""
        if is_value(x):
            return self.cast(x, dtype)
        if isinstance(x, torch.Tensor):
            return self.cast(self.const(x), dtype)
        if isinstance(x, Missing):
            raise NotConvertible(x.why)
        return self.scalar(x, dtype)

    def promote(self, *xs) -> D.DType:
        """torch's result dtype for an elementwise op on `xs` (Values and Python scalars)."""
        stand_ins = []
        for x in xs:
            if x is None:
                continue
            if is_value(x):
                shape = () if x.type.rank == 0 else (1,)
                stand_ins.append(torch.empty(shape, dtype=IR_TO_TORCH[x.type.dtype]))
            elif isinstance(x, torch.Tensor):
                stand_ins.append(torch.empty(() if x.dim() == 0 else (1,), dtype=x.dtype))
            elif isinstance(x, (bool, int, float)):
                stand_ins.append(x)
            else:
                raise NotConvertible(f"operand {x!r} is not a tensor or a number")
        tensors = [s for s in stand_ins if isinstance(s, torch.Tensor)]
        if not tensors:
            return D.f32 if any(isinstance(s, float) for s in stand_ins) else \
                (D.bool_ if all(isinstance(s, bool) for s in stand_ins) else D.i64)
        acc = tensors[0]
        for s in stand_ins:
            if s is tensors[0]:
                continue
            dt = torch.result_type(acc, s)
            both_0d = acc.dim() == 0 and (not isinstance(s, torch.Tensor) or s.dim() == 0)
            acc = torch.empty(() if both_0d else (1,), dtype=dt)
        return ir_dtype(acc.dtype)

    def default_float(self, v: Value) -> Value:
        """Integer/bool inputs of float-only functions are promoted to f32, as torch does."""
        return v if v.type.dtype.is_float else self.cast(v, D.f32)

    def to_torch(self, x):
        """A constant Value's data as a torch tensor (for evaluating a call on constants)."""
        if is_value(x):
            if x.data is None:
                raise NotConvertible(f"%{x.name} is not a constant")
            return torch.from_numpy(np.array(x.data))
        return x


def type_of(tensor_like) -> Optional[TensorType]:
    """Our type for a torch tensor, TensorMetadata or FakeTensor; None if not representable
    (an unsupported dtype or a symbolic dim)."""
    dt = TORCH_TO_IR.get(getattr(tensor_like, "dtype", None))
    if dt is None:
        return None
    dims = []
    for d in tensor_like.shape:
        if isinstance(d, torch.SymInt) or not isinstance(d, int):
            return None
        dims.append(d)
    return TensorType(dt, dims)


def unsupported_error(entries: dict) -> UnsupportedError:
    """One error listing every unsupported target with its count and first node names.
    `entries` maps a label to the list of fx node names that used it."""
    total = sum(len(v) for v in entries.values())
    lines = [f"the model uses {len(entries)} unsupported torch operation(s) "
             f"({total} node(s)):"]
    for label, names in sorted(entries.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        first = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        lines.append(f"  {label}  x{len(names)}  (first: {first})")
    return UnsupportedError("\n".join(lines))
