"""Builders for indexing: Python subscripts (`x[:, 1:3, None, idx]`), select/slice/narrow,
index/index_select/embedding gathers, flip/roll, triu/tril, and the functional scatters
torch.export produces (slice_scatter, select_scatter, copy)."""
from __future__ import annotations

import operator

import numpy as np

from compiler.ir import dtypes as D

from .build_shape import expand, permute, reshape_to, unsqueeze
from .context import Missing, NotConvertible, as_list, is_value, norm_dim


# ---- indexing ------------------------------------------------------------------------------
def slice_axis(cx, x, axis, start=None, end=None, step=1):
    n = cx.shape(x)[axis]
    step = 1 if step is None else int(step)
    if step <= 0:
        raise NotConvertible(f"slice step {step} (torch requires a positive step)")
    s, e, _ = slice(start, end, step).indices(n)
    if s == 0 and e >= n and step == 1:
        return x
    return cx.op("Slice", x, cx.ints([s], "starts"), cx.ints([max(e, s)], "ends"),
                 cx.ints([axis], "axes"), cx.ints([step], "steps"))


def aten_slice(cx, input, dim=0, start=None, end=None, step=1):
    return slice_axis(cx, input, norm_dim(dim, input.type.rank), start, end, step)


def narrow(cx, input, dim, start, length):
    return slice_axis(cx, input, norm_dim(dim, input.type.rank), start, start + length)


def select(cx, input, dim, index):
    axis = norm_dim(dim, input.type.rank)
    n = cx.shape(input)[axis]
    i = int(index) + (n if int(index) < 0 else 0)
    return cx.op("Gather", input, cx.const(np.array(i, np.int64), name="index"), axis=axis)


def _gather_index(cx, x, axis, idx):
    if is_value(idx):
        if idx.type.dtype == D.bool_:
            raise NotConvertible("boolean mask indexing has a data-dependent shape")
        if not idx.type.dtype.is_int:
            raise NotConvertible(f"indexing with a {idx.type.dtype} tensor")
        return cx.op("Gather", x, idx, axis=axis)
    return cx.op("Gather", x, cx.const(np.array(idx, np.int64), name="index"), axis=axis)


def getitem(cx, obj, idx):
    if not is_value(obj):
        if isinstance(obj, Missing):
            raise NotConvertible(obj.why)
        return operator.getitem(obj, idx)
    items = list(idx) if isinstance(idx, tuple) else [idx]
    if sum(1 for i in items if is_value(i) or isinstance(i, list)) > 1:
        if not all(is_value(i) or i == slice(None) for i in items):
            raise NotConvertible("several index tensors mixed with ints, None or partial slices")
        return index(cx, obj, [i if is_value(i) else None for i in items])
    consumed = sum(1 for i in items if i is not None and i is not Ellipsis
                   and not isinstance(i, bool))
    if Ellipsis in items:
        k = items.index(Ellipsis)
        items[k:k + 1] = [slice(None)] * (obj.type.rank - consumed)
    x, axis = obj, 0
    for item in items:
        if item is None:
            x = unsqueeze(cx, x, axis)
            axis += 1
        elif isinstance(item, slice):
            x = slice_axis(cx, x, axis, item.start, item.stop, item.step)
            axis += 1
        elif isinstance(item, bool):
            raise NotConvertible("indexing with a Python bool")
        elif isinstance(item, int):
            x = select(cx, x, axis, item)
        elif is_value(item) or isinstance(item, list):
            rank = item.type.rank if is_value(item) else np.asarray(item).ndim
            x = _gather_index(cx, x, axis, item)
            axis += rank
        else:
            raise NotConvertible(f"index {item!r}")
    return x


def slice_scatter(cx, input, src, dim=0, start=None, end=None, step=1):
    """`input` with input[start:end] along dim replaced by src: slices around it, concatenated."""
    if step not in (None, 1):
        raise NotConvertible(f"slice_scatter with step {step}")
    axis = norm_dim(dim, input.type.rank)
    n = cx.shape(input)[axis]
    s, e, _ = slice(start, end).indices(n)
    e = max(e, s)
    parts = [slice_axis(cx, input, axis, 0, s)] if s > 0 else []
    parts.append(cx.cast(src, input.type.dtype))
    if e < n:
        parts.append(slice_axis(cx, input, axis, e, n))
    return parts[0] if len(parts) == 1 else cx.op("Concat", *parts, axis=axis)


