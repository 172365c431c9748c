"""Buffers: the memory the loop IR reads and writes.

A buffer has a name, an element dtype, a static shape and strides (in elements, row-major by
default) and a scope saying where its memory comes from:

  param   a function parameter: the caller passes a pointer (a numpy array from Python)
  arena   a slice of the module's one memory arena, at byte `offset` (from the memory plan)
  const   a weight: `data` holds the numpy array; the runtime provides it
  local   a temporary of one function (an `alloc` statement), on the stack / in registers

Buffers are compared by identity (two buffers may share a name in different functions)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..ir import dtypes
from ..ir.dtypes import DType

SCOPES = ("param", "arena", "const", "local")


def row_major_strides(shape) -> tuple:
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= d
    return tuple(reversed(strides))


@dataclass(eq=False)
class Buffer:
    name: str
    dtype: DType
    shape: tuple
    strides: Optional[tuple] = None
    scope: str = "param"
    offset: int = 0                        # byte offset in the arena (scope "arena")
    data: Optional[np.ndarray] = None      # the weight (scope "const")

    def __post_init__(self):
        self.dtype = dtypes.as_dtype(self.dtype)
        self.shape = tuple(int(d) for d in self.shape)
        self.strides = (row_major_strides(self.shape) if self.strides is None
                        else tuple(int(s) for s in self.strides))
        if self.scope not in SCOPES:
            raise ValueError(f"buffer %{self.name}: unknown scope '{self.scope}' "
                             f"(known: {', '.join(SCOPES)})")
        if len(self.strides) != len(self.shape):
            raise ValueError(f"buffer %{self.name}: {len(self.shape)} dims but "
                             f"{len(self.strides)} strides")

    # ---- geometry ------------------------------------------------------------------------------
    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def span(self) -> int:
        """Elements between the first and one past the last addressable element."""
        if any(d == 0 for d in self.shape):
            return 0
        return 1 + sum((d - 1) * s for d, s in zip(self.shape, self.strides))

    @property
    def nbytes(self) -> int:
        return self.span * self.dtype.itemsize

    @property
    def is_row_major(self) -> bool:
        return self.strides == row_major_strides(self.shape)

    @property
    def type_str(self) -> str:
        return f"{self.dtype}[{','.join(str(d) for d in self.shape)}]"

    def __repr__(self) -> str:
        return f"Buffer(%{self.name}: {self.type_str} {self.scope})"

    # ---- builder sugar -----------------------------------------------------------------------
    def __getitem__(self, indices):
        from .expr import Load
        if not isinstance(indices, tuple):
            indices = (indices,)
        return Load(self, indices)

    def store(self, indices, value):
        """The statement `self[indices] = value` (a Python number takes the buffer's dtype)."""
        from .expr import as_expr
        from .stmt import Store
        if not isinstance(indices, (tuple, list)):
            indices = (indices,)
        return Store(self, tuple(indices), as_expr(value, self.dtype))


def const_buffer(name: str, data: np.ndarray) -> Buffer:
    data = np.ascontiguousarray(data)
    return Buffer(name, dtypes.from_numpy(data.dtype), data.shape, scope="const", data=data)
