"""Raise decomposed normalisations that exporters emit to single ops.

LayerNormalization (torch.onnx at opset < 17, hand-written modules):
    d = x - ReduceMean(x, axes)          (keepdims, axes a trailing run k..r-1)
    y = d / Sqrt(ReduceMean(d*d or Pow(d, 2), axes) + eps)     or  d * Reciprocal(Sqrt(...))
    -> LayerNormalization(x, ones, axis=k, epsilon=eps); then Mul by gamma and Add of beta over
       the normalised axes fold into its Scale and B (`layernorm-scale`, `layernorm-bias`).
Softmax:
    e = Exp(x - ReduceMax(x, [a]))  or  Exp(x);   y = e / ReduceSum(e, [a])  ->  Softmax(x, a)
Every intermediate must be used only inside the pattern, else the rule declines."""
from __future__ import annotations

from typing import Optional

import numpy as np

from compiler.ops import OPS
from compiler.rewrite import P, Rule

from ._common import (as_dtype_of, equals, internal_only, keep_if_same_type, labeled,
                      produced_by, reduce_axes, splat, variants)

_KEEP = {"keepdims": 1}


# ---- LayerNormalization ----------------------------------------------------------------------
def _ln_pattern(square: str, denom: str, with_eps: bool) -> P:
    x = P.var("x")
    mean = P("ReduceMean", x, P.const("axes1"), name="mean", attrs=_KEEP)
    d = P("Sub", x, mean)        # unnamed: exporters may compute x - mean twice
    sq = P("Pow", d, P.const("two", pred=equals(2))) if square == "pow" else P("Mul", d, d)
    var = P("ReduceMean", sq, P.const("axes2"), name="var", attrs=_KEEP)
    std = P("Sqrt", P("Add", var, P.const("eps", pred=splat("eps"))) if with_eps else var)
    return P("Mul", d, P("Reciprocal", std)) if denom == "recip" else P("Div", d, std)


def _attr_float(a: np.ndarray) -> float:
    """The splat value as an attribute float: the shortest decimal that rounds back to the same
    f32 for f32 constants (1e-05, not 9.999999747378752e-06), the exact value otherwise."""
    v = a.reshape(-1)[0]
    return float(str(v)) if a.dtype == np.float32 else float(v)


def _raise_layernorm(g, m):
    x = m["x"]
    if not x.dtype.is_float or not internal_only(m):
        return None
    rank = x.type.rank
    axes = reduce_axes(m["mean"], rank)
    if not axes or axes != reduce_axes(m["var"], rank) or axes != list(range(axes[0], rank)):
        return None           # LayerNormalization normalises one trailing run of axes
    norm = x.shape[axes[0]:]
    eps = _attr_float(m.array("eps")) if "eps" in m else 0.0
    if not all(isinstance(d, int) for d in norm) or not (eps >= 0.0 and np.isfinite(eps)):
        return None
    ones = g.add_constant(np.ones(norm, x.dtype.np_dtype), "ln_scale")
    return keep_if_same_type(m, g.op("LayerNormalization", x, ones, axis=axes[0], epsilon=eps))


def _ln_parts(ln):
    """(x, axis, normalised shape, scale, bias or None) of a single-result LayerNormalization."""
    x, scale = ln.inputs[0], ln.inputs[1]
    bias = ln.inputs[2] if len(ln.inputs) > 2 else None
    axis = OPS["LayerNormalization"].full_attrs(ln.attrs)["axis"]
    axis = axis + x.type.rank if axis < 0 else axis
    return x, axis, tuple(x.shape[axis:]), scale, bias


def _over_norm_axes(a: np.ndarray, rank: int, axis: int, norm: tuple) -> Optional[np.ndarray]:
    """Constant `a`, broadcast against the rank-`rank` LN result, as an array of the normalised
    shape, if it varies only along the normalised axes; else None."""
    if a.ndim > rank or not all(isinstance(d, int) for d in norm):
        return None
    shape = (1,) * (rank - a.ndim) + a.shape
    if any(d != 1 for d in shape[:axis]):
        return None
    if any(d not in (1, n) for d, n in zip(shape[axis:], norm)):
        return None
    return np.broadcast_to(a.reshape(shape[axis:]), norm)


