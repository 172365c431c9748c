"""Conversion tables of the torch.fx path: torch functions / functionals / Python operators
(`FUNCTIONS`, keyed by the callable fx records) and tensor methods (`METHODS`, keyed by name).
A trailing-underscore method (`add_`) converts with the table entry of its name without the
underscore and rebinds the mutated tensor."""
from __future__ import annotations

import builtins
import operator

import torch
import torch.nn.functional as F

from . import build_attention as A
from . import build_index as I
from . import build_math as M
from . import build_nn as N
from . import build_reduce as R
from . import build_shape as S
from .context import NotConvertible


def _method_where(cx, input, condition, other):
    return M.where(cx, condition, input, other)


def _type(cx, input, dtype=None, non_blocking=False):
    if not isinstance(dtype, torch.dtype):
        raise NotConvertible("Tensor.type() without a torch.dtype")
    return M.to(cx, input, dtype)


def _torch_dropout(cx, input, p, train):
    return N.dropout(cx, input, p, train)


def _torch_batch_norm(cx, input, weight, bias, running_mean, running_var, training, momentum,
                      eps, cudnn_enabled=False):
    return N.aten_batch_norm(cx, input, weight, bias, running_mean, running_var, training,
                             momentum, eps)


def _torch_embedding(cx, weight, input, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    return I.aten_embedding(cx, weight, input)


# Shared by functions (torch.X / F.X) and methods (Tensor.X) of the same name and meaning.
COMMON = {
    "add": M.add, "sub": M.sub, "subtract": M.sub, "mul": M.mul, "multiply": M.mul,
    "div": M.div, "divide": M.div, "true_divide": M.truediv, "floor_divide": M.floordiv,
    "remainder": M.remainder, "fmod": M.fmod, "pow": M.pow_, "maximum": M.maximum,
    "minimum": M.minimum, "matmul": N.matmul, "mm": N.matmul, "bmm": N.matmul,
    "addmm": N.addmm, "baddbmm": N.baddbmm,
    "eq": M.eq, "ne": M.ne, "lt": M.lt, "le": M.le, "gt": M.gt, "ge": M.ge,
    "logical_and": M.logical_and, "logical_or": M.logical_or, "logical_xor": M.logical_xor,
    "logical_not": M.logical_not, "bitwise_and": M.bitwise_and, "bitwise_or": M.bitwise_or,
    "bitwise_xor": M.bitwise_xor, "bitwise_not": M.bitwise_not, "masked_fill": M.masked_fill,
    "relu": M.relu, "clamp": M.clamp, "clip": M.clamp, "clamp_min": M.clamp_min,
    "clamp_max": M.clamp_max, "rsqrt": M.rsqrt, "square": M.square, "erfc": M.erfc,
    "log1p": M.log1p, "expm1": M.expm1, "log2": M.log2,
    "softmax": M.softmax, "log_softmax": M.log_softmax,
    "flatten": S.flatten, "unflatten": S.unflatten, "reshape": S.view, "permute": S.permute,
    "transpose": S.transpose, "swapaxes": S.transpose, "swapdims": S.transpose, "t": S.t,
    "squeeze": S.squeeze, "unsqueeze": S.unsqueeze, "split": S.split, "chunk": S.chunk,
    "unbind": S.unbind, "narrow": I.narrow, "select": I.select, "index_select": I.index_select,
    "clone": S.identity, "detach": S.identity, "triu": I.triu, "tril": I.tril,
    "sum": R.reduce_sum, "prod": R.reduce_prod, "mean": R.mean, "amax": R.amax,
    "amin": R.amin, "max": R.reduce_max, "min": R.reduce_min, "argmax": R.argmax,
    "argmin": R.argmin, "any": R.reduce_any, "all": R.reduce_all, "var": R.var, "std": R.std,
    "logsumexp": R.logsumexp, "cumsum": R.cumsum, "topk": R.topk, "sort": R.sort,
    "norm": R.norm, "flip": I.flip, "roll": I.roll,
    **M.UNARY,
}

FUNCTIONS = {getattr(torch, name): fn for name, fn in COMMON.items() if hasattr(torch, name)}
FUNCTIONS.update({
    torch.where: M.where, torch.cat: S.cat, torch.concat: S.cat, torch.concatenate: S.cat,
    torch.stack: S.stack, torch.var_mean: R.var_mean, torch.full_like: S.full_like,
    torch.zeros_like: S.zeros_like, torch.ones_like: S.ones_like,
    torch.conv1d: N.conv, torch.conv2d: N.conv, torch.conv3d: N.conv,
    torch.layer_norm: N.layer_norm, torch.batch_norm: _torch_batch_norm,
    torch.group_norm: N.group_norm, torch.instance_norm: N.aten_instance_norm,
    torch.dropout: _torch_dropout,
    torch.embedding: _torch_embedding, torch.selu: M.selu, torch.celu: M.celu,
    torch.prelu: M.prelu, torch.nn.functional.scaled_dot_product_attention: A.sdpa,
    # torch.nn.functional
    F.relu: M.relu, F.relu6: M.relu6, F.hardtanh: M.hardtanh, F.leaky_relu: M.leaky_relu,
    F.elu: M.elu, F.selu: M.selu, F.celu: M.celu, F.gelu: M.gelu, F.silu: M.silu,
    F.hardswish: M.hardswish, F.hardsigmoid: M.hardsigmoid, F.softplus: M.softplus,
    F.logsigmoid: M.logsigmoid, F.mish: M.mish, F.prelu: M.prelu, F.threshold: M.threshold,
    F.sigmoid: M.UNARY["sigmoid"], F.tanh: M.UNARY["tanh"], F.softsign: M.UNARY["softsign"],
    F.softmax: M.softmax, F.log_softmax: M.log_softmax,
    F.linear: N.linear, F.conv1d: N.conv, F.conv2d: N.conv, F.conv3d: N.conv,
    F.conv_transpose1d: N.conv_transpose, F.conv_transpose2d: N.conv_transpose,
    F.conv_transpose3d: N.conv_transpose,
    F.max_pool1d: N.max_pool(1), F.max_pool2d: N.max_pool(2), F.max_pool3d: N.max_pool(3),
    F.avg_pool1d: N.avg_pool(1), F.avg_pool2d: N.avg_pool(2), F.avg_pool3d: N.avg_pool(3),
    F.adaptive_avg_pool1d: N.adaptive_pool(1, "Average"),
    F.adaptive_avg_pool2d: N.adaptive_pool(2, "Average"),
    F.adaptive_avg_pool3d: N.adaptive_pool(3, "Average"),
    F.adaptive_max_pool1d: N.adaptive_pool(1, "Max"),
    F.adaptive_max_pool2d: N.adaptive_pool(2, "Max"),
    F.batch_norm: N.batch_norm, F.instance_norm: N.instance_norm, F.layer_norm: N.layer_norm,
    F.group_norm: N.group_norm,
    F.normalize: R.normalize, F.pad: N.pad, F.interpolate: N.interpolate,
    F.upsample: N.interpolate, F.pixel_shuffle: S.pixel_shuffle,
    F.pixel_unshuffle: S.pixel_unshuffle, torch.linalg.vector_norm: R.vector_norm,
    F.embedding: I.embedding,
    F.dropout: N.dropout, F.dropout1d: N.dropout, F.dropout2d: N.dropout,
    F.dropout3d: N.dropout, F.alpha_dropout: N.dropout, F.feature_alpha_dropout: N.dropout,
    # Python operators, as fx records `a + b`, `x[i]`, `x.shape`
    operator.add: M.add, operator.sub: M.sub, operator.mul: M.mul,
    operator.truediv: M.truediv, operator.floordiv: M.floordiv, operator.mod: M.remainder,
    operator.pow: M.pow_, operator.matmul: N.matmul, operator.neg: M.UNARY["neg"],
    operator.abs: M.UNARY["abs"], operator.eq: M.eq, operator.ne: M.ne, operator.lt: M.lt,
    operator.le: M.le, operator.gt: M.gt, operator.ge: M.ge, operator.and_: M.bitwise_and,
    operator.or_: M.bitwise_or, operator.xor: M.bitwise_xor, operator.invert: M.bitwise_not,
    operator.getitem: I.getitem, builtins.getattr: S.getattr_,
})
for _name in ("_max_pool1d", "_max_pool2d", "_max_pool3d"):
    if hasattr(F, _name):
        FUNCTIONS[getattr(F, _name)] = N.max_pool(int(_name[-2]))

METHODS = dict(COMMON)
METHODS.update({
    "where": _method_where, "view": S.view, "view_as": S.view_as, "reshape_as": S.view_as,
    "contiguous": S.identity, "expand": S.expand, "expand_as": S.expand_as,
    "repeat": S.repeat, "size": S.size, "dim": S.dim, "numel": S.numel,
    "to": M.to, "type": _type, "type_as": M.type_as, "float": M._cast_to(torch.float32),
    "double": M._cast_to(torch.float64), "half": M._cast_to(torch.float16),
    "int": M._cast_to(torch.int32), "long": M._cast_to(torch.int64),
    "bool": M._cast_to(torch.bool), "short": M._cast_to(torch.int16),
    "byte": M._cast_to(torch.uint8), "char": M._cast_to(torch.int8),
    "new_zeros": S.new_zeros, "new_ones": S.new_ones, "new_full": S.new_full,
    "var_mean": R.var_mean,
})
