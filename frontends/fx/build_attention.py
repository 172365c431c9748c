"""Attention: scaled_dot_product_attention, and the leaf modules nn.MultiheadAttention,
nn.TransformerEncoderLayer and nn.TransformerEncoder of the fx path, decomposed into
projections, per-head matmuls, masking, softmax, feed-forward and norms (the torch.export path
sees the same decomposition as aten ops)."""
from __future__ import annotations

import math

import numpy as np
import torch.nn as nn
import torch.nn.functional as F

from compiler.ir import dtypes as D

from . import build_math as M
from . import build_nn as N
from . import build_shape as S
from .context import NotConvertible, tensor_to_numpy


def _in_proj(cx, mod, query, key, value, E):
    """q, k, v projections; one fused projection + Split for self-attention."""
    b = None if mod.in_proj_bias is None else tensor_to_numpy(mod.in_proj_bias)
    if mod._qkv_same_embed_dim:
        w = tensor_to_numpy(mod.in_proj_weight)
        if query is key and key is value:
            qkv = N.linear(cx, query, cx.param(mod.in_proj_weight, "in_proj_weight"),
                           None if b is None else cx.param(mod.in_proj_bias, "in_proj_bias"))
            return S.split(cx, qkv, E, -1)
        weights = [w[i * E:(i + 1) * E] for i in range(3)]     # views: memory is shared
    else:
        weights = [tensor_to_numpy(getattr(mod, f"{p}_proj_weight")) for p in "qkv"]
    out = []
    for i, (x, part) in enumerate(zip((query, key, value), "qkv")):
        wv = cx.g.add_constant(weights[i], cx.qualified(f"{part}_proj_weight"))
        bv = None if b is None else \
            cx.g.add_constant(b[i * E:(i + 1) * E], cx.qualified(f"{part}_proj_bias"))
        out.append(N.linear(cx, x, wv, bv))
    return out


def _heads(cx, x, H, hd):
    n, length, _ = cx.shape(x)
    return S.transpose(cx, S.reshape_to(cx, x, [n, length, H, hd]), 1, 2)   # (N, H, L, hd)


def _additive(cx, mask, dt):
    """A bool mask (True = not allowed) as 0 / -inf; a float mask as is."""
    if mask.type.dtype == D.bool_:
        return cx.op("Where", mask, cx.scalar(-math.inf, dt), cx.scalar(0.0, dt))
    return cx.cast(mask, dt)


def multihead_attention(cx, mod, query, key, value, key_padding_mask=None, need_weights=True,
                        attn_mask=None, average_attn_weights=True, is_causal=False):
    if mod.bias_k is not None or mod.add_zero_attn:
        raise NotConvertible("add_bias_kv / add_zero_attn")
    if mod.training and mod.dropout > 0:
        raise NotConvertible("attention dropout in training mode (call model.eval() first)")
    batched = query.type.rank == 3
    if not batched:
        query, key, value = (S.unsqueeze(cx, t, 1) for t in (query, key, value))
    if not mod.batch_first or not batched:
        query, key, value = (S.transpose(cx, t, 0, 1) if t is not None else t
                             for t in (query, key, value))
    E, H = mod.embed_dim, mod.num_heads
    hd = E // H
    dt = query.type.dtype
    n, L, _ = cx.shape(query)
    S_len = cx.shape(key)[1]
    q, k, v = _in_proj(cx, mod, query, key, value, E)
    q, k, v = (_heads(cx, t, H, hd) for t in (q, k, v))
    scores = cx.op("MatMul", cx.op("Mul", q, cx.scalar(1.0 / math.sqrt(hd), dt)),
                   S.transpose(cx, k, -2, -1))
    if attn_mask is not None:
        m = _additive(cx, attn_mask, dt)
        if m.type.rank == 3:
            m = S.reshape_to(cx, m, [n, H, L, S_len])
        scores = cx.op("Add", scores, m)
    if key_padding_mask is not None:
        kp = _additive(cx, key_padding_mask, dt)
        scores = cx.op("Add", scores, S.reshape_to(cx, kp, [n, 1, 1, S_len]))
    attn = cx.op("Softmax", scores, axis=-1)
    out = S.reshape_to(cx, S.transpose(cx, cx.op("MatMul", attn, v), 1, 2), [n, L, E])
    out = N.linear(cx, out, cx.param(mod.out_proj.weight, "out_proj.weight"),
                   None if mod.out_proj.bias is None else cx.param(mod.out_proj.bias,
                                                                   "out_proj.bias"))
    if not mod.batch_first or not batched:
        out = S.transpose(cx, out, 0, 1)
    if not batched:
        out = S.squeeze(cx, out, 1)
    weights = None
    if need_weights:
        weights = cx.op("ReduceMean", attn, cx.ints([1], "axes"), keepdims=0) \
            if average_attn_weights else attn
        if not batched:
            weights = S.squeeze(cx, weights, 0)
    return out, weights


