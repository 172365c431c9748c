"""Convolutions (ONNX semantics, N-d): Conv via im2col (strided window view + one batched GEMM
over groups) and ConvTranspose via a GEMM followed by a scatter-add over kernel taps."""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..ir.dtypes import FLOAT_DTYPES
from ..ir.types import UNKNOWN, TensorType
from .common import input_type, require_dtype, require_same_dtype
from .registry import OpKind, def_op
from .window import (fmt, get_auto_pad, get_pads, out_dim, spatial_ints, spatial_rank,
                     window_view)

_CONV_ATTRS = {"auto_pad": ("string", "NOTSET"), "dilations": ("ints", None),
               "group": ("int", 1), "kernel_shape": ("ints", None), "pads": ("ints", None),
               "strides": ("ints", None)}


def _known(d) -> bool:
    return isinstance(d, int)


def _common(call, x_shape, w_shape):
    """Checks shared by Conv and ConvTranspose; returns (n_spatial, group, kernel)."""
    n = spatial_rank(call, x_shape, "X")
    if len(w_shape) != len(x_shape):
        raise call.error(f"W must have the rank of X ({len(x_shape)}), got W shape {fmt(w_shape)} "
                         f"for X shape {fmt(x_shape)}")
    group = int(call.attrs["group"])
    if group < 1:
        raise call.error(f"group must be >= 1, got {group}")
    kernel = list(w_shape[2:])
    ks = call.attrs.get("kernel_shape")
    if ks is not None:
        ks = [int(k) for k in ks]
        if len(ks) != n:
            raise call.error(f"kernel_shape {ks} has {len(ks)} values; expected {n}")
        for a, b in zip(ks, kernel):
            if _known(b) and a != b:
                raise call.error(f"kernel_shape {ks} does not match W spatial shape {fmt(kernel)}")
        kernel = ks
    if any(_known(k) and k < 1 for k in kernel):
        raise call.error(f"kernel shape {fmt(kernel)} must be positive")
    return n, group, kernel


def _check_bias(call, m) -> None:
    if not call.has_input(2):
        return
    b = input_type(call, 2)
    if b.rank != 1 or (_known(m) and _known(b.shape[0]) and b.shape[0] != m):
        raise call.error(f"B must be 1-D of length M={m} (output channels), got shape "
                         f"{fmt(b.shape)}")


def _dtypes(call):
    require_dtype(call, 0, FLOAT_DTYPES, "X")
    return require_same_dtype(call, [i for i in (0, 1, 2) if call.has_input(i)])


# ---- Conv --------------------------------------------------------------------------------------

def _conv_geometry(call, x_shape, w_shape):
    n, group, kernel = _common(call, x_shape, w_shape)
    c, m, cg = x_shape[1], w_shape[0], w_shape[1]
    if _known(c) and _known(cg) and c != cg * group:
        raise call.error(f"W has {cg} input channels per group, X has {c} channels with "
                         f"group={group} (expected {cg * group}); W shape {fmt(w_shape)}, "
                         f"X shape {fmt(x_shape)}")
    if _known(m) and m % group != 0:
        raise call.error(f"W has {m} output channels, not divisible by group={group}")
    strides = spatial_ints(call, "strides", n, 1, 1)
    dilations = spatial_ints(call, "dilations", n, 1, 1)
    pads = get_pads(call, n)
    auto_pad = get_auto_pad(call)
    out, used = [], []
    for i in range(n):
        k = kernel[i]
        if not _known(k):
            out.append(UNKNOWN)
            used.append(None)
            continue
        o, p = out_dim(call, i, x_shape[2 + i], (k - 1) * dilations[i] + 1, strides[i],
                       pads[i], pads[n + i], auto_pad)
        out.append(o)
        used.append(p)
    return dict(n=n, group=group, kernel=kernel, strides=strides, dilations=dilations,
                out=out, pads=used, m=m)


def _conv_infer(call):
    dtype = _dtypes(call)
    x, w = input_type(call, 0), input_type(call, 1)
    g = _conv_geometry(call, x.shape, w.shape)
    _check_bias(call, g["m"])
    return [TensorType(dtype, (x.shape[0], g["m"], *g["out"]))]


