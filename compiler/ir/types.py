"""Tensor types: a dtype plus a shape whose dims are ints (static) or names (symbolic).

Text form is `f32[1,3,224,224]`; a symbolic dim is an identifier (`f32[N,128]`), an unknown
one is `?`; a scalar is `f32[]`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from .dtypes import DType, as_dtype

Dim = Union[int, str]
UNKNOWN = "?"
_SYM_RE = re.compile(r"^(\?|[A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class TensorType:
    dtype: DType
    shape: tuple[Dim, ...]

    def __init__(self, dtype, shape=()):
        object.__setattr__(self, "dtype", as_dtype(dtype))
        dims = []
        for d in shape:
            if isinstance(d, str):
                if not _SYM_RE.match(d):
                    raise ValueError(f"invalid symbolic dimension {d!r}")
                dims.append(d)
            else:
                n = int(d)
                if n < 0:
                    raise ValueError(f"negative dimension {n} in shape {tuple(shape)}")
                dims.append(n)
        object.__setattr__(self, "shape", tuple(dims))

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        return all(isinstance(d, int) for d in self.shape)

    @property
    def numel(self) -> int:
        if not self.is_static:
            raise ValueError(f"type {self} has symbolic dims; element count is unknown")
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize

    def with_shape(self, shape) -> "TensorType":
        return TensorType(self.dtype, shape)

    def with_dtype(self, dtype) -> "TensorType":
        return TensorType(dtype, self.shape)

    def __str__(self) -> str:
        return f"{self.dtype.name}[{','.join(str(d) for d in self.shape)}]"

    __repr__ = __str__


def dims_compatible(a: Dim, b: Dim) -> bool:
    """Can a value of dim `a` stand where dim `b` is declared? Symbolic dims match anything."""
    return isinstance(a, str) or isinstance(b, str) or a == b


def types_compatible(actual: TensorType, declared: TensorType) -> bool:
    return (actual.dtype == declared.dtype and actual.rank == declared.rank
            and all(dims_compatible(a, b) for a, b in zip(actual.shape, declared.shape)))
