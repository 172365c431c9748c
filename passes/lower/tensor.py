"""Readable tensors (TensorRef) and writable results (OutputRef) as lowering rules see them.

A TensorRef gives the expression of one element: `ref[idx]` where idx has one index Expr per
dimension (a Ramp last gives a vector). It is backed by a buffer (param, arena, const, scratch)
or by an inlined compute rule (TVM's compute_inline): then `ref[idx]` is the producer's
expression at idx and no memory is touched."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable, Optional

import numpy as np

from compiler.loop import Broadcast, Buffer, LetStmt, Load, Var, as_expr, const, max_, min_
from compiler.loop.expr import Expr, FloatImm, IntImm


def _idx(idx) -> tuple:
    if not isinstance(idx, (tuple, list)):
        idx = (idx,)
    return tuple(as_expr(i) for i in idx)


class TensorRef(ABC):
    buffer: Optional[Buffer] = None
    value: Optional[np.ndarray] = None

    def __init__(self, shape, dtype):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = dtype

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def is_const(self) -> bool:
        return self.value is not None

    def __getitem__(self, idx) -> Expr:
        idx = _idx(idx)
        if len(idx) != self.rank:
            raise IndexError(f"{self!r}: {len(idx)} indices for rank {self.rank}")
        return self.load(idx)

    @abstractmethod
    def load(self, idx: tuple) -> Expr:
        """The element at a full index tuple."""

    def load_clamped(self, idx) -> Expr:
        """The element at idx with every index clamped into [0, dim) (for select arms)."""
        idx = _idx(idx)
        return self[tuple(as_expr(0) if d == 1 else min_(max_(i, 0), d - 1)
                          for i, d in zip(idx, self.shape))]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.dtype}[{','.join(map(str, self.shape))}])"


class BufferRef(TensorRef):
    def __init__(self, buffer: Buffer, value: Optional[np.ndarray] = None):
        super().__init__(buffer.shape, buffer.dtype)
        self.buffer, self.value = buffer, value

    def load(self, idx):
        return Load(self.buffer, idx)


class ScalarConstRef(TensorRef):
    """A one-element constant: its value is inlined as an immediate."""

    def __init__(self, shape, dtype, value: np.ndarray):
        super().__init__(shape, dtype)
        self.value = value

    def load(self, idx):
        lanes = max((i.lanes for i in idx), default=1)
        v = self.value.reshape(-1)[0]
        e = const(bool(v) if self.dtype.name == "bool" else
                  (float(v) if self.dtype.is_float else int(v)), self.dtype)
        return Broadcast(e, lanes) if lanes > 1 else e


class ComputeRef(TensorRef):
    """An inlined producer: `fn(idx)` builds the element expression."""

    def __init__(self, shape, dtype, fn: Callable[[tuple], Expr], name: str = ""):
        super().__init__(shape, dtype)
        self.fn, self.name = fn, name

    def load(self, idx):
        return self.fn(idx)


class HoleRef(TensorRef):
    """Stands for an anchor's result inside its epilogue: every element is the value being
    stored (the epilogue is elementwise over the anchor's shape)."""

    def __init__(self, shape, dtype):
        super().__init__(shape, dtype)
        self.current: Optional[Expr] = None

    def load(self, idx):
        return self.current


class OutputRef:
    """A result a kernel writes: `store(idx, value)` applies the fused epilogue first."""

    def __init__(self, buffer: Buffer, shape, dtype,
                 epilogue: Optional[Callable[[tuple, Expr], Expr]] = None):
        self.buffer, self.shape, self.dtype = buffer, tuple(shape), dtype
        self.epilogue = epilogue

    @property
    def has_epilogue(self) -> bool:
        return self.epilogue is not None

    @property
    def rank(self) -> int:
        return len(self.shape)

    def store(self, idx, value):
        idx = _idx(idx)
        value = as_expr(value, self.dtype)
        if self.epilogue is None:
            return self.buffer.store(idx, value)
        return bind_value(value, lambda v: self.buffer.store(idx, self.epilogue(idx, v)))

    def as_ref(self) -> TensorRef:
        """Read back what was stored (only valid without an epilogue)."""
        return BufferRef(self.buffer)


def broadcast_index(idx: tuple, in_shape: tuple) -> tuple:
    """Numpy broadcasting: the input index for output index `idx` (size-1 dims read 0)."""
    off = len(idx) - len(in_shape)
    return tuple(as_expr(0) if d == 1 else idx[off + k] for k, d in enumerate(in_shape))


def linear_index(idx: tuple, shape: tuple) -> Expr:
    """Row-major linear position of idx in shape."""
    lin = as_expr(0)
    for i, d in zip(idx, shape):
        lin = lin * d + i
    return lin


def delinearize(lin: Expr, shape: tuple) -> tuple:
    """The index of row-major position `lin` in shape."""
    out = []
    for k in range(len(shape) - 1, -1, -1):
        d = shape[k]
        if k == 0:
            out.append(lin)
        else:
            out.append(lin % d)
            lin = lin // d
    return tuple(reversed(out))


def bind_value(value: Expr, make_store):
    """`let t = value` around make_store(t) unless value is cheap to repeat (an epilogue may
    use the stored value more than once)."""
    if isinstance(value, (Var, Load, IntImm, FloatImm, Broadcast)):
        return make_store(value)
    t = Var("epi", value.dtype, value.lanes)
    return LetStmt(t, value, make_store(t))
