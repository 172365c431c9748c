"""Kernel rule of Resize: every mode, coordinate transformation, nearest mode, cubic coefficient,
exclude_outside, antialias, axes and aspect-ratio policy of compiler/ops/resize.py.

The sampling plan is computed at compile time by the reference's own helpers (so neighbours and
weights are exactly the reference's): scales / sizes (and roi for tf_crop_and_resize) must be
constants, which they are whenever the output shape is static. Per resized axis that gives, for
every output position o, n neighbour indices (clamped into the axis) and n weights, stored as
(n, out) constant tables so that a vector of consecutive positions reads them contiguously.

- nearest: one gather, out[o] = x[idx_a[o_a] on every resized axis a], with the extrapolation
  value where tf_crop_and_resize samples outside the input.
- linear / cubic: separable, one pass per resized axis in the reference's order, each a weighted
  sum of n neighbours along that axis (intermediates in scratch). The arithmetic runs in f32 for
  f16/f32 tensors and in f64 otherwise (the reference's f64, so integer results round exactly
  as it does: half to even, then saturated)."""
from __future__ import annotations

from contextlib import ExitStack

import numpy as np

from compiler.ir import dtypes as D
from compiler.loop import Broadcast, as_expr, call, cast, max_, min_, select
from compiler.ops.registry import get_op, make_call
from compiler.ops.resize import _check, _plan, _present, _source_coords, _taps

from ..registry import kernel
from ..tensor import BufferRef
from .scan import emit_lanes, lane_index, open_loops


class _Pass:
    """One resized axis: idx/w are (n, out) tables (w None for nearest), outside (out,) or None."""

    def __init__(self, axis, out, idx, w, outside):
        self.axis, self.out, self.idx, self.w, self.outside = axis, out, idx, w, outside


def _call(kc):
    node = kc.node
    types = [None if v is None else v.type for v in node.inputs]
    values = [kc.const(i) for i in range(len(node.inputs))]
    return make_call(get_op("Resize"), node.name, node.attrs, types, values, 1)


def _passes(kc, call, shape) -> list:
    """The per-axis sampling plans that change something, in the reference's order."""
    _, axes, use_sizes = _check(call)
    src = call.const(3 if use_sizes else 2)
    if src is None:
        raise kc.error(f"input {3 if use_sizes else 2} ({'sizes' if use_sizes else 'scales'}) "
                       "must be a constant to compile this node")
    vals = np.asarray(src).reshape(-1)
    plan = _plan(call, shape, None if use_sizes else vals, vals if use_sizes else None, axes)
    crop = call.attrs["coordinate_transformation_mode"] == "tf_crop_and_resize"
    roi = None
    if crop:
        roi = call.const(1) if _present(call, 1) else None
        if roi is None:
            raise kc.error("roi (input 1) must be a constant to compile tf_crop_and_resize")
        roi = np.asarray(roi, dtype=np.float64).reshape(-1)
    nearest = call.attrs["mode"] == "nearest"
    cur = list(shape)
    passes = []
    for k, a in enumerate(axes):
        out, scale = plan[a]
        scale = 1.0 if scale is None else scale
        if out == cur[a] and scale == 1.0 and not crop:
            continue                                   # identity along this axis
        L = cur[a]
        cur[a] = out
        if out == 0 or L == 0:
            passes.append(_Pass(a, out, None, None, None))   # no samples: zeros
            continue
        pair = (roi[k], roi[len(axes) + k]) if crop else None
        x, outside = _source_coords(call, L, out, scale, pair)
        idx, w = _taps(call, x, L, scale)
        if call.attrs["exclude_outside"] and not nearest:
            w = np.where((idx < 0) | (idx >= L), 0.0, w)
            total = w.sum(axis=1, keepdims=True)
            w = w / np.where(total == 0, 1.0, total)
        idx = np.clip(idx, 0, L - 1)
        if outside is not None and not outside.any():
            outside = None
        passes.append(_Pass(a, out, idx.T.copy(), None if nearest else w.T.copy(), outside))
    return passes


def _fill(call, dtype):
    v = np.asarray(call.attrs["extrapolation_value"]).astype(dtype.np_dtype).item()
    return as_expr(v, dtype)


def _splat(e, n):
    return Broadcast(e, n) if n > 1 and e.lanes == 1 else e


