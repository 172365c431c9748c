"""Builders for shape queries and data movement: size/shape, view/reshape/flatten, permute and
transpose, squeeze/unsqueeze, expand/repeat, cat/stack/split/chunk/unbind, and constant
factories of a known shape (indexing lives in build_index).

Shapes are static at import (the example inputs fix them), so `x.size(0)` is a Python int and
view's -1 is resolved here."""
from __future__ import annotations

import numpy as np
import torch

from .context import IR_TO_TORCH, NotConvertible, as_list, ir_dtype, is_value, norm_dim, \
    shape_args


# ---- shape queries -------------------------------------------------------------------------
def size(cx, input, dim=None):
    shape = cx.shape(input)
    return torch.Size(shape) if dim is None else shape[norm_dim(dim, len(shape))]


def dim(cx, input):
    return input.type.rank


def numel(cx, input):
    return int(np.prod(cx.shape(input), dtype=np.int64))


_RETURN_FIELDS = {"values": 0, "indices": 1}   # torch.return_types of max/min/topk/sort


def getattr_(cx, obj, name, *default):
    if isinstance(obj, tuple) and not hasattr(obj, name) and name in _RETURN_FIELDS:
        return obj[_RETURN_FIELDS[name]]
    if not is_value(obj):
        return getattr(obj, name, *default)
    if name == "shape":
        return torch.Size(cx.shape(obj))
    if name == "dtype":
        return IR_TO_TORCH[obj.type.dtype]
    if name == "ndim":
        return obj.type.rank
    if name == "device":
        return torch.device("cpu")
    if name in ("is_cuda", "requires_grad", "is_sparse", "is_quantized"):
        return False
    if name == "T":
        return permute(cx, obj, list(range(obj.type.rank))[::-1])
    if name == "mT":
        return transpose(cx, obj, -2, -1)
    raise NotConvertible(f"tensor attribute '{name}'")


def numpy_t(cx, input):
    return getattr_(cx, input, "T")


def m_t(cx, input):
    return transpose(cx, input, -2, -1)


def sym_size(cx, input, dim):
    return size(cx, input, dim)


def sym_numel(cx, input):
    return numel(cx, input)


# ---- reshaping -----------------------------------------------------------------------------
def _resolve_shape(cx, x, target) -> list:
    total = numel(cx, x)
    target = [int(t) for t in target]
    if target.count(-1) > 1:
        raise NotConvertible(f"shape {target} has more than one -1")
    if -1 in target:
        rest = int(np.prod([t for t in target if t != -1], dtype=np.int64))
        if rest == 0 or total % rest:
            raise NotConvertible(f"cannot view {x.type} as {target}")
        target[target.index(-1)] = total // rest
    return target


def reshape_to(cx, x, target):
    target = _resolve_shape(cx, x, target)
    if tuple(target) == cx.shape(x):
        return x
    attrs = {"allowzero": 1} if 0 in target else {}
    return cx.op("Reshape", x, cx.ints(target, "shape"), **attrs)


def view(cx, input, *shape):
    if len(shape) == 1 and isinstance(shape[0], torch.dtype):
        raise NotConvertible("view(dtype) reinterprets memory")
    return reshape_to(cx, input, shape_args(shape))


def view_as(cx, input, other):
    return reshape_to(cx, input, cx.shape(other))


def flatten(cx, input, start_dim=0, end_dim=-1):
    shape = cx.shape(input)
    if not shape:
        return reshape_to(cx, input, [1])
    s, e = norm_dim(start_dim, len(shape)), norm_dim(end_dim, len(shape))
    if s == 1 and e == len(shape) - 1:
        return cx.op("Flatten", input, axis=1)
    return reshape_to(cx, input, list(shape[:s]) + [-1] + list(shape[e + 1:]))


def unflatten(cx, input, dim, sizes):
    shape = list(cx.shape(input))
    d = norm_dim(dim, len(shape))
    return reshape_to(cx, input, shape[:d] + list(sizes) + shape[d + 1:])


def permute(cx, input, *dims):
    rank = input.type.rank
    perm = [norm_dim(d, rank) for d in shape_args(dims)]
    if perm == list(range(rank)):
        return input
    return cx.op("Transpose", input, perm=perm)


def transpose(cx, input, dim0, dim1):
    rank = input.type.rank
    perm = list(range(rank))
    a, b = norm_dim(dim0, rank), norm_dim(dim1, rank)
    perm[a], perm[b] = perm[b], perm[a]
    return permute(cx, input, perm)


def t(cx, input):
    return input if input.type.rank < 2 else transpose(cx, input, 0, 1)


def identity(cx, input, *args, **kwargs):
    """contiguous, clone, detach, alias, dropout in eval mode, ...: the same value in SSA."""
    return input


def squeeze(cx, input, dim=None):
    shape = cx.shape(input)
    if dim is None:
        axes = [i for i, d in enumerate(shape) if d == 1]
    else:
        dims = dim if isinstance(dim, (list, tuple)) else [dim]
        axes = sorted({norm_dim(d, len(shape)) for d in dims})
        axes = [a for a in axes if shape[a] == 1]     # torch leaves other dims alone
    if not axes:
        return input
    return cx.op("Squeeze", input, cx.ints(axes, "axes"))


