"""Builders for the network layers: matmul/linear, convolution, pooling, normalisation,
padding and dropout."""
from __future__ import annotations

import math

import numpy as np

from .build_shape import reshape_to, squeeze, transpose, unsqueeze
from .context import Missing, NotConvertible, as_list


# ---- matrix products -----------------------------------------------------------------------
def matmul(cx, input, other, *, out=None):
    dt = cx.promote(input, other)
    return cx.op("MatMul", cx.tensor(input, dt), cx.tensor(other, dt))


def linear(cx, input, weight, bias=None):
    if input.type.rank == 2 and weight.type.rank == 2:
        return cx.op("Gemm", input, weight, bias, transB=1)
    y = cx.op("MatMul", input, transpose(cx, weight, 0, 1) if weight.type.rank == 2 else weight)
    return y if bias is None else cx.op("Add", y, bias)


def _untransposed(v):
    """(x, 1) when v is Transpose(x) of a matrix (Gemm transposes for free), else (v, 0)."""
    p = v.producer
    if p is not None and p.op == "Transpose" and list(p.attrs.get("perm", ())) == [1, 0]:
        return p.inputs[0], 1
    return v, 0


def addmm(cx, input, mat1, mat2, *, beta=1, alpha=1, out=None):
    (a, ta), (b, tb) = _untransposed(mat1), _untransposed(mat2)
    attrs = {k: v for k, v in (("transA", ta), ("transB", tb)) if v}
    attrs.update({k: float(v) for k, v in (("alpha", alpha), ("beta", beta)) if v != 1})
    return cx.op("Gemm", a, b, input, **attrs)


def baddbmm(cx, input, batch1, batch2, *, beta=1, alpha=1, out=None):
    dt = input.type.dtype
    prod = cx.op("MatMul", batch1, batch2)
    if alpha != 1:
        prod = cx.op("Mul", prod, cx.scalar(alpha, dt))
    if beta == 0:
        return prod
    c = input if beta == 1 else cx.op("Mul", input, cx.scalar(beta, dt))
    return cx.op("Add", c, prod)


# ---- convolution ---------------------------------------------------------------------------
def _unbatched(cx, input, n_spatial, build):
    """torch accepts (C, *spatial) inputs; our ops want a batch dim."""
    if input.type.rank == n_spatial + 1:
        return squeeze(cx, build(unsqueeze(cx, input, 0)), 0)
    return build(input)


