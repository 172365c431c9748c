"""Conversion table of the torch.fx path for leaf modules (`MODULES`: nn.Module type -> builder).

symbolic_trace keeps torch.nn's own modules as opaque `call_module` nodes; each builder here
reads the module's configuration and parameters (which become constants named by their
qualified names, e.g. `layer1.0.conv1.weight`) and emits the same ops as the functional form."""
from __future__ import annotations

import torch.nn as nn

from . import build_index as I
from . import build_math as M
from . import build_nn as N
from . import build_shape as S
from .build_attention import encoder, encoder_layer, multihead_attention
from .context import NotConvertible


def _p(cx, mod, name):
    t = getattr(mod, name, None)
    return None if t is None else cx.param(t, name)


def _conv(cx, mod, input):
    w, b = _p(cx, mod, "weight"), _p(cx, mod, "bias")
    if mod.padding_mode != "zeros":
        n = len(mod.kernel_size)
        x = N.pad(cx, input, list(mod._reversed_padding_repeated_twice), mod.padding_mode)
        return N.conv(cx, x, w, b, mod.stride, [0] * n, mod.dilation, mod.groups)
    return N.conv(cx, input, w, b, mod.stride, mod.padding, mod.dilation, mod.groups)


def _conv_transpose(cx, mod, input, output_size=None):
    if output_size is not None:
        raise NotConvertible("output_size argument")
    if mod.padding_mode != "zeros":
        raise NotConvertible(f"padding_mode={mod.padding_mode!r}")
    return N.conv_transpose(cx, input, _p(cx, mod, "weight"), _p(cx, mod, "bias"), mod.stride,
                            mod.padding, mod.output_padding, mod.groups, mod.dilation)


def _linear(cx, mod, input):
    return N.linear(cx, input, _p(cx, mod, "weight"), _p(cx, mod, "bias"))


def _batch_norm(cx, mod, input):
    if mod.training:
        raise NotConvertible("in training mode (batch statistics and running-stat updates; "
                             "call model.eval() first)")
    if mod.running_mean is None:        # track_running_stats=False: always batch statistics
        return N.batch_norm_batch_stats(cx, input, _p(cx, mod, "weight"), _p(cx, mod, "bias"),
                                        True, 0.0, mod.eps)[0]
    return N.batch_norm(cx, input, _p(cx, mod, "running_mean"), _p(cx, mod, "running_var"),
                        _p(cx, mod, "weight"), _p(cx, mod, "bias"), False, 0.0, mod.eps)


def _instance_norm(cx, mod, input):
    use_input_stats = mod.training or not mod.track_running_stats
    return N.instance_norm(cx, input, _p(cx, mod, "running_mean"), _p(cx, mod, "running_var"),
                           _p(cx, mod, "weight"), _p(cx, mod, "bias"), use_input_stats, 0.0,
                           mod.eps)


def _layer_norm(cx, mod, input):
    return N.layer_norm(cx, input, mod.normalized_shape, _p(cx, mod, "weight"),
                        _p(cx, mod, "bias"), mod.eps)


def _group_norm(cx, mod, input):
    return N.group_norm(cx, input, mod.num_groups, _p(cx, mod, "weight"), _p(cx, mod, "bias"),
                        mod.eps)


def _dropout(cx, mod, input):
    return N.dropout(cx, input, mod.p, mod.training)


def _simple(fn, *attrs, **fixed):
    """A module whose forward is `fn(input, *module attributes)`."""
    def build(cx, mod, input):
        return fn(cx, input, *(getattr(mod, a) for a in attrs), **fixed)
    return build


def _pool(fn, n):
    inner = fn(n)

    def build(cx, mod, input):
        if isinstance(mod, nn.modules.pooling._MaxPoolNd):
            return inner(cx, input, mod.kernel_size, mod.stride, mod.padding, mod.dilation,
                         mod.ceil_mode, mod.return_indices)
        extra = (mod.divisor_override,) if hasattr(mod, "divisor_override") else ()
        return inner(cx, input, mod.kernel_size, mod.stride, mod.padding, mod.ceil_mode,
                     mod.count_include_pad, *extra)
    return build


def _adaptive(n, kind):
    inner = N.adaptive_pool(n, kind)

    def build(cx, mod, input):
        return inner(cx, input, mod.output_size, getattr(mod, "return_indices", False))
    return build


def _prelu(cx, mod, input):
    return M.prelu(cx, input, _p(cx, mod, "weight"))


def _embedding(cx, mod, input):
    if mod.max_norm is not None:
        raise NotConvertible("max_norm (renormalises the weights in place)")
    return I.aten_embedding(cx, _p(cx, mod, "weight"), input)