def unsqueeze(cx, input, dim):
    return cx.op("Unsqueeze", input, cx.ints([norm_dim(dim, input.type.rank + 1)], "axes"))


def expand(cx, input, *sizes, implicit=False):
    sizes = shape_args(sizes)
    shape = cx.shape(input)
    lead = len(sizes) - len(shape)
    if lead < 0:
        raise NotConvertible(f"expand to {sizes} has fewer dims than {input.type}")
    target = [s if s != -1 else shape[i - lead] for i, s in enumerate(sizes)]
    if tuple(target) == shape:
        return input
    return cx.op("Expand", input, cx.ints(target, "shape"))


def expand_as(cx, input, other):
    return expand(cx, input, cx.shape(other))


def repeat(cx, input, *sizes):
    reps = shape_args(sizes)
    shape = cx.shape(input)
    if len(reps) < len(shape):
        raise NotConvertible(f"repeat {reps} has fewer dims than {input.type}")
    x = input
    if len(reps) > len(shape):
        x = reshape_to(cx, x, [1] * (len(reps) - len(shape)) + list(shape))
    return cx.op("Tile", x, cx.ints(reps, "repeats"))


def pixel_shuffle(cx, input, upscale_factor):
    return cx.op("DepthToSpace", input, blocksize=int(upscale_factor), mode="CRD")


def pixel_unshuffle(cx, input, downscale_factor):
    r = int(downscale_factor)
    *lead, c, h, w = cx.shape(input)
    x = reshape_to(cx, input, lead + [c, h // r, r, w // r, r])
    k = len(lead)
    x = permute(cx, x, list(range(k)) + [k, k + 2, k + 4, k + 1, k + 3])
    return reshape_to(cx, x, lead + [c * r * r, h // r, w // r])


# ---- joining and splitting -----------------------------------------------------------------
def cat(cx, tensors, dim=0, *, out=None):
    tensors = [t for t in tensors if not (is_value(t) and t.type.shape == (0,))] or tensors
    dt = cx.promote(*tensors)
    vals = [cx.tensor(t, dt) for t in tensors]
    if len(vals) == 1:
        return vals[0]
    return cx.op("Concat", *vals, axis=norm_dim(dim, vals[0].type.rank))


def stack(cx, tensors, dim=0, *, out=None):
    d = norm_dim(dim, tensors[0].type.rank + 1)
    return cat(cx, [unsqueeze(cx, t, d) for t in tensors], d)


def split_sizes(cx, input, sizes, dim=0):
    d = norm_dim(dim, input.type.rank)
    sizes = [int(s) for s in sizes]
    if len(sizes) == 1:
        return (input,)
    outs = cx.op("Split", input, cx.ints(sizes, "split"), axis=d, n_outputs=len(sizes))
    return tuple(outs)


def split(cx, tensor, split_size_or_sections, dim=0):
    n = cx.shape(tensor)[norm_dim(dim, tensor.type.rank)]
    if isinstance(split_size_or_sections, (list, tuple)):
        return split_sizes(cx, tensor, split_size_or_sections, dim)
    k = int(split_size_or_sections)
    sizes = [k] * (n // k) + ([n % k] if n % k else [])
    return split_sizes(cx, tensor, sizes or [0], dim)


def chunk(cx, input, chunks, dim=0):
    n = cx.shape(input)[norm_dim(dim, input.type.rank)]
    return split(cx, input, -(-n // int(chunks)), dim)


def unbind(cx, input, dim=0):
    d = norm_dim(dim, input.type.rank)
    parts = split(cx, input, 1, d)
    return tuple(squeeze(cx, p, d) for p in parts)


# ---- constants of a known shape ------------------------------------------------------------
def _filled(cx, shape, value, dtype):
    return cx.const(np.full(tuple(shape), value, dtype=dtype.np_dtype), name="filled")


def full_like(cx, input, fill_value, *, dtype=None, layout=None, device=None,
              pin_memory=None, requires_grad=False, memory_format=None):
    dt = ir_dtype(dtype) if dtype is not None else input.type.dtype
    return _filled(cx, cx.shape(input), fill_value, dt)


def _like(value):
    def build(cx, input, *, dtype=None, layout=None, device=None, pin_memory=None,
              requires_grad=False, memory_format=None):
        return full_like(cx, input, value, dtype=dtype)
    return build


zeros_like, ones_like = _like(0), _like(1)


def _new(value):
    def build(cx, input, *size, dtype=None, layout=None, device=None, pin_memory=None,
              requires_grad=False):
        dt = ir_dtype(dtype) if dtype is not None else input.type.dtype
        return _filled(cx, shape_args(size), value, dt)
    return build


new_zeros, new_ones = _new(0), _new(1)


def new_full(cx, input, size, fill_value, *, dtype=None, layout=None, device=None,
             pin_memory=None, requires_grad=False):
    dt = ir_dtype(dtype) if dtype is not None else input.type.dtype
    return _filled(cx, as_list(size), fill_value, dt)
