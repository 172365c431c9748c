"""Element types of tensors: one DType object per kind, mapped to and from numpy."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DType:
    name: str          # the spelling used in the IR text, e.g. "f32"
    np_dtype: np.dtype
    is_float: bool
    is_signed: bool

    @property
    def itemsize(self) -> int:
        return self.np_dtype.itemsize

    @property
    def is_int(self) -> bool:
        return not self.is_float and self.name != "bool"

    def __repr__(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


def _d(name: str, np_name: str, is_float: bool, is_signed: bool) -> DType:
    return DType(name, np.dtype(np_name), is_float, is_signed)


f16 = _d("f16", "float16", True, True)
f32 = _d("f32", "float32", True, True)
f64 = _d("f64", "float64", True, True)
i8 = _d("i8", "int8", False, True)
i16 = _d("i16", "int16", False, True)
i32 = _d("i32", "int32", False, True)
i64 = _d("i64", "int64", False, True)
u8 = _d("u8", "uint8", False, False)
u16 = _d("u16", "uint16", False, False)
u32 = _d("u32", "uint32", False, False)
u64 = _d("u64", "uint64", False, False)
bool_ = _d("bool", "bool", False, False)

ALL_DTYPES = (f16, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64, bool_)
BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NUMPY = {d.np_dtype: d for d in ALL_DTYPES}
FLOAT_DTYPES = tuple(d for d in ALL_DTYPES if d.is_float)
INT_DTYPES = tuple(d for d in ALL_DTYPES if d.is_int)


def from_name(name: str) -> DType:
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown dtype '{name}'; known: {', '.join(BY_NAME)}") from None


def from_numpy(dtype) -> DType:
    dt = np.dtype(dtype)
    try:
        return _BY_NUMPY[dt]
    except KeyError:
        raise ValueError(f"numpy dtype {dt} has no IR dtype; supported: "
                         f"{', '.join(str(d.np_dtype) for d in ALL_DTYPES)}") from None


def as_dtype(x) -> DType:
    """Accept a DType, an IR name ('f32') or anything numpy understands."""
    if isinstance(x, DType):
        return x
    if isinstance(x, str) and x in BY_NAME:
        return BY_NAME[x]
    try:
        return from_numpy(x)
    except TypeError:
        raise ValueError(f"unknown dtype {x!r}; known: {', '.join(BY_NAME)}") from None
