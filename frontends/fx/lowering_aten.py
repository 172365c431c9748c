"""Conversion table of the torch.export path (`ATEN`: aten op -> builder).

Keys are overload packets (`aten.add` covers `aten.add.Tensor` and `aten.add.Scalar`) or, where
one overload means something else, the overload itself, which wins. Builders take the aten
schema's arguments. Covers core ATen (what `ExportedProgram.run_decompositions()` produces) for
CNNs and transformers, plus the common pre-decomposition ops (linear, conv2d, layer_norm, ...)
so an undecomposed program converts too."""
from __future__ import annotations

import torch

from . import build_attention as A
from . import build_index as I
from . import build_math as M
from . import build_nn as N
from . import build_reduce as R
from . import build_shape as S
from .context import Missing

aten = torch.ops.aten


def _softmax_dtype(log):
    def build(cx, input, dim, dtype=None):
        return M.softmax(cx, input, dim, dtype=dtype, log=log)
    return build


def _adaptive_max(n):
    inner = N.adaptive_pool(n, "Max")

    def build(cx, input, output_size):
        return inner(cx, input, output_size), Missing("adaptive max-pool indices")
    return build


def _group_norm(cx, input, num_groups, weight=None, bias=None, eps=1e-5, cudnn_enabled=True):
    return N.group_norm(cx, input, num_groups, weight, bias, eps)


def _new_empty(cx, input, size, *, dtype=None, layout=None, device=None, pin_memory=None):
    return S.new_zeros(cx, input, size, dtype=dtype)


def _log_sigmoid_forward(cx, input):
    return M.logsigmoid(cx, input), Missing("log_sigmoid buffer")


def _no_op(cx, *args, **kwargs):
    """Runtime assertions torch.export inserts (metadata checks, value ranges)."""
    return None