def conv(cx, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    n = weight.type.rank - 2
    kernel = list(weight.type.shape[2:])
    dil = as_list(dilation, n)
    if isinstance(padding, str):
        if padding == "valid":
            pads = [0] * (2 * n)
        elif padding == "same":
            total = [d * (k - 1) for d, k in zip(dil, kernel)]
            pads = [t // 2 for t in total] + [t - t // 2 for t in total]
        else:
            raise NotConvertible(f"padding={padding!r}")
    else:
        p = as_list(padding, n)
        pads = p + p
    attrs = dict(strides=as_list(stride, n), dilations=dil, pads=pads, group=int(groups),
                 kernel_shape=kernel)
    return _unbatched(cx, input, n, lambda x: cx.op("Conv", x, weight, bias, **attrs))


def conv_transpose(cx, input, weight, bias=None, stride=1, padding=0, output_padding=0,
                   groups=1, dilation=1):
    n = weight.type.rank - 2
    p = as_list(padding, n)
    attrs = dict(strides=as_list(stride, n), dilations=as_list(dilation, n), pads=p + p,
                 group=int(groups), output_padding=as_list(output_padding, n),
                 kernel_shape=list(weight.type.shape[2:]))
    return _unbatched(cx, input, n, lambda x: cx.op("ConvTranspose", x, weight, bias, **attrs))


def convolution(cx, input, weight, bias, stride, padding, dilation, transposed, output_padding,
                groups):
    if transposed:
        return conv_transpose(cx, input, weight, bias, stride, padding, output_padding, groups,
                              dilation)
    return conv(cx, input, weight, bias, stride, padding, dilation, groups)


# ---- pooling -------------------------------------------------------------------------------
def _pool_attrs(n, kernel_size, stride, padding, ceil_mode):
    k = as_list(kernel_size, n)
    s = as_list(stride, n) if stride not in (None, [], ()) else k
    p = as_list(padding, n)
    return dict(kernel_shape=k, strides=s, pads=p + p, ceil_mode=int(bool(ceil_mode)))


def max_pool(n):
    def build(cx, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
              return_indices=False):
        attrs = _pool_attrs(n, kernel_size, stride, padding, ceil_mode)
        attrs["dilations"] = as_list(dilation, n)
        y = _unbatched(cx, input, n, lambda x: cx.op("MaxPool", x, **attrs))
        return (y, Missing("max-pool indices")) if return_indices else y
    return build


def max_pool_with_indices(n):
    inner = max_pool(n)

    def build(cx, input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
        return inner(cx, input, kernel_size, stride, padding, dilation, ceil_mode, True)
    return build


def avg_pool(n):
    def build(cx, input, kernel_size, stride=None, padding=0, ceil_mode=False,
              count_include_pad=True, divisor_override=None):
        attrs = _pool_attrs(n, kernel_size, stride, padding, ceil_mode)
        attrs["count_include_pad"] = int(bool(count_include_pad))
        if divisor_override is not None:
            if ceil_mode:
                raise NotConvertible("divisor_override with ceil_mode")
            attrs["count_include_pad"] = 1
        y = _unbatched(cx, input, n, lambda x: cx.op("AveragePool", x, **attrs))
        if divisor_override is not None:
            ratio = float(np.prod(attrs["kernel_shape"])) / float(divisor_override)
            y = cx.op("Mul", y, cx.scalar(ratio, y.type.dtype))
        return y
    return build


def adaptive_pool(n, kind):
    def build(cx, input, output_size, return_indices=False):
        if return_indices:
            raise NotConvertible("return_indices=True")
        spatial = cx.shape(input)[-n:]
        out = as_list([s if o is None else o for o, s in
                       zip(output_size if isinstance(output_size, (list, tuple))
                           else [output_size] * n, spatial)], n)
        batched = input.type.rank == n + 2
        if all(o == 1 for o in out) and batched:
            return cx.op("Global" + kind + "Pool", input)
        if any(s % o for s, o in zip(spatial, out)):
            raise NotConvertible(f"adaptive pooling of {list(spatial)} to {out} (only sizes "
                                 f"that divide the input are supported)")
        k = [s // o for s, o in zip(spatial, out)]
        attrs = dict(kernel_shape=k, strides=k)
        return _unbatched(cx, input, n, lambda x: cx.op(kind + "Pool", x, **attrs))
    return build


_RESIZE_MODES = {"nearest": "nearest", "linear": "linear", "bilinear": "linear",
                 "trilinear": "linear", "bicubic": "cubic"}


def interpolate(cx, input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    if mode not in _RESIZE_MODES or antialias:
        raise NotConvertible(f"interpolate mode={mode!r}, antialias={antialias}")
    n = input.type.rank - 2
    spatial = cx.shape(input)[2:]
    attrs = {"mode": _RESIZE_MODES[mode]}
    if mode == "nearest":
        attrs.update(coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    else:
        attrs["coordinate_transformation_mode"] = \
            "align_corners" if align_corners else "pytorch_half_pixel"
        if mode == "bicubic":
            attrs["cubic_coeff_a"] = -0.75
    lead = list(cx.shape(input)[:2])
    if size is not None or recompute_scale_factor:
        if size is None:
            size = [int(math.floor(s * f)) for s, f in zip(spatial, as_floats(scale_factor, n))]
        sizes = cx.ints(lead + as_list(size, n), "sizes")
        return cx.op("Resize", input, None, None, sizes, **attrs)
    scales = [1.0, 1.0] + as_floats(scale_factor, n)
    return cx.op("Resize", input, None, cx.const(np.array(scales, np.float32), name="scales"),
                 **attrs)


def as_floats(x, n):
    return [float(v) for v in x] if isinstance(x, (list, tuple)) else [float(x)] * n


def upsample(mode):
    """aten.upsample_*.vec(input, output_size, [align_corners,] scale_factors)."""
    def build(cx, input, output_size, *args):
        align = next((a for a in args if isinstance(a, bool)), None)
        scales = args[-1] if args and isinstance(args[-1], (list, tuple)) else None
        if output_size is not None:
            return interpolate(cx, input, size=output_size, mode=mode, align_corners=align)
        return interpolate(cx, input, scale_factor=scales, mode=mode, align_corners=align)
    return build


# ---- normalisation -------------------------------------------------------------------------
def _ones_zeros(cx, n, dtype):
    return (cx.const(np.ones((n,), dtype.np_dtype), name="ones"),
            cx.const(np.zeros((n,), dtype.np_dtype), name="zeros"))


def batch_norm(cx, input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    if running_mean is None or running_var is None:      # always the batch's own statistics
        return batch_norm_batch_stats(cx, input, weight, bias, True, momentum, eps)[0]
    if training:
        raise NotConvertible("training=True (batch statistics and running-stat updates; "
                             "call model.eval() first)")
    c = cx.shape(input)[1]
    ones, zeros = _ones_zeros(cx, c, input.type.dtype) if weight is None or bias is None \
        else (None, None)
    return cx.op("BatchNormalization", input, weight if weight is not None else ones,
                 bias if bias is not None else zeros, running_mean, running_var,
                 epsilon=float(eps))


def aten_batch_norm(cx, input, weight, bias, running_mean, running_var, training, momentum, eps,
                    cudnn_enabled=False):
    return batch_norm(cx, input, running_mean, running_var, weight, bias, training, momentum,
                      eps)


def native_batch_norm(cx, input, weight, bias, running_mean, running_var, training, momentum,
                      eps):
    y = batch_norm(cx, input, running_mean, running_var, weight, bias, training, momentum, eps)
    return y, Missing("batch-norm saved mean"), Missing("batch-norm saved inverse std")


def batch_norm_no_training(cx, input, weight, bias, running_mean, running_var, momentum, eps):
    return native_batch_norm(cx, input, weight, bias, running_mean, running_var, False,
                             momentum, eps)


def batch_norm_batch_stats(cx, input, weight, bias, training, momentum, eps):
    """aten._native_batch_norm_legit.no_stats: normalise with the batch's own per-channel
    statistics (what instance norm decomposes to)."""
    shape, dt = cx.shape(input), input.type.dtype
    if shape[0] == 1:
        ones, zeros = _ones_zeros(cx, shape[1], dt)
        y = cx.op("InstanceNormalization", input, ones if weight is None else weight,
                  zeros if bias is None else bias, epsilon=float(eps))
    else:
        axes = cx.ints([0] + list(range(2, len(shape))), "axes")
        d = cx.op("Sub", input, cx.op("ReduceMean", input, axes, keepdims=1))
        var = cx.op("ReduceMean", cx.op("Mul", d, d), axes, keepdims=1)
        y = cx.op("Div", d, cx.op("Sqrt", cx.op("Add", var, cx.scalar(eps, dt))))
        per_channel = [shape[1]] + [1] * (len(shape) - 2)
        if weight is not None:
            y = cx.op("Mul", y, reshape_to(cx, weight, per_channel))
        if bias is not None:
            y = cx.op("Add", y, reshape_to(cx, bias, per_channel))
    return y, Missing("batch-norm saved mean"), Missing("batch-norm saved inverse std")


def instance_norm(cx, input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    if not use_input_stats:
        return batch_norm(cx, input, running_mean, running_var, weight, bias, False, momentum,
                          eps)
    c, dt = cx.shape(input)[1], input.type.dtype
    ones, zeros = _ones_zeros(cx, c, dt)
    return cx.op("InstanceNormalization", input, ones if weight is None else weight,
                 zeros if bias is None else bias, epsilon=float(eps))


def aten_instance_norm(cx, input, weight, bias, running_mean, running_var, use_input_stats,
                       momentum, eps, cudnn_enabled=False):
    return instance_norm(cx, input, running_mean, running_var, weight, bias, use_input_stats,
                         momentum, eps)


def layer_norm(cx, input, normalized_shape, weight=None, bias=None, eps=1e-5,
               cudnn_enable=True):
    ns = as_list(normalized_shape)
    if weight is None:
        weight = cx.const(np.ones(ns, input.type.dtype.np_dtype), name="ones")
    return cx.op("LayerNormalization", input, weight, bias, axis=-len(ns), epsilon=float(eps))


def native_layer_norm(cx, input, normalized_shape, weight, bias, eps):
    y = layer_norm(cx, input, normalized_shape, weight, bias, eps)
    return y, Missing("layer-norm mean"), Missing("layer-norm inverse std")


def group_norm(cx, input, num_groups, weight=None, bias=None, eps=1e-5):
    shape = cx.shape(input)
    g, dt = int(num_groups), input.type.dtype
    ones, zeros = _ones_zeros(cx, g, dt)
    x = reshape_to(cx, input, [shape[0], g, -1])
    x = cx.op("InstanceNormalization", x, ones, zeros, epsilon=float(eps))
    x = reshape_to(cx, x, shape)
    per_channel = [shape[1]] + [1] * (len(shape) - 2)
    if weight is not None:
        x = cx.op("Mul", x, reshape_to(cx, weight, per_channel))
    if bias is not None:
        x = cx.op("Add", x, reshape_to(cx, bias, per_channel))
    return x


def native_group_norm(cx, input, weight, bias, N, C, HxW, group, eps):
    y = group_norm(cx, input, group, weight, bias, eps)
    return y, Missing("group-norm mean"), Missing("group-norm inverse std")


# ---- padding and dropout -------------------------------------------------------------------
_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
              "circular": "wrap"}


def pad(cx, input, pad, mode="constant", value=None):
    if mode not in _PAD_MODES:
        raise NotConvertible(f"pad mode {mode!r}")
    rank = input.type.rank
    pad = [int(p) for p in pad]
    begins, ends = [0] * rank, [0] * rank
    for i in range(len(pad) // 2):        # torch lists (begin, end) pairs from the last dim
        begins[rank - 1 - i], ends[rank - 1 - i] = pad[2 * i], pad[2 * i + 1]
    args = [input, cx.ints(begins + ends, "pads")]
    if mode == "constant" and value not in (None, 0):
        args.append(cx.scalar(value, input.type.dtype))
    return cx.op("Pad", *args, mode=_PAD_MODES[mode])


def constant_pad_nd(cx, input, pad_, value=0):
    return pad(cx, input, pad_, "constant", value)


def _mode_pad(mode):
    def build(cx, input, padding):
        return pad(cx, input, padding, mode)
    return build


def dropout(cx, input, p=0.5, training=True, inplace=False):
    if training and p > 0:
        raise NotConvertible("training=True (random; call model.eval() first)")
    return input


def native_dropout(cx, input, p, train):
    if train and p > 0:
        raise NotConvertible("train=True (random; call model.eval() first)")
    return input, Missing("dropout mask")