def _upsample(cx, mod, input):
    align = True if isinstance(mod, nn.UpsamplingBilinear2d) else mod.align_corners
    return N.interpolate(cx, input, mod.size, mod.scale_factor, mod.mode, align,
                         getattr(mod, "recompute_scale_factor", None))


def _softmax(log):
    def build(cx, mod, input):
        return M.softmax(cx, input, mod.dim, log=log)
    return build


MODULES = {
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.Conv3d: _conv,
    nn.ConvTranspose1d: _conv_transpose, nn.ConvTranspose2d: _conv_transpose,
    nn.ConvTranspose3d: _conv_transpose,
    nn.Linear: _linear, nn.BatchNorm1d: _batch_norm, nn.BatchNorm2d: _batch_norm,
    nn.BatchNorm3d: _batch_norm, nn.modules.batchnorm._BatchNorm: _batch_norm,
    nn.InstanceNorm1d: _instance_norm, nn.InstanceNorm2d: _instance_norm,
    nn.InstanceNorm3d: _instance_norm, nn.LayerNorm: _layer_norm, nn.GroupNorm: _group_norm,
    nn.ReLU: _simple(M.relu), nn.ReLU6: _simple(M.relu6), nn.GELU: _simple(M.gelu, "approximate"),
    nn.SiLU: _simple(M.silu), nn.Sigmoid: _simple(M.UNARY["sigmoid"]),
    nn.Tanh: _simple(M.UNARY["tanh"]), nn.Hardswish: _simple(M.hardswish),
    nn.Hardsigmoid: _simple(M.hardsigmoid), nn.Hardtanh: _simple(M.hardtanh, "min_val", "max_val"),
    nn.LeakyReLU: _simple(M.leaky_relu, "negative_slope"), nn.ELU: _simple(M.elu, "alpha"),
    nn.SELU: _simple(M.selu), nn.CELU: _simple(M.celu, "alpha"), nn.Mish: _simple(M.mish),
    nn.Softplus: _simple(M.softplus, "beta", "threshold"),
    nn.Softsign: _simple(M.UNARY["softsign"]),
    nn.LogSigmoid: _simple(M.logsigmoid), nn.PReLU: _prelu,
    nn.Threshold: _simple(M.threshold, "threshold", "value"),
    nn.Softmax: _softmax(False), nn.LogSoftmax: _softmax(True),
    nn.MaxPool1d: _pool(N.max_pool, 1), nn.MaxPool2d: _pool(N.max_pool, 2),
    nn.MaxPool3d: _pool(N.max_pool, 3), nn.AvgPool1d: _pool(N.avg_pool, 1),
    nn.AvgPool2d: _pool(N.avg_pool, 2), nn.AvgPool3d: _pool(N.avg_pool, 3),
    nn.AdaptiveAvgPool1d: _adaptive(1, "Average"), nn.AdaptiveAvgPool2d: _adaptive(2, "Average"),
    nn.AdaptiveAvgPool3d: _adaptive(3, "Average"), nn.AdaptiveMaxPool1d: _adaptive(1, "Max"),
    nn.AdaptiveMaxPool2d: _adaptive(2, "Max"),
    nn.Dropout: _dropout, nn.Dropout1d: _dropout, nn.Dropout2d: _dropout,
    nn.Dropout3d: _dropout, nn.AlphaDropout: _dropout, nn.FeatureAlphaDropout: _dropout,
    nn.Identity: lambda cx, mod, input, *args, **kwargs: input,
    nn.Flatten: _simple(S.flatten, "start_dim", "end_dim"),
    nn.Unflatten: _simple(S.unflatten, "dim", "unflattened_size"),
    nn.Embedding: _embedding, nn.MultiheadAttention: multihead_attention,
    nn.TransformerEncoderLayer: encoder_layer, nn.TransformerEncoder: encoder,
    nn.Upsample: _upsample, nn.UpsamplingNearest2d: _upsample, nn.UpsamplingBilinear2d: _upsample,
    nn.PixelShuffle: _simple(S.pixel_shuffle, "upscale_factor"),
    nn.PixelUnshuffle: _simple(S.pixel_unshuffle, "downscale_factor"),
}


try:   # ep.module() calls a guard-checking module first: it computes nothing
    from torch.export._unlift import GuardsFn
    MODULES[GuardsFn] = lambda cx, mod, *args, **kwargs: None
except ImportError:     # pragma: no cover - other torch versions
    pass


def lookup(mod):
    """The builder for a module (its own type first, then its bases)."""
    for cls in type(mod).__mro__:
        fn = MODULES.get(cls)
        if fn is not None:
            return fn
    return None
