"""Data-layout ops for target-specific convolution layouts (TVM's NCHW[x]c and NHWC):

- `LayoutTransform(x) {src_layout, dst_layout, channels}` converts between "NCHW", "NHWC" and the
  channel-blocked "NCHW{k}c" ([N, ceil(C/k), H, W, k]: channel c lives at [:, c // k, :, :, c % k]).
  Blocking pads the channel axis with zeros up to a multiple of k; unblocking crops back to
  `channels` (the logical channel count; default: all Cb*k lanes).
- `ConvNCHWc(x, w, b)`: data in NCHW{ib}c, weights in OIHW{iw}i{ob}o ([M/ob, (C/group)/iw, KH, KW,
  iw, ob]: TVM's "OIHW8i8o"), optional bias [M/ob, ob]; result in NCHW{ob}c. Its semantics is
  ONNX Conv on the unblocked tensors *including padded lanes* (Cb*ib input channels, Mb*ob output
  channels, same group/strides/pads/dilations): groups map to channels, not to blocks, so a
  depthwise conv over C channels padded to Cp is a depthwise conv with group=Cp and 1-input
  weights ("OIHW1i{ob}o"); lanes whose weights are zero produce zeros.
- `ConvNHWC(x, w, b)`: data NHWC, weights HWIO ([KH, KW, C/group, M]), bias [M].
- `{MaxPool, AveragePool, LpPool, GlobalAveragePool, GlobalMaxPool, GlobalLpPool}{NCHWc, NHWC}`:
  the ONNX pool applied per channel (every lane of a blocked tensor, padded ones included).

The numpy helpers (`parse_layout`, `to_nchw`, `from_nchw`, `pack_conv_weight`, ...) are the
single definition of each layout, shared with the layout pass that re-lays out weights."""
from __future__ import annotations

import dataclasses
import re
from typing import Optional

import numpy as np

from ..errors import ShapeInferenceError
from ..ir.types import UNKNOWN, TensorType
from . import conv, pool  # noqa: F401  (registers Conv and the pools this module wraps)
from .common import input_type
from .registry import OPS, OpKind, def_op, make_call

_BLOCKED_RE = re.compile(r"^NCHW([1-9][0-9]*)c$")
PLAIN_LAYOUTS = ("NCHW", "NHWC")


# ---- layouts (numpy and shapes) ----------------------------------------------------------------

def parse_layout(name: str) -> tuple[str, int]:
    """"NCHW" -> ("NCHW", 0), "NHWC" -> ("NHWC", 0), "NCHW8c" -> ("NCHWc", 8)."""
    if name in PLAIN_LAYOUTS:
        return name, 0
    m = _BLOCKED_RE.match(name) if isinstance(name, str) else None
    if not m:
        raise ValueError(f"unknown layout {name!r}; expected NCHW, NHWC or NCHW<k>c (e.g. NCHW8c)")
    return "NCHWc", int(m.group(1))


def layout_rank(name: str) -> int:
    return 5 if parse_layout(name)[0] == "NCHWc" else 4


