"""Sliding-window geometry shared by Conv, ConvTranspose and the pooling ops: attribute parsing
(kernel_shape, strides, dilations, pads, auto_pad), ONNX output-size rules and a strided window
view of a padded tensor (no copies, no per-pixel loops). Registers no ops."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..ir.types import UNKNOWN

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


def fmt(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def spatial_ints(call, name: str, n: int, default: int, minimum: int) -> list:
    """An ints attribute with one value per spatial axis (default when absent)."""
    v = call.attrs.get(name)
    if v is None:
        return [default] * n
    v = [int(x) for x in v]
    if len(v) != n:
        raise call.error(f"{name} has {len(v)} values {v}; expected {n} (one per spatial axis "
                         f"of a rank-{n + 2} input)")
    if any(x < minimum for x in v):
        raise call.error(f"{name} {v} must all be >= {minimum}")
    return v


def get_pads(call, n: int) -> list:
    v = call.attrs.get("pads")
    if v is None:
        return [0] * (2 * n)
    v = [int(x) for x in v]
    if len(v) != 2 * n:
        raise call.error(f"pads has {len(v)} values {v}; expected {2 * n} (begin and end for each "
                         f"of {n} spatial axes)")
    if any(x < 0 for x in v):
        raise call.error(f"pads {v} must be non-negative")
    return v


def get_auto_pad(call) -> str:
    ap = call.attrs.get("auto_pad", "NOTSET")
    if ap not in AUTO_PADS:
        raise call.error(f"auto_pad is '{ap}'; expected one of {', '.join(AUTO_PADS)}")
    if ap != "NOTSET" and call.attrs.get("pads") is not None and any(call.attrs["pads"]):
        raise call.error(f"pads {list(call.attrs['pads'])} cannot be used together with "
                         f"auto_pad={ap}")
    return ap


def get_flag(call, name: str) -> int:
    v = int(call.attrs.get(name, 0))
    if v not in (0, 1):
        raise call.error(f"{name} must be 0 or 1, got {v}")
    return v


def spatial_rank(call, shape, what: str = "X") -> int:
    if len(shape) < 3:
        raise call.error(f"{what} must have rank >= 3 (N, C, spatial...), got shape {fmt(shape)}")
    return len(shape) - 2


def out_dim(call, axis: int, size, k_eff: int, stride: int, pb: int, pe: int, auto_pad: str,
            ceil_mode: int = 0):
    """Output length along one spatial axis, and the (begin, end) pads actually used.

    `size` may be symbolic: the result is then the same symbol when the window cannot change
    the length, else '?', and the pads are None when auto_pad makes them depend on `size`."""
    if isinstance(size, str):
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            return (size if stride == 1 else UNKNOWN), None
        if auto_pad == "VALID":
            return (size if k_eff == 1 and stride == 1 else UNKNOWN), (0, 0)
        return (size if k_eff == 1 and stride == 1 and pb + pe == 0 else UNKNOWN), (pb, pe)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out = -(-size // stride)
        total = max(0, (out - 1) * stride + k_eff - size)
        begin = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
        return out, (begin, total - begin)
    if auto_pad == "VALID":
        pb = pe = 0
    span = size + pb + pe - k_eff
    if span < 0:
        raise call.error(f"spatial axis {axis}: input length {size} with pads ({pb}, {pe}) is "
                         f"smaller than the (dilated) kernel extent {k_eff}")
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + pb:   # the last window must start inside input/left pad
            out -= 1
    else:
        out = span // stride + 1
    return out, (pb, pe)


def window_view(x: np.ndarray, pads_begin, out, kernel, strides, dilations, pad_value):
    """(N, C, *out, *kernel) view: element [n, c, o..., j...] is the padded input at
    o*stride - pad_begin + j*dilation (pad_value outside the input)."""
    n = len(kernel)
    lead = x.shape[:x.ndim - n]
    if any(o == 0 for o in out) or x.size == 0:
        return np.full(lead + tuple(out) + tuple(kernel), pad_value, dtype=x.dtype)
    need = [(o - 1) * s + (k - 1) * d + 1 for o, s, k, d in zip(out, strides, kernel, dilations)]
    widths = [(0, 0)] * len(lead)
    crop = [slice(None)] * len(lead)
    for L, pb, nd in zip(x.shape[len(lead):], pads_begin, need):
        widths.append((pb, max(0, nd - L - pb)))
        crop.append(slice(0, nd))
    if any(w != (0, 0) for w in widths):
        xp = np.pad(x, widths, mode="constant", constant_values=pad_value)
    else:
        xp = x
    xp = xp[tuple(crop)]
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    axes = tuple(range(len(lead), x.ndim))
    v = sliding_window_view(xp, eff, axis=axes)
    sel = ((slice(None),) * len(lead) + tuple(slice(None, None, s) for s in strides)
           + tuple(slice(None, None, d) for d in dilations))
    return v[sel]


def positions(out: int, kernel: int, stride: int, dilation: int, pad_begin: int) -> np.ndarray:
    """Input coordinate of each (output position, kernel tap) along one axis: shape (out, k)."""
    return (np.arange(out)[:, None] * stride - pad_begin
            + np.arange(kernel)[None, :] * dilation)


def lowest(dtype) -> object:
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return -np.inf
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min
