"""Helpers the simplify rule tables share: labelled predicates (the label is what the rule-table
docs print), constant tests, axis normalisation and the type guard every rule ends with."""
from __future__ import annotations

import itertools
import math
from typing import Callable, Optional

import numpy as np

from compiler.ir.infer import infer_node_types
from compiler.ir.types import UNKNOWN


def labeled(fn: Callable, label: str) -> Callable:
    """Attach the text the rule-table docs show for a P.var/P.const predicate."""
    fn.label = label
    return fn


# ---- constant predicates (they receive the constant's array) -------------------------------
def is_splat(a: np.ndarray) -> bool:
    return a.size > 0 and bool(np.all(a == a.reshape(-1)[0]))


def splat_value(a: np.ndarray) -> float:
    return a.reshape(-1)[0].item()


def equals(value) -> Callable:
    """Every element is exactly `value` (a non-empty splat)."""
    return labeled(lambda a: a.size > 0 and a.dtype != np.bool_ and bool(np.all(a == value)),
                   _num(value))


def rtol_for(dtype) -> float:
    """How far an exporter's rounded constant may be from the exact one: 1e-6 relative for f32
    and f64, a few f16 ulps for f16."""
    return 2e-3 if np.dtype(dtype) == np.float16 else 1e-6


def near(value: float, label: Optional[str] = None) -> Callable:
    """A float splat within rtol_for(dtype) of `value`."""
    def pred(a):
        if a.dtype.kind != "f" or not is_splat(a):
            return False
        return math.isclose(float(splat_value(a)), value, rel_tol=rtol_for(a.dtype), abs_tol=0.0)
    return labeled(pred, label or f"≈{value:.8g}")


def splat(label: str = "c") -> Callable:
    return labeled(lambda a: is_splat(a), label)


def _num(v) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


# ---- value predicates (they receive the Value) ---------------------------------------------
def only_use(v, graph=None) -> bool:
    """`v` has exactly one use and is not a graph output."""
    if len(v.uses) != 1:
        return False
    g = v.producer.graph if v.producer is not None else graph
    return g is None or not any(o is v for o in g.outputs)


def produced_by(op: str, label: str, one_use: bool = True, n_outputs: int = 1) -> Callable:
    """A P.var predicate: the value is result 0 of an `op` node (with one use when `one_use`).
    Used where a pattern cannot name the node because an operand is optional (Conv's bias)."""
    def pred(v):
        n = v.producer
        if n is None or n.op != op or v.index != 0 or len(n.outputs) != n_outputs:
            return False
        return only_use(v) if one_use else True
    return labeled(pred, label)


# ---- shapes, axes and types ----------------------------------------------------------------
def keep_if_same_type(m, v):
    """`v` if it has exactly the type of the matched root's result, else None (decline)."""
    return v if v is not None and v.type == m.root.output.type else None


def has_unknown(t) -> bool:
    return any(d == UNKNOWN for d in t.shape)


def inferred_type(node):
    """What the op's shape rule says the node's (single) result is; None if it fails."""
    try:
        return infer_node_types(node, 1)[0]
    except Exception:   # noqa: BLE001 - a rule that cannot tell simply declines
        return None


def const_ints(v) -> Optional[list]:
    if v is None or v.data is None or v.data.dtype.kind not in "iu":
        return None
    return [int(i) for i in v.data.reshape(-1)]


def norm_axes(axes, rank: int) -> Optional[list]:
    """Normalise possibly negative axes into [0, rank); None if out of range or repeated."""
    out = []
    for a in axes:
        if not -rank <= a < rank:
            return None
        out.append(a + rank if a < 0 else a)
    return out if len(set(out)) == len(out) else None


def reduce_axes(node, rank: int) -> Optional[list]:
    """The sorted axes a Reduce* node with a constant axes input and keepdims=1 reduces."""
    if len(node.inputs) != 2 or node.attrs.get("keepdims", 1) != 1:
        return None
    axes = const_ints(node.inputs[1])
    if not axes:
        return None
    axes = norm_axes(axes, rank)
    return sorted(axes) if axes is not None else None


def channel_vector(a: np.ndarray, rank: int, axis: int, channels: int) -> Optional[np.ndarray]:
    """If constant `a` broadcast against a rank-`rank` value varies only along `axis` (which has
    `channels` entries), return it as a [channels] vector; else None."""
    if a.ndim > rank:
        return None
    shape = (1,) * (rank - a.ndim) + a.shape
    if any(d != 1 for i, d in enumerate(shape) if i != axis) or shape[axis] not in (1, channels):
        return None
    return np.broadcast_to(a.reshape(-1), (channels,)) if shape[axis] == 1 else a.reshape(-1)


def as_dtype_of(arr: np.ndarray, like) -> np.ndarray:
    """`arr` converted to the numpy dtype of Value `like` (a new writable-free copy)."""
    with np.errstate(all="ignore"):
        return np.array(np.asarray(arr), dtype=like.dtype.np_dtype, order="C")   # 0-d kept


def internal_only(m) -> bool:
    """Every matched node but the root is used only by matched nodes (and is no graph output):
    raising the pattern then removes all of it instead of computing parts twice."""
    inside = {id(n) for n in m.nodes}
    g = m.root.graph
    for n in m.nodes[1:]:
        for v in n.outputs:
            if any(id(u) not in inside for u, _ in v.uses) or any(o is v for o in g.outputs):
                return False
    return True


def variants(build, *choices) -> list:
    """[build(*combo) for every combination of the choices]: one rule per exporter variant."""
    return [build(*combo) for combo in itertools.product(*choices)]
