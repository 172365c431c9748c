"""Inference BatchNormalization folding, and per-channel affine folding into Conv.

BN(z) = z * f + shift with f = scale / sqrt(var + eps), shift = B - mean * f (per channel, axis
1). When z is a Conv, a Gemm or a MatMul(+Add) whose only use is the BN and all weights are
constants, the affine map goes into the weights: W' = W * f (per output channel / column),
b' = b * f + shift. Folded constants are computed in f64 and rounded once to the weights' dtype.
A BN that cannot fold becomes Mul + Add by per-channel constants (`bn-to-affine`)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from compiler.ops import OPS
from compiler.rewrite import P, Rule

from ._common import as_dtype_of, channel_vector, keep_if_same_type, labeled, produced_by

_F64 = np.float64


def _bn_affine(bn, channels) -> Optional[tuple]:
    """(f, shift) as f64 [channels] vectors of a BN node with constant parameters, or None."""
    params = bn.inputs[1:5]
    if any(p is None or not p.is_constant for p in params):
        return None
    scale, bias, mean, var = (p.data.astype(_F64).reshape(-1) for p in params)
    if not isinstance(channels, int) or scale.shape != (channels,):
        return None
    eps = OPS["BatchNormalization"].full_attrs(bn.attrs)["epsilon"]
    with np.errstate(all="ignore"):
        f = scale / np.sqrt(var + eps)
        shift = bias - mean * f
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(shift))):
        return None
    return f, shift


def _cast_finite(like, *arrays) -> Optional[list]:
    """The f64 arrays rounded to `like`'s dtype, or None if one overflows there (f16)."""
    out = [as_dtype_of(a, like) for a in arrays]
    return out if all(np.all(np.isfinite(a)) for a in out) else None


def _per_out_channel(vec, ndim: int) -> np.ndarray:
    """A [C] vector shaped to scale the leading (output channel) axis of a rank-ndim weight."""
    return vec.reshape((-1,) + (1,) * (ndim - 1))


def _conv_parts(conv):
    """(x, W, b or None) of a Conv with constant float weights (b may be absent), or None."""
    x, w = conv.inputs[0], conv.inputs[1]
    b = conv.inputs[2] if len(conv.inputs) > 2 else None
    if not w.is_constant or (b is not None and not b.is_constant) or not w.dtype.is_float:
        return None
    return x, w, b


def _new_conv(g, conv, x, w, w_new, b_new):
    """Conv(x, w_new, b_new) with conv's attributes (w_new None keeps the weight w); None if
    the folded constants overflow the weights' dtype."""
    cast = _cast_finite(w, b_new) if w_new is None else _cast_finite(w, b_new, w_new)
    if cast is None:
        return None
    w_c = w if w_new is None else g.add_constant(cast[1], w.name + "_folded")
    b_c = g.add_constant(cast[0], "conv_bias")
    return g.op("Conv", x, w_c, b_c, name=conv.name, **conv.attrs)


def _fold_bn_conv(g, m):
    conv = m["y"].producer
    parts = _conv_parts(conv)
    if parts is None:
        return None
    x, w, b = parts
    aff = _bn_affine(m.root, w.shape[0])
    if aff is None:
        return None
    f, shift = aff
    w_new = w.data.astype(_F64) * _per_out_channel(f, w.type.rank)
    b_new = (b.data.astype(_F64) if b is not None else 0.0) * f + shift
    return keep_if_same_type(m, _new_conv(g, conv, x, w, w_new, b_new))


def _fold_bn_gemm(g, m):
    gemm = m["y"].producer
    a, bmat = gemm.inputs[0], gemm.inputs[1]
    c = gemm.inputs[2] if len(gemm.inputs) > 2 else None
    if not bmat.is_constant or (c is not None and not c.is_constant):
        return None
    attrs = OPS["Gemm"].full_attrs(gemm.attrs)
    aff = _bn_affine(m.root, m["y"].shape[1])
    if aff is None:
        return None
    f, shift = aff
    b64 = bmat.data.astype(_F64)
    b_new = b64 * f[:, None] if attrs["transB"] else b64 * f[None, :]
    if c is not None and attrs["beta"] != 0.0:
        c_new = attrs["beta"] * c.data.astype(_F64) * f + shift
    else:
        c_new = shift
    cast = _cast_finite(bmat, b_new, c_new)
    if cast is None:
        return None
    b_c = g.add_constant(cast[0], bmat.name + "_folded")
    c_c = g.add_constant(cast[1], "gemm_bias")
    new = g.op("Gemm", a, b_c, c_c, name=gemm.name, **dict(gemm.attrs, beta=1.0))
    return keep_if_same_type(m, new)