def _param(g, arr, like, hint):
    return g.add_constant(as_dtype_of(arr, like), hint)


def _fold_into_ln(kind: str):
    def rewrite(g, m):
        ln = m["ln"].producer
        x, axis, norm, scale, bias = _ln_parts(ln)
        v = m["v"]
        if v.dtype != x.dtype:
            return None
        if v.is_constant:
            vec = _over_norm_axes(v.data, x.type.rank, axis, norm)
            if vec is None or not scale.is_constant or (bias is not None and not bias.is_constant):
                return None
            vec = vec.astype(np.float64)
            s = scale.data.astype(np.float64)
            b = bias.data.astype(np.float64) if bias is not None else None
            if kind == "mul":
                s, b = s * vec, (b * vec if b is not None else None)
            else:
                b = vec if b is None else b + vec
            new_s = _param(g, np.broadcast_to(s, norm), x, "ln_scale")
            new_b = _param(g, np.broadcast_to(b, norm), x, "ln_bias") if b is not None else None
        else:
            # a non-constant gamma/beta of exactly the normalised shape takes an empty slot
            if tuple(v.shape) != norm:
                return None
            if kind == "mul":
                if bias is not None or not (scale.is_constant and np.all(scale.data == 1)):
                    return None
                new_s, new_b = v, None
            else:
                if bias is not None:
                    return None
                new_s, new_b = scale, v
        inputs = [x, new_s] + ([new_b] if new_b is not None else [])
        return keep_if_same_type(m, g.op("LayerNormalization", *inputs, name=ln.name, **ln.attrs))
    return rewrite


_LN = P.var("ln", pred=produced_by("LayerNormalization", "LayerNormalization(x, s, b?)"))
_ANY_GAMMA = P.var("v", pred=labeled(lambda v: True, "gamma"))
_ANY_BETA = P.var("v", pred=labeled(lambda v: True, "beta"))


# ---- Softmax ---------------------------------------------------------------------------------
def _softmax_pattern(with_max: bool, denom: str) -> P:
    x = P.var("x")
    shifted = P("Sub", x, P("ReduceMax", x, P.const("axes1"), name="max", attrs=_KEEP)) \
        if with_max else x
    e = P("Exp", shifted)
    total = P("ReduceSum", e, P.const("axes2"), name="sum", attrs=_KEEP)
    return P("Mul", e, P("Reciprocal", total)) if denom == "recip" else P("Div", e, total)


def _raise_softmax(g, m):
    x = m["x"]
    if not x.dtype.is_float or not internal_only(m):
        return None
    rank = x.type.rank
    axes = reduce_axes(m["sum"], rank)
    if axes is None or len(axes) != 1:
        return None
    if "max" in m and reduce_axes(m["max"], rank) != axes:
        return None
    return keep_if_same_type(m, g.op("Softmax", x, axis=axes[0]))


RULES = (
    [Rule("raise-layernorm", p, _raise_layernorm)
     for p in variants(_ln_pattern, ("pow", "mul"), ("div", "recip"), (True, False))]
    + [Rule("layernorm-scale", P("Mul", _LN, _ANY_GAMMA),
            _fold_into_ln("mul")),
       Rule("layernorm-bias", P("Add", _LN, _ANY_BETA),
            _fold_into_ln("add"))]
    + [Rule("raise-softmax", p, _raise_softmax)
       for p in variants(_softmax_pattern, (True, False), ("div", "recip"))]
)

DOCS = {
    "raise-layernorm": ("LayerNormalization(x, ones, axis=k, epsilon=eps)",
                        "both ReduceMeans keepdims over the same trailing axes k..r-1; Pow(d, 2) "
                        "or d*d; Div or Mul(Reciprocal); eps a splat constant inside the Sqrt; "
                        "the intermediates have no other uses"),
    "layernorm-scale": ("LayerNormalization(x, s*gamma, b*gamma)",
                        "gamma varies only over the normalised axes (a non-constant gamma of the "
                        "normalised shape fills a ones scale); the LN result has one use"),
    "layernorm-bias": ("LayerNormalization(x, s, b + beta)", "as layernorm-scale"),
    "raise-softmax": ("Softmax(x, axis=a)",
                      "one axis, keepdims; with or without the max subtraction (the Softmax op "
                      "subtracts the max itself: same math, no overflow)"),
}
