"""Helpers shared by shape rules: broadcasting (with symbolic dims), axis normalisation,
dtype checks, and factories for the common rule shapes."""
from __future__ import annotations

import numpy as np

from ..ir.dtypes import DType
from ..ir.types import UNKNOWN, Dim, TensorType
from .registry import OpCall


def broadcast_dims(call: OpCall, a: Dim, b: Dim) -> Dim:
    if a == b:
        return a
    if a == 1:
        return b
    if b == 1:
        return a
    if isinstance(a, int) and isinstance(b, int):
        raise call.error(f"shapes do not broadcast: dim {a} vs {b}")
    # one side symbolic: the static non-1 side wins; two different symbols stay unknown
    if isinstance(a, int):
        return a
    if isinstance(b, int):
        return b
    return UNKNOWN


def broadcast_shapes(call: OpCall, *shapes) -> tuple:
    """numpy multidirectional broadcasting over possibly symbolic shapes."""
    rank = max((len(s) for s in shapes), default=0)
    out: list = [1] * rank
    for s in shapes:
        padded = (1,) * (rank - len(s)) + tuple(s)
        for i, d in enumerate(padded):
            try:
                out[i] = broadcast_dims(call, out[i], d)
            except Exception:
                raise call.error("shapes do not broadcast: "
                                 + " vs ".join(str(list(x)) for x in shapes)) from None
    return tuple(out)


def normalize_axis(call: OpCall, axis: int, rank: int, name: str = "axis") -> int:
    """Map a possibly negative axis into [0, rank); rank-0 tensors accept axis 0/-1 only if allowed."""
    if not -rank <= axis < rank:
        raise call.error(f"{name} {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def normalize_axes(call: OpCall, axes, rank: int, name: str = "axes") -> list:
    out = [normalize_axis(call, int(a), rank, name) for a in axes]
    if len(set(out)) != len(out):
        raise call.error(f"{name} {list(axes)} repeat an axis")
    return out


def input_type(call: OpCall, i: int) -> TensorType:
    t = call.input_types[i] if i < len(call.input_types) else None
    if t is None:
        raise call.error(f"input {i} is required")
    return t


def require_dtype(call: OpCall, i: int, allowed, what: str = "") -> DType:
    t = input_type(call, i)
    if t.dtype not in allowed:
        raise call.error(f"input {i}{' (' + what + ')' if what else ''} has dtype {t.dtype}; "
                         f"expected one of {', '.join(d.name for d in allowed)}")
    return t.dtype


def require_same_dtype(call: OpCall, indices) -> DType:
    types = [input_type(call, i) for i in indices]
    first = types[0].dtype
    for i, t in zip(indices, types):
        if t.dtype != first:
            raise call.error(f"input {i} has dtype {t.dtype}, but input {indices[0]} has {first}")
    return first


def const_ints(call: OpCall, i: int, what: str):
    """The integer contents of constant input i, or None if it is not a constant."""
    v = call.const(i)
    if v is None:
        return None
    if v.dtype.kind not in "iu":
        raise call.error(f"input {i} ({what}) must be an integer tensor, got {v.dtype}")
    return [int(x) for x in np.asarray(v).reshape(-1)]


def same_as_input(i: int = 0):
    """Shape rule: one output with the type of input i."""
    def infer(call: OpCall):
        return [input_type(call, i)]
    return infer


def unknown_shape(rank: int) -> tuple:
    return (UNKNOWN,) * rank