ATEN = {
    # arithmetic, comparison, logic
    aten.add: M.add, aten.sub: M.sub, aten.rsub: M.rsub, aten.mul: M.mul, aten.div: M.div,
    aten.floor_divide: M.floordiv, aten.remainder: M.remainder, aten.fmod: M.fmod,
    aten.pow: M.pow_, aten.maximum: M.maximum, aten.minimum: M.minimum,
    aten.eq: M.eq, aten.ne: M.ne, aten.lt: M.lt, aten.le: M.le, aten.gt: M.gt, aten.ge: M.ge,
    aten.logical_and: M.logical_and, aten.logical_or: M.logical_or,
    aten.logical_xor: M.logical_xor, aten.logical_not: M.logical_not,
    aten.bitwise_and: M.bitwise_and, aten.bitwise_or: M.bitwise_or,
    aten.bitwise_xor: M.bitwise_xor, aten.bitwise_not: M.bitwise_not,
    aten.__and__: M.bitwise_and, aten.__or__: M.bitwise_or, aten.__xor__: M.bitwise_xor,
    aten.where: M.where, aten.masked_fill: M.masked_fill,
    # unary math and activations
    **{getattr(aten, name): fn for name, fn in M.UNARY.items() if hasattr(aten, name)},
    aten.rsqrt: M.rsqrt, aten.square: M.square, aten.erfc: M.erfc, aten.log1p: M.log1p,
    aten.expm1: M.expm1, aten.log2: M.log2,
    aten.relu: M.relu, aten.relu6: M.relu6, aten.hardtanh: M.hardtanh, aten.clamp: M.clamp,
    aten.clamp_min: M.clamp_min, aten.clamp_max: M.clamp_max, aten.leaky_relu: M.leaky_relu,
    aten.elu: M.elu, aten.selu: M.selu, aten.celu: M.celu, aten.gelu: M.gelu,
    aten.silu: M.silu, aten.hardswish: M.hardswish, aten.hardsigmoid: M.hardsigmoid,
    aten.softplus: M.softplus, aten.mish: M.mish, aten.prelu: M.prelu,
    aten.threshold: M.threshold, aten.log_sigmoid: M.logsigmoid,
    aten.log_sigmoid_forward: _log_sigmoid_forward,
    aten._softmax: M.aten_softmax, aten._log_softmax: M.aten_log_softmax,
    aten.softmax: _softmax_dtype(False), aten.log_softmax: _softmax_dtype(True),
    aten._safe_softmax: M.safe_softmax,
    # casts
    aten._to_copy: M.to_copy, aten.to: M.to, aten.type_as: M.type_as,
    # matrix products and layers
    aten.mm: N.matmul, aten.bmm: N.matmul, aten.matmul: N.matmul, aten.addmm: N.addmm,
    aten.baddbmm: N.baddbmm, aten.linear: N.linear,
    aten.convolution: N.convolution, aten.conv1d: N.conv, aten.conv2d: N.conv,
    aten.conv3d: N.conv, aten.conv_transpose1d: N.conv_transpose,
    aten.conv_transpose2d: N.conv_transpose, aten.conv_transpose3d: N.conv_transpose,
    aten.max_pool1d: N.max_pool(1), aten.max_pool2d: N.max_pool(2),
    aten.max_pool3d: N.max_pool(3), aten.max_pool2d_with_indices: N.max_pool_with_indices(2),
    aten.max_pool3d_with_indices: N.max_pool_with_indices(3),
    aten.avg_pool1d: N.avg_pool(1), aten.avg_pool2d: N.avg_pool(2),
    aten.avg_pool3d: N.avg_pool(3),
    aten.adaptive_avg_pool1d: N.adaptive_pool(1, "Average"),
    aten.adaptive_avg_pool2d: N.adaptive_pool(2, "Average"),
    aten._adaptive_avg_pool2d: N.adaptive_pool(2, "Average"),
    aten.adaptive_avg_pool3d: N.adaptive_pool(3, "Average"),
    aten._adaptive_avg_pool3d: N.adaptive_pool(3, "Average"),
    aten.adaptive_max_pool1d: _adaptive_max(1), aten.adaptive_max_pool2d: _adaptive_max(2),
    aten._native_batch_norm_legit_no_training: N.batch_norm_no_training,
    aten._native_batch_norm_legit: N.native_batch_norm,
    aten._native_batch_norm_legit.no_stats: N.batch_norm_batch_stats,
    aten.native_batch_norm: N.native_batch_norm, aten.batch_norm: N.aten_batch_norm,
    aten.instance_norm: N.aten_instance_norm, aten.native_layer_norm: N.native_layer_norm,
    aten.layer_norm: N.layer_norm,
    aten.native_group_norm: N.native_group_norm, aten.group_norm: _group_norm,
    aten.embedding: I.aten_embedding, aten.scaled_dot_product_attention: A.sdpa,
    aten.dropout: N.dropout, aten.native_dropout: N.native_dropout,
    aten.constant_pad_nd: N.constant_pad_nd, aten.pad: N.pad,
    aten.reflection_pad1d: N._mode_pad("reflect"), aten.reflection_pad2d: N._mode_pad("reflect"),
    aten.reflection_pad3d: N._mode_pad("reflect"),
    aten.replication_pad1d: N._mode_pad("replicate"),
    aten.replication_pad2d: N._mode_pad("replicate"),
    aten.replication_pad3d: N._mode_pad("replicate"),
    # reductions
    aten.sum: R.reduce_sum, aten.prod: R.reduce_prod, aten.mean: R.mean, aten.amax: R.amax,
    aten.amin: R.amin, aten.max: R.reduce_max, aten.min: R.reduce_min, aten.argmax: R.argmax,
    aten.argmin: R.argmin, aten.any: R.reduce_any, aten.all: R.reduce_all, aten.var: R.var,
    aten.std: R.std, aten.var_mean: R.var_mean, aten.logsumexp: R.logsumexp,
    aten.cumsum: R.cumsum,
    # shapes and data movement
    aten.view: S.view, aten._unsafe_view: S.view, aten.reshape: S.view,
    aten.permute: S.permute, aten.t: S.t, aten.transpose: S.transpose,
    aten.expand: S.expand, aten.expand_as: S.expand_as, aten.numpy_T: S.numpy_t,
    aten.mT: S.m_t, aten.repeat: S.repeat, aten.clone: S.identity,
    aten.contiguous: S.identity, aten.alias: S.identity, aten.detach: S.identity,
    aten.lift_fresh_copy: S.identity, aten.unsqueeze: S.unsqueeze, aten.squeeze: S.squeeze,
    aten.flatten: S.flatten, aten.unflatten: S.unflatten, aten.cat: S.cat,
    aten.stack: S.stack, aten.split: S.split, aten.split_with_sizes: S.split_sizes,
    aten.chunk: S.chunk, aten.unbind: S.unbind, aten.select: I.select,
    aten.slice: I.aten_slice, aten.index: I.index, aten.narrow: I.narrow,
    aten.index_select: I.index_select, aten.triu: I.triu, aten.tril: I.tril,
    aten.full_like: S.full_like, aten.zeros_like: S.zeros_like, aten.ones_like: S.ones_like,
    aten.empty_like: S.zeros_like, aten.new_zeros: S.new_zeros, aten.new_ones: S.new_ones,
    aten.new_full: S.new_full, aten.new_empty: _new_empty,
    aten.flip: I.flip, aten.roll: I.roll, aten.topk: R.topk, aten.sort: R.aten_sort,
    aten.pixel_shuffle: S.pixel_shuffle, aten.pixel_unshuffle: S.pixel_unshuffle,
    aten.upsample_nearest1d: N.upsample("nearest"), aten.upsample_nearest2d: N.upsample("nearest"),
    aten.upsample_nearest3d: N.upsample("nearest"), aten.upsample_linear1d: N.upsample("linear"),
    aten.upsample_bilinear2d: N.upsample("bilinear"),
    aten.upsample_trilinear3d: N.upsample("trilinear"),
    aten.upsample_bicubic2d: N.upsample("bicubic"),
    aten.copy: I.copy, aten.slice_scatter: I.slice_scatter,
    aten.select_scatter: I.select_scatter, aten.linalg_vector_norm: R.vector_norm,
    aten.sym_size: S.sym_size, aten.sym_numel: S.sym_numel,
    aten._assert_tensor_metadata: _no_op, aten._assert_scalar: _no_op,
    aten._assert_async: _no_op,
    aten.sym_constrain_range_for_size: _no_op,
}


def lookup(target):
    """(builder, index of the argument it mutates) for an aten overload: the overload's own
    entry, else its packet's; an in-place `op_` converts as `op` and mutates its argument 0."""
    fn = ATEN.get(target) or ATEN.get(target.overloadpacket)
    name = target.overloadpacket.__name__
    if fn is None and name.endswith("_") and not name.startswith("_"):
        base = getattr(aten, name[:-1], None)
        if base is not None:
            fn = ATEN.get(getattr(base, target._overloadname, None)) or ATEN.get(base)
            return fn, (0 if fn is not None else None)
    return fn, None