def select_scatter(cx, input, src, dim, index):
    axis = norm_dim(dim, input.type.rank)
    i = int(index) % cx.shape(input)[axis]
    return slice_scatter(cx, input, unsqueeze(cx, src, axis), axis, i, i + 1)


def index(cx, input, indices):
    """aten.index.Tensor / advanced indexing: `indices` has one entry per leading dim, None
    meaning all of it. Several index tensors broadcast together and gather with GatherND."""
    used = [(i, t) for i, t in enumerate(indices) if t is not None]
    if not used:
        return input
    if len(used) == 1:
        return _gather_index(cx, input, *used[0])
    for _, t in used:
        if not is_value(t) or t.type.dtype == D.bool_ or not t.type.dtype.is_int:
            raise NotConvertible("advanced indexing with boolean or non-tensor indices")
    rank = input.type.rank
    axes = [a for a, _ in used]
    batch = list(np.broadcast_shapes(*(cx.shape(t) for _, t in used)))
    parts = [unsqueeze(cx, expand(cx, cx.cast(t, D.i64), batch), len(batch)) for _, t in used]
    idx = cx.op("Concat", *parts, axis=len(batch))
    rest = [a for a in range(rank) if a not in axes]
    x = permute(cx, input, axes + rest)
    y = cx.op("GatherND", x, idx)
    if axes == list(range(axes[0], axes[0] + len(axes))) and axes[0] > 0:
        # adjacent index tensors: the indexed dims stay in place (numpy/torch rule)
        nb, p = len(batch), axes[0]
        order = list(range(nb, nb + p)) + list(range(nb)) + list(range(nb + p, y.type.rank))
        y = permute(cx, y, order)
    return y


def index_select(cx, input, dim, index):
    return cx.op("Gather", input, index, axis=norm_dim(dim, input.type.rank))


def embedding(cx, input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    if max_norm is not None:
        raise NotConvertible("embedding with max_norm (renormalises the weights in place)")
    return cx.op("Gather", weight, input, axis=0)


def aten_embedding(cx, weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    return cx.op("Gather", weight, indices, axis=0)


def flip(cx, input, dims):
    rank = input.type.rank
    axes = sorted({norm_dim(d, rank) for d in ([dims] if isinstance(dims, int) else dims)})
    if not axes:
        return input
    n = len(axes)
    big = np.iinfo(np.int64).min
    return cx.op("Slice", input, cx.ints([-1] * n, "starts"), cx.ints([big] * n, "ends"),
                 cx.ints(axes, "axes"), cx.ints([-1] * n, "steps"))


def roll(cx, input, shifts, dims=None):
    if dims is None or (isinstance(dims, (list, tuple)) and not dims):
        shape = cx.shape(input)
        return reshape_to(cx, roll(cx, reshape_to(cx, input, [-1]), shifts, 0), shape)
    shifts, dims = as_list(shifts), as_list(dims)
    x = input
    for shift, d in zip(shifts, dims):
        axis = norm_dim(d, input.type.rank)
        n = cx.shape(x)[axis]
        k = shift % n if n else 0
        if k:
            x = cx.op("Concat", slice_axis(cx, x, axis, n - k, n),
                      slice_axis(cx, x, axis, 0, n - k), axis=axis)
    return x


def _trilu(upper):
    def build(cx, input, diagonal=0, *, out=None):
        return cx.op("Trilu", input, cx.const(np.array(int(diagonal), np.int64), name="k"),
                     upper=int(upper))
    return build


triu, tril = _trilu(True), _trilu(False)


def copy(cx, input, src, non_blocking=False):
    """Functional copy_: `src` broadcast to `input`'s shape and cast to its dtype."""
    return expand(cx, cx.cast(src, input.type.dtype) if is_value(src) else
                  cx.tensor(src, input.type.dtype), cx.shape(input))