def _child(cx, mod, name, builder, *args, **kwargs):
    """Convert submodule `name` of `mod` with `builder`, its parameters named under it."""
    saved = cx.module_path
    cx.module_path = f"{saved}.{name}" if saved else name
    try:
        return builder(cx, getattr(mod, name), *args, **kwargs)
    finally:
        cx.module_path = saved


def _module_builder(m):
    from .lowering_modules import lookup
    fn = lookup(m)
    if fn is None:
        raise NotConvertible(f"submodule of type {type(m).__name__}")
    return fn


def _activation(cx, layer, x):
    act = layer.activation
    if isinstance(act, nn.Module):
        return _child(cx, layer, "activation", _module_builder(act), x)
    if act is F.relu:
        return M.relu(cx, x)
    if act is F.gelu:
        return M.gelu(cx, x)
    raise NotConvertible(f"activation {act!r}")


def encoder_layer(cx, layer, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
    """nn.TransformerEncoderLayer (eval): self-attention and feed-forward blocks, pre- or
    post-norm."""
    if layer.training and (layer.dropout.p > 0 or layer.self_attn.dropout > 0):
        raise NotConvertible("dropout in training mode (call model.eval() first)")

    def sa(x):
        out, _ = _child(cx, layer, "self_attn", multihead_attention, x, x, x,
                        key_padding_mask=src_key_padding_mask, need_weights=False,
                        attn_mask=src_mask)
        return out

    def ff(x):
        h = _child(cx, layer, "linear1", _module_builder(layer.linear1), x)
        return _child(cx, layer, "linear2", _module_builder(layer.linear2),
                      _activation(cx, layer, h))

    def norm(name, x):
        return _child(cx, layer, name, _module_builder(getattr(layer, name)), x)

    x = src
    if layer.norm_first:
        x = cx.op("Add", x, sa(norm("norm1", x)))
        return cx.op("Add", x, ff(norm("norm2", x)))
    x = norm("norm1", cx.op("Add", x, sa(x)))
    return norm("norm2", cx.op("Add", x, ff(x)))


def encoder(cx, mod, src, mask=None, src_key_padding_mask=None, is_causal=None):
    """nn.TransformerEncoder: its layers in turn, then the optional final norm."""
    if src_key_padding_mask is not None and getattr(mod, "use_nested_tensor", False):
        raise NotConvertible("a key padding mask with enable_nested_tensor=True (the nested "
                             "fast path zeroes padded positions)")
    x = src
    for i, layer in enumerate(mod.layers):
        x = _child(cx, mod.layers, str(i), encoder_layer, x, mask, src_key_padding_mask)
    if mod.norm is not None:
        x = _child(cx, mod, "norm", _module_builder(mod.norm), x)
    return x


def sdpa(cx, query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
         enable_gqa=False):
    if dropout_p:
        raise NotConvertible(f"dropout_p={dropout_p} (random)")
    if enable_gqa and cx.shape(query)[-3] != cx.shape(key)[-3]:
        raise NotConvertible("grouped-query attention (enable_gqa with fewer kv heads)")
    dt = query.type.dtype
    L, S_len, E = cx.shape(query)[-2], cx.shape(key)[-2], cx.shape(query)[-1]
    s = 1.0 / math.sqrt(E) if scale is None else float(scale)
    scores = cx.op("Mul", cx.op("MatMul", query, S.transpose(cx, key, -2, -1)), cx.scalar(s, dt))
    neg_inf = cx.scalar(-math.inf, dt)
    if is_causal:
        keep = cx.const(np.tril(np.ones((L, S_len), bool)), name="causal_mask")
        scores = cx.op("Where", keep, scores, neg_inf)
    if attn_mask is not None:
        if attn_mask.type.dtype == D.bool_:
            scores = cx.op("Where", attn_mask, scores, neg_inf)
        else:
            scores = cx.op("Add", scores, cx.cast(attn_mask, dt))
    return cx.op("MatMul", cx.op("Softmax", scores, axis=-1), value)