def _work_dtype(dtype):
    return np.float32 if dtype == np.float16 else dtype


def _conv_compute(call):
    x, w = call.values[0], call.values[1]
    b = call.values[2] if len(call.values) > 2 else None
    g = _conv_geometry(call, x.shape, w.shape)
    _check_bias(call, g["m"])
    dtype = x.dtype
    work = _work_dtype(dtype)
    x, w = x.astype(work, copy=False), w.astype(work, copy=False)
    n, G, out, kernel = g["n"], g["group"], g["out"], g["kernel"]
    N, C, M = x.shape[0], x.shape[1], w.shape[0]
    cg, mg = C // G, M // G
    P, K = math.prod(out), math.prod(kernel)
    win = window_view(x, [p[0] for p in g["pads"]], out, kernel, g["strides"], g["dilations"],
                      0)                                        # (N, C, *out, *k)
    win = win.reshape((N, G, cg) + tuple(out) + tuple(kernel))
    perm = (1, 0) + tuple(range(3, 3 + n)) + (2,) + tuple(range(3 + n, 3 + 2 * n))
    cols = win.transpose(perm).reshape(G, N * P, cg * K)        # the one copy (im2col)
    wm = w.reshape(G, mg, cg * K).transpose(0, 2, 1)            # (G, cg*K, mg)
    y = np.matmul(cols, wm)                                     # (G, N*P, mg)
    y = y.reshape((G, N, P, mg)).transpose(1, 0, 3, 2).reshape((N, M) + tuple(out))
    if b is not None:
        y = y + b.astype(work, copy=False).reshape((1, M) + (1,) * n)
    return [np.ascontiguousarray(y, dtype=dtype)]


def_op("Conv", OpKind.OUT_ELEMWISE_FUSABLE, _conv_infer, _conv_compute, inputs=(2, 3),
       attrs=_CONV_ATTRS,
       doc="N-d convolution (cross-correlation) with groups, strides, dilations and padding.")


# ---- ConvTranspose -----------------------------------------------------------------------------

def _convt_geometry(call, x_shape, w_shape):
    n, group, kernel = _common(call, x_shape, w_shape)
    c, cw, mg = x_shape[1], w_shape[0], w_shape[1]
    if _known(c) and _known(cw) and c != cw:
        raise call.error(f"W has {cw} input channels (W is C x M/group x k...), X has {c} "
                         f"channels; W shape {fmt(w_shape)}, X shape {fmt(x_shape)}")
    cc = c if _known(c) else cw
    if _known(cc) and cc % group != 0:
        raise call.error(f"X has {cc} channels, not divisible by group={group}")
    m = mg * group if _known(mg) else UNKNOWN
    strides = spatial_ints(call, "strides", n, 1, 1)
    dilations = spatial_ints(call, "dilations", n, 1, 1)
    out_pad = spatial_ints(call, "output_padding", n, 0, 0)
    for i, (op, s, d) in enumerate(zip(out_pad, strides, dilations)):
        if op >= max(s, d):
            raise call.error(f"output_padding {out_pad} must be smaller than stride or dilation "
                             f"(axis {i}: {op} vs stride {s}, dilation {d})")
    pads = get_pads(call, n)
    auto_pad = get_auto_pad(call)
    oshape = call.attrs.get("output_shape")
    if oshape is not None:
        oshape = [int(v) for v in oshape]
        if len(oshape) == n + 2:          # tolerate a full shape; only the spatial part counts
            oshape = oshape[2:]
        if len(oshape) != n:
            raise call.error(f"output_shape {oshape} has {len(oshape)} values; expected {n}")
        if any(v < 0 for v in oshape):
            raise call.error(f"output_shape {oshape} must be non-negative")
    out, used = [], []
    for i in range(n):
        L, k = x_shape[2 + i], kernel[i]
        full = (strides[i] * (L - 1) + out_pad[i] + (k - 1) * dilations[i] + 1
                if _known(L) and _known(k) else None)
        if oshape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = oshape[i] if oshape is not None else (L * strides[i] if _known(L) else UNKNOWN)
            if full is None or not _known(o):
                out.append(o)
                used.append(None)
                continue
            total = full - o
            begin = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            out.append(o)
            used.append((begin, total - begin))
            continue
        pb, pe = (0, 0) if auto_pad == "VALID" else (pads[i], pads[n + i])
        if full is None:
            out.append(UNKNOWN)
            used.append((pb, pe))
            continue
        o = full - pb - pe
        if o < 1:
            raise call.error(f"spatial axis {i}: output length {o} is not positive (input {L}, "
                             f"kernel {k}, stride {strides[i]}, pads ({pb}, {pe}))")
        out.append(o)
        used.append((pb, pe))
    return dict(n=n, group=group, kernel=kernel, strides=strides, dilations=dilations,
                out=out, pads=used, m=m, out_pad=out_pad)