def _nest(kc, shape, lanes, value, store) -> None:
    """Loops over `shape` (the last dim in vectors): store(idx, value(idx, lanes))."""
    if any(d == 0 for d in shape):
        return
    with ExitStack() as stack:
        ivs = tuple(open_loops(kc, stack, shape[:-1], int(np.prod(shape))))

        def body(j, n):
            idx = ivs + (lane_index(j, n),)
            store(idx, _splat(value(idx, n), n))
        emit_lanes(kc, shape[-1], lanes, body)


@kernel("Resize")
def resize(kc):
    x, out = kc.inputs[0], kc.outputs[0]
    call = _call(kc)
    passes = _passes(kc, call, x.shape)
    dtype = out.dtype
    if any(d == 0 for d in out.shape):
        return
    consts = {}

    def table(p, name, arr):
        key = (id(p), name)
        if key not in consts:
            consts[key] = kc.add_const(f"resize_{name}", arr)
        return consts[key]

    if any(p.idx is None for p in passes):             # an empty input axis: all zeros
        zero = as_expr(False if dtype.name == "bool" else 0.0 if dtype.is_float else 0, dtype)
        _nest(kc, out.shape, kc.lanes(dtype), lambda idx, n: zero,
              lambda idx, v: kc.b.emit(out.store(idx, v)))
        return
    if call.attrs["mode"] == "nearest" or not passes:
        _nearest(kc, x, out, passes, table, _fill(call, dtype))
        return
    work = D.f32 if dtype in (D.f16, D.f32) else D.f64
    src, shape = x, list(x.shape)
    for k, p in enumerate(passes):
        shape[p.axis] = p.out
        last = k == len(passes) - 1
        value = _weighted(p, src, work, table)
        if p.outside is not None:
            mask, fill = table(p, "outside", p.outside), _fill(call, work)
            value = (lambda v, m=mask, f=fill, a=p.axis:
                     lambda idx, n: select(m[(idx[a],)], f, v(idx, n)))(value)
        if last:
            _nest(kc, tuple(shape), kc.lanes(work), value,
                  lambda idx, v: kc.b.emit(out.store(idx, _convert(v, dtype))))
        else:
            buf = kc.scratch("resize_pass", work, tuple(shape))
            _nest(kc, tuple(shape), kc.lanes(work), value,
                  lambda idx, v, buf=buf: kc.b.store(buf, idx, v))
            src = BufferRef(buf)


def _weighted(p, src, work, table):
    """value(idx, lanes): sum_t src[.., idx_t[o], ..] * w_t[o] along p.axis, in order t = 0..n-1
    (the reference's g * w summed over the taps)."""
    idx_t, w_t = table(p, "idx", p.idx), table(p, "w", p.w.astype(work.np_dtype))
    a = p.axis

    def value(idx, n):
        o = idx[a]
        acc = None
        for t in range(p.idx.shape[0]):
            src_idx = list(idx)
            src_idx[a] = idx_t[(as_expr(t), o)]
            g = src[tuple(src_idx)]
            g = g if g.dtype is work else cast(work, g)
            term = g * w_t[(as_expr(t), o)]
            acc = term if acc is None else acc + term
        return acc
    return value


def _convert(v, dtype):
    """Work dtype -> the result dtype: floats cast; integers round half to even and saturate."""
    if dtype.is_float:
        return v if v.dtype is dtype else cast(dtype, v)
    info = np.iinfo(dtype.np_dtype)
    r = call("round", v)
    r = min_(max_(r, as_expr(float(info.min), v.dtype)), as_expr(float(info.max), v.dtype))
    return cast(dtype, r)


def _nearest(kc, x, out, passes, table, fill) -> None:
    """One gather over every resized axis (an identity resize is a copy)."""
    by_axis = {p.axis: p for p in passes}

    def value(idx, n):
        src = list(idx)
        outside = None
        for a, p in by_axis.items():
            src[a] = table(p, "idx", p.idx)[(as_expr(0), idx[a])]
            if p.outside is not None:
                m = table(p, "outside", p.outside)[(idx[a],)]
                outside = m if outside is None else outside.logical_or(m)
        v = x[tuple(src)]
        return v if outside is None else select(outside, fill, v)

    _nest(kc, out.shape, kc.lanes(out.dtype), value,
          lambda idx, v: kc.b.emit(out.store(idx, v)))