def _fold_bn_matmul(g, m):
    x, w = m["x"], m["w"]
    if m["mm"].output.type.rank != 2 or w.type.rank != 2 or not w.dtype.is_float:
        return None
    aff = _bn_affine(m.root, w.shape[1])
    if aff is None:
        return None
    f, shift = aff
    bias = m.array("b").astype(_F64) * f + shift if "b" in m else shift
    cast = _cast_finite(w, w.data.astype(_F64) * f[None, :], bias)
    if cast is None:
        return None
    y = g.op("MatMul", x, g.add_constant(cast[0], w.name + "_folded"), name=m["mm"].name)
    return keep_if_same_type(m, g.op("Add", y, g.add_constant(cast[1], "bias")))


def _bn_to_affine(g, m):
    x = m["x"]
    if x.type.rank < 2:
        return None
    aff = _bn_affine(m.root, x.shape[1])
    if aff is None:
        return None
    f, shift = (_per_out_channel(v, x.type.rank - 1) for v in aff)
    cast = _cast_finite(x, f, shift)
    if cast is None:
        return None
    scaled = g.op("Mul", x, g.add_constant(cast[0], "bn_scale"))
    return keep_if_same_type(m, g.op("Add", scaled, g.add_constant(cast[1], "bn_shift")))


def _conv_affine(kind):
    """Mul(Conv, s) / Add(Conv, t) with per-output-channel constants: into W and b."""
    cname = "s" if kind == "mul" else "t"

    def rewrite(g, m):
        conv = m["y"].producer
        parts = _conv_parts(conv)
        if parts is None:
            return None
        x, w, b = parts
        vec = channel_vector(m.array(cname), m["y"].type.rank, 1, w.shape[0])
        if vec is None:
            return None
        vec = vec.astype(_F64)
        b64 = b.data.astype(_F64) if b is not None else np.zeros(w.shape[0], _F64)
        if kind == "mul":
            w_new, b_new = w.data.astype(_F64) * _per_out_channel(vec, w.type.rank), b64 * vec
        else:
            w_new, b_new = None, b64 + vec
        return keep_if_same_type(m, _new_conv(g, conv, x, w, w_new, b_new))
    return rewrite


_PARAMS = (P.const("scale"), P.const("bias"), P.const("mean"), P.const("var"))
_CONV = P.var("y", pred=produced_by("Conv", "Conv(x, W, b?)"))
_GEMM = P.var("y", pred=produced_by("Gemm", "Gemm(A, B, C?)"))
_MM = P("MatMul", P.var("x"), P.const("w", pred=labeled(lambda a: True, "W")), name="mm",
        one_use=True)

RULES = [
    Rule("fold-bn-conv", P("BatchNormalization", _CONV, *_PARAMS), _fold_bn_conv),
    Rule("fold-bn-gemm", P("BatchNormalization", _GEMM, *_PARAMS), _fold_bn_gemm),
    Rule("fold-bn-matmul", P("BatchNormalization", P("Add", _MM, P.const("b"), one_use=True),
                             *_PARAMS), _fold_bn_matmul),
    Rule("fold-bn-matmul", P("BatchNormalization", _MM, *_PARAMS), _fold_bn_matmul),
    Rule("bn-to-affine", P("BatchNormalization", P.var("x"), *_PARAMS), _bn_to_affine),
    Rule("conv-mul-fold", P("Mul", _CONV, P.const("s")), _conv_affine("mul")),
    Rule("conv-add-fold", P("Add", _CONV, P.const("t")), _conv_affine("add")),
]

DOCS = {
    "fold-bn-conv": ("Conv(x, W*f, b*f + shift)",
                     "f = scale/sqrt(var+eps), shift = B - mean*f per output channel; the Conv "
                     "result has one use; W, b and the BN parameters are constants"),
    "fold-bn-gemm": ("Gemm(A, B*f, beta*C*f + shift) with beta=1",
                     "per output column; transB=1 scales B's rows, transB=0 its columns"),
    "fold-bn-matmul": ("Add(MatMul(x, W*f), b*f + shift)",
                       "2-D MatMul (channels = columns), with or without the bias Add"),
    "bn-to-affine": ("Add(Mul(x, f), shift)",
                     "a BN that cannot fold (e.g. its input has other uses); constant params"),
    "conv-mul-fold": ("Conv(x, W*s, b*s)", "s constant, varying only along the channel axis; "
                                            "the Conv result has one use"),
    "conv-add-fold": ("Conv(x, W, b + t)", "t constant, varying only along the channel axis"),
}