def _convt_infer(call):
    dtype = _dtypes(call)
    x, w = input_type(call, 0), input_type(call, 1)
    g = _convt_geometry(call, x.shape, w.shape)
    _check_bias(call, g["m"])
    return [TensorType(dtype, (x.shape[0], g["m"], *g["out"]))]


def _convt_compute(call):
    x, w = call.values[0], call.values[1]
    b = call.values[2] if len(call.values) > 2 else None
    g = _convt_geometry(call, x.shape, w.shape)
    _check_bias(call, g["m"])
    dtype = x.dtype
    work = _work_dtype(dtype)
    x, w = x.astype(work, copy=False), w.astype(work, copy=False)
    n, G, kernel, out = g["n"], g["group"], g["kernel"], g["out"]
    s, d = g["strides"], g["dilations"]
    N, C = x.shape[0], x.shape[1]
    L = list(x.shape[2:])
    cg, mg = C // G, w.shape[1]
    M = mg * G
    K, P = math.prod(kernel), math.prod(L)
    y = np.zeros((N, M) + tuple(out), dtype=work)
    if N * M * P * K and math.prod(out):
        # cols[g, (n, p), (m, k)] = sum_c x[n, g*cg + c, p] * w[g*cg + c, m, k]
        xm = x.reshape(N, G, cg, P).transpose(1, 0, 3, 2).reshape(G, N * P, cg)
        t = np.matmul(xm, w.reshape(G, cg, mg * K))
        t = t.reshape((G, N) + tuple(L) + (mg, K))
        perm = (1, 0, 2 + n) + tuple(range(2, 2 + n)) + (3 + n,)
        t = t.transpose(perm).reshape((N, M) + tuple(L) + (K,))        # (N, M, *L, K)
        # Output position o takes canvas position o + pad_begin; tap j of input i lands at
        # i*s + j*d. Scatter each tap's contribution into the part of the output it reaches.
        for kk, taps in enumerate(itertools.product(*(range(k) for k in kernel))):
            dst, src = [slice(None), slice(None)], [slice(None), slice(None)]
            empty = False
            for ax in range(n):
                off = taps[ax] * d[ax] - g["pads"][ax][0]   # output coord of input 0
                # input i is kept when 0 <= i*s + off < out
                lo = max(0, -(off // s[ax]) if off < 0 else 0)
                hi = min(L[ax], (out[ax] - 1 - off) // s[ax] + 1) if out[ax] - 1 - off >= 0 else 0
                if hi <= lo:
                    empty = True
                    break
                src.append(slice(lo, hi))
                start = lo * s[ax] + off
                dst.append(slice(start, start + (hi - lo - 1) * s[ax] + 1, s[ax]))
            if not empty:
                y[tuple(dst)] += t[tuple(src) + (kk,)]
    if b is not None:
        y = y + b.astype(work, copy=False).reshape((1, M) + (1,) * n)
    return [np.ascontiguousarray(y, dtype=dtype)]


def_op("ConvTranspose", OpKind.OUT_ELEMWISE_FUSABLE, _convt_infer, _convt_compute,
       inputs=(2, 3),
       attrs=dict(_CONV_ATTRS, output_padding=("ints", None), output_shape=("ints", None)),
       doc="Transposed (fractionally strided) convolution; W is C x M/group x kernel.")