def _cdiv(a, b):
    return -(-a // b)


def _mul(a, b):
    return a * b if isinstance(a, int) and isinstance(b, int) else UNKNOWN


def layout_shape(nchw_shape, layout: str) -> tuple:
    """The shape an [N, C, H, W] tensor has in `layout` (symbolic dims pass through)."""
    n, c, h, w = nchw_shape
    kind, k = parse_layout(layout)
    if kind == "NCHW":
        return (n, c, h, w)
    if kind == "NHWC":
        return (n, h, w, c)
    return (n, _cdiv(c, k) if isinstance(c, int) else UNKNOWN, h, w, k)


def to_nchw(x: np.ndarray, layout: str, channels: Optional[int] = None) -> np.ndarray:
    """Convert `x` from `layout` to NCHW; a blocked tensor is cropped to `channels` lanes."""
    kind, k = parse_layout(layout)
    if kind == "NCHW":
        y = x
    elif kind == "NHWC":
        y = x.transpose(0, 3, 1, 2)
    else:
        n, cb, h, w, _ = x.shape
        y = x.transpose(0, 1, 4, 2, 3).reshape(n, cb * k, h, w)
    if channels is not None and channels != y.shape[1]:
        y = y[:, :channels]
    return np.ascontiguousarray(y)


def from_nchw(x: np.ndarray, layout: str) -> np.ndarray:
    """Convert an NCHW `x` to `layout`; blocking zero-pads the channels to a multiple of k."""
    kind, k = parse_layout(layout)
    if kind == "NCHW":
        return np.ascontiguousarray(x)
    if kind == "NHWC":
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    n, c, h, w = x.shape
    cp = _cdiv(c, k) * k
    if cp != c:
        x = np.concatenate([x, np.zeros((n, cp - c, h, w), x.dtype)], axis=1)
    return np.ascontiguousarray(x.reshape(n, cp // k, k, h, w).transpose(0, 1, 3, 4, 2))


def pad_axis(a: np.ndarray, axis: int, size: int, value=0) -> np.ndarray:
    """`a` padded at the end of `axis` to `size` with `value`."""
    extra = size - a.shape[axis]
    if extra <= 0:
        return a
    shape = list(a.shape)
    shape[axis] = extra
    return np.concatenate([a, np.full(shape, value, a.dtype)], axis=axis)


def pack_conv_weight(w: np.ndarray, iw: int, ob: int) -> np.ndarray:
    """OIHW [M, I, KH, KW] (M, I already padded to multiples of ob, iw) -> OIHW{iw}i{ob}o."""
    m, i, kh, kw = w.shape
    assert m % ob == 0 and i % iw == 0, (w.shape, iw, ob)
    return np.ascontiguousarray(w.reshape(m // ob, ob, i // iw, iw, kh, kw)
                                .transpose(0, 2, 4, 5, 3, 1))


def unpack_conv_weight(wb: np.ndarray) -> np.ndarray:
    """OIHW{iw}i{ob}o [Mb, Ib, KH, KW, iw, ob] -> OIHW [Mb*ob, Ib*iw, KH, KW]."""
    mb, ib, kh, kw, iw, ob = wb.shape
    return np.ascontiguousarray(wb.transpose(0, 5, 1, 4, 2, 3).reshape(mb * ob, ib * iw, kh, kw))


# ---- LayoutTransform ---------------------------------------------------------------------------

def _layouts(call):
    try:
        return parse_layout(call.attrs["src_layout"]), parse_layout(call.attrs["dst_layout"])
    except ValueError as e:
        raise call.error(str(e)) from None


def _logical_channels(call, shape, src):
    """The logical channel count of the input (int or symbol), checking `channels`."""
    kind, k = src
    given = call.attrs.get("channels")
    if given is not None and (not isinstance(given, (int, np.integer)) or given < 1):
        raise call.error(f"channels must be a positive integer, got {given!r}")
    if kind == "NCHWc":
        if shape[4] != k:
            raise call.error(f"input shape {list(shape)} is not {call.attrs['src_layout']}: the "
                             f"last dim must be the block size {k}")
        cb = shape[1]
        if given is None:
            return _mul(cb, k)
        if isinstance(cb, int) and not (cb - 1) * k < given <= cb * k:
            raise call.error(f"channels={given} does not fit {cb} blocks of {k} (expected "
                             f"{(cb - 1) * k + 1}..{cb * k})")
        return int(given)
    c = shape[1] if kind == "NCHW" else shape[3]
    if given is not None and isinstance(c, int) and c != given:
        raise call.error(f"channels={given} but the {call.attrs['src_layout']} input has {c} "
                         f"channels")
    return c if given is None else int(given)


def _lt_infer(call):
    x = input_type(call, 0)
    src, dst = _layouts(call)
    want = 5 if src[0] == "NCHWc" else 4
    if x.rank != want:
        raise call.error(f"a {call.attrs['src_layout']} input must have rank {want}, got "
                         f"shape {list(x.shape)}")
    c = _logical_channels(call, x.shape, src)
    if src[0] == "NHWC":
        n, h, w = x.shape[0], x.shape[1], x.shape[2]
    else:
        n, h, w = x.shape[0], x.shape[2], x.shape[3]
    return [x.with_shape(layout_shape((n, c, h, w), call.attrs["dst_layout"]))]


def _lt_compute(call):
    x = call.values[0]
    _lt_infer(dataclasses.replace(call, input_types=[TensorType(x.dtype, x.shape)]))
    y = to_nchw(x, call.attrs["src_layout"], call.attrs.get("channels"))
    return [from_nchw(y, call.attrs["dst_layout"])]


def_op("LayoutTransform", OpKind.INJECTIVE, _lt_infer, _lt_compute,
       attrs={"src_layout": ("string", "NCHW"), "dst_layout": ("string", "NCHW8c"),
              "channels": ("int", None)},
       doc="Convert between NCHW, NHWC and NCHW{k}c; blocking zero-pads channels to a multiple "
           "of k, unblocking crops to `channels`.")


# ---- delegation to the ONNX op on the NCHW view ------------------------------------------------

def _base_call(call, base: str, types, values=None):
    """An OpCall of ONNX op `base` carrying this node's attrs (errors still name this op)."""
    op = dataclasses.replace(OPS[base], name=call.op.name)
    return make_call(op, call.name, call.attrs, types,
                     values if values is not None else [None] * len(types), call.num_outputs)


def _reraise(call, e: ShapeInferenceError, shapes: str):
    return ShapeInferenceError(f"{e} (checked on the NCHW view: {shapes})")


def _nchw_view_type(call, i: int, family: str) -> TensorType:
    """Type of input i seen as NCHW, padded lanes included."""
    t = input_type(call, i)
    if family == "NCHWc":
        if t.rank != 5 or not isinstance(t.shape[4], int):
            raise call.error(f"input {i} must be NCHW{{k}}c (rank 5 with a static block size), "
                             f"got shape {list(t.shape)}")
        n, cb, h, w, k = t.shape
        return t.with_shape((n, _mul(cb, k), h, w))
    if t.rank != 4:
        raise call.error(f"input {i} must be NHWC (rank 4), got shape {list(t.shape)}")
    n, h, w, c = t.shape
    return t.with_shape((n, c, h, w))


def _family_layout(family: str, block: int) -> str:
    return f"NCHW{block}c" if family == "NCHWc" else "NHWC"


# ---- blocked / NHWC convolutions ---------------------------------------------------------------

def _conv_views(call, family):
    x = _nchw_view_type(call, 0, family)
    w = input_type(call, 1)
    b = call.input_types[2] if call.has_input(2) else None
    if family == "NCHWc":
        if w.rank != 6 or not all(isinstance(d, int) for d in w.shape):
            raise call.error(f"W must be static OIHW{{i}}i{{o}}o (rank 6), got shape "
                             f"{list(w.shape)}")
        mb, ib, kh, kw, iw, ob = w.shape
        wv = w.with_shape((mb * ob, ib * iw, kh, kw))
        if b is not None and tuple(b.shape) != (mb, ob):
            raise call.error(f"B must be [{mb},{ob}] (blocked like the output), got "
                             f"{list(b.shape)}")
        block = ob
    else:
        if w.rank != 4:
            raise call.error(f"W must be HWIO (rank 4), got shape {list(w.shape)}")
        kh, kw, i, m = w.shape
        wv = w.with_shape((m, i, kh, kw))
        if b is not None and (b.rank != 1 or b.shape[0] != m):
            raise call.error(f"B must be [{m}], got {list(b.shape)}")
        block = 0
    bv = None if b is None else b.with_shape((_mul(b.shape[0], b.shape[1]),) if b.rank == 2
                                             else b.shape)
    return x, wv, bv, block


def _conv_infer_for(family):
    def infer(call):
        x, w, b, block = _conv_views(call, family)
        try:
            (y,) = OPS["Conv"].infer(_base_call(call, "Conv", [x, w, b]))
        except ShapeInferenceError as e:
            raise _reraise(call, e, f"X {x}, W {w}") from None
        return [y.with_shape(layout_shape(y.shape, _family_layout(family, block)))]
    return infer


def _conv_compute_for(family):
    def compute(call):
        x, w = call.values[0], call.values[1]
        b = call.values[2] if len(call.values) > 2 else None
        if family == "NCHWc":
            layout = _family_layout(family, w.shape[5])
            xv, wv = to_nchw(x, f"NCHW{x.shape[4]}c"), unpack_conv_weight(w)
        else:
            layout = "NHWC"
            xv, wv = to_nchw(x, "NHWC"), np.ascontiguousarray(w.transpose(3, 2, 0, 1))
        bv = None if b is None else b.reshape(-1)
        vals = [xv, wv] + ([bv] if bv is not None else [])
        types = [TensorType(v.dtype, v.shape) for v in vals]
        (y,) = OPS["Conv"].compute(_base_call(call, "Conv", types, vals))
        return [from_nchw(y, layout)]
    return compute


_CONV_ATTRS = {k: (s.kind, s.default) for k, s in OPS["Conv"].attrs.items()}
def_op("ConvNCHWc", OpKind.OUT_ELEMWISE_FUSABLE, _conv_infer_for("NCHWc"),
       _conv_compute_for("NCHWc"), inputs=(2, 3), attrs=_CONV_ATTRS,
       doc="Conv on NCHW{i}c data with OIHW{i}i{o}o weights and [M/o, o] bias; result NCHW{o}c.")
def_op("ConvNHWC", OpKind.OUT_ELEMWISE_FUSABLE, _conv_infer_for("NHWC"),
       _conv_compute_for("NHWC"), inputs=(2, 3), attrs=_CONV_ATTRS,
       doc="Conv on NHWC data with HWIO weights; result NHWC.")


# ---- pooling -----------------------------------------------------------------------------------

POOL_OPS = ("MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool",
            "GlobalLpPool")


def _pool_infer_for(base, family):
    def infer(call):
        if call.num_outputs != 1:
            raise call.error("the Indices output is not supported in this layout")
        x = _nchw_view_type(call, 0, family)
        block = input_type(call, 0).shape[4] if family == "NCHWc" else 0
        try:
            (y,) = OPS[base].infer(_base_call(call, base, [x]))
        except ShapeInferenceError as e:
            raise _reraise(call, e, f"X {x}") from None
        return [y.with_shape(layout_shape(y.shape, _family_layout(family, block)))]
    return infer


def _pool_compute_for(base, family):
    def compute(call):
        x = call.values[0]
        layout = _family_layout(family, x.shape[4] if family == "NCHWc" else 0)
        xv = to_nchw(x, layout)
        (y,) = OPS[base].compute(_base_call(call, base, [TensorType(xv.dtype, xv.shape)], [xv]))
        return [from_nchw(y, layout)]
    return compute


for _base in POOL_OPS:
    for _family in ("NCHWc", "NHWC"):
        _spec = OPS[_base]
        def_op(_base + _family, _spec.kind, _pool_infer_for(_base, _family),
               _pool_compute_for(_base, _family),
               attrs={k: (s.kind, s.default) for k, s in _spec.attrs.items()},
               doc=f"{_base} on {'NCHW{k}c' if _family == 'NCHWc' else 'NHWC'} data (per channel).")


def conv_op_for(layout: str) -> str:
    return "ConvNCHWc" if parse_layout(layout)[0] == "NCHWc" else "ConvNHWC"


def pool_op_for(base: str, layout: str) -> str:
    return base + ("NCHWc" if parse_layout(layout)[0] == "NCHWc" else "NHWC")


__all__ = ["parse_layout", "layout_rank", "layout_shape", "to_nchw", "from_nchw", "pad_axis",
           "pack_conv_weight", "unpack_conv_weight", "POOL_OPS", "conv_op_for", "pool_op_for"]
