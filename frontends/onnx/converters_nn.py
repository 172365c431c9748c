"""Conversion rules for NN ops whose meaning changed across opsets: Softmax / LogSoftmax /
Hardmax (2-D coercion before 13), BatchNormalization (is_test, spatial, training outputs),
Dropout (identity at inference; ratio and training_mode moved to inputs in 12), and the resize
family (Upsample-7/9 and Resize-10 map onto Resize with asymmetric coordinates; Resize-11/12
only lack nothing but the tf_half_pixel_for_nn mode)."""
from __future__ import annotations

import numpy as np

from compiler.ir.types import TensorType

from .opset_rules import rule


# ---- Softmax / LogSoftmax / Hardmax ---------------------------------------------------------
def _along_last(ctx, op, x):
    """`op` along the last axis of x."""
    if op != "Hardmax":
        return ctx.op(op, x, axis=-1)
    return _hardmax(ctx, x, x.type.rank - 1)


def _hardmax(ctx, x, axis):
    """Hardmax(x, axis) = OneHot(ArgMax(x, axis), depth = dim(axis), [0, 1], axis): 1 at the
    first maximum along the axis (ArgMax picks the first), 0 elsewhere."""
    dim = x.shape[axis]
    depth = ctx.ints([dim], "depth") if isinstance(dim, int) else \
        ctx.op("Shape", x, start=axis, end=axis + 1)
    idx = ctx.op("ArgMax", x, axis=axis, keepdims=0)
    values = ctx.constant(np.array([0, 1], dtype=x.dtype.np_dtype), "values")
    return ctx.op("OneHot", idx, depth, values, axis=axis, out_types=[x.type])


def _axis(ctx, x):
    r = x.type.rank
    axis = int(ctx.attr("axis"))
    if r == 0 or not -r <= axis < r:
        raise ctx.fail(f"axis {axis} is out of range for input {x.type}")
    return axis + r if axis < 0 else axis


@rule("Softmax", "LogSoftmax", "Hardmax", since=1)
def softmax_coerced(ctx):
    """Before opset 13 these ops coerce the input to 2-D at `axis` (default 1) and normalize over
    the whole flattened tail: Flatten(axis) -> op over the last axis -> Reshape back."""
    ctx.check_attrs(allowed=("axis",))
    x = ctx.input(0)
    axis = _axis(ctx, x)
    if axis == x.type.rank - 1:       # the tail is one axis: same as the per-axis form
        return _along_last(ctx, ctx.op_type, x)
    flat = ctx.op("Flatten", x, axis=axis)
    y = _along_last(ctx, ctx.op_type, flat)
    shape = ctx.ints(x.shape, "shape") if x.type.is_static else ctx.op("Shape", x)
    return ctx.op("Reshape", y, shape, out_types=[x.type])


@rule("Softmax", "LogSoftmax", since=13)
def softmax_13(ctx):
    """Softmax-13: along one axis (default -1), as our op."""
    ctx.check_attrs(allowed=("axis",))
    return ctx.op(ctx.op_type, ctx.input(0), axis=int(ctx.attr("axis")))


@rule("Hardmax", since=13)
def hardmax_13(ctx):
    """Hardmax-13: along one axis, decomposed into ArgMax + OneHot."""
    ctx.check_attrs(allowed=("axis",))
    x = ctx.input(0)
    return _hardmax(ctx, x, _axis(ctx, x))


# ---- BatchNormalization ----------------------------------------------------------------------
def _batchnorm(ctx, spatial: int = 1):
    extra = [ctx.node.output[i] for i in range(1, len(ctx.node.output)) if ctx.output_used(i)]
    if extra:
        raise ctx.unsupported(f"requests the training-mode outputs {extra} (batch statistics); "
                              f"aicc imports inference graphs only (export the model in eval "
                              f"mode)")
    x, scale, bias, mean, var = (ctx.input(i) for i in range(5))
    eps = float(ctx.attr("epsilon"))
    if spatial:
        return ctx.op("BatchNormalization", x, scale, bias, mean, var, epsilon=eps)
    # spatial=0: statistics per (C, D1, ...) element, broadcast over N
    e = ctx.scalar(eps, var.dtype.np_dtype, "epsilon")
    std = ctx.op("Sqrt", ctx.op("Add", var, e))
    y = ctx.op("Div", ctx.op("Sub", x, mean), std)
    return ctx.op("Add", ctx.op("Mul", y, scale), bias)


@rule("BatchNormalization", since=6)
def batchnorm_6(ctx):
    """BatchNormalization-6: is_test must be set (is_test=0 normalizes with batch statistics)."""
    ctx.check_attrs(allowed=("epsilon", "is_test", "spatial"), ignored=("momentum",))
    if not int(ctx.attr("is_test")):
        raise ctx.unsupported("is_test=0 (training mode: normalizes with batch statistics) is "
                              "not supported; aicc imports inference graphs only")
    return _batchnorm(ctx, int(ctx.attr("spatial")))


@rule("BatchNormalization", since=7)
def batchnorm_7(ctx):
    """BatchNormalization-7: `spatial` (default 1); 0 means per-element statistics."""
    ctx.check_attrs(allowed=("epsilon", "spatial"), ignored=("momentum",))
    return _batchnorm(ctx, int(ctx.attr("spatial")))


@rule("BatchNormalization", since=9)
def batchnorm_9(ctx):
    """BatchNormalization-9/14/15: per-channel statistics; training_mode (14) must be 0."""
    ctx.check_attrs(allowed=("epsilon", "training_mode"), ignored=("momentum",))
    if int(ctx.attr("training_mode", 0)):
        raise ctx.unsupported("training_mode=1 (normalizes with batch statistics) is not "
                              "supported; aicc imports inference graphs only")
    return _batchnorm(ctx)


# ---- Dropout ---------------------------------------------------------------------------------
def _ones_like(ctx, x, dtype):
    dtype = np.dtype(dtype)
    if x.type.is_static:
        return ctx.constant(np.ones(x.shape, dtype), "mask")
    return ctx.op("ConstantOfShape", ctx.op("Shape", x), value=np.ones(1, dtype),
                  out_types=[TensorType(dtype, x.shape)])


def _dropout_identity(ctx, mask_dtype):
    """At inference Dropout passes its input through; its mask output keeps everything."""
    x = ctx.input(0)
    if ctx.output_used(1):
        return [x, _ones_like(ctx, x, mask_dtype)]
    return [x]


@rule("Dropout", since=7)
def dropout_7(ctx):
    """Dropout-7: identity at inference; the optional mask has the input's type (T).

    Versions 7-11 do not define the mask at inference; it is all ones (everything kept), as
    from version 12 on, where output = data * mask (onnxruntime fills it with zeros there)."""
    ctx.check_attrs(ignored=("ratio",))
    return _dropout_identity(ctx, ctx.input(0).dtype.np_dtype)


@rule("Dropout", since=10)
def dropout_10(ctx):
    """Dropout-10: identity at inference; the mask is bool."""
    ctx.check_attrs(ignored=("ratio",))
    return _dropout_identity(ctx, np.bool_)


@rule("Dropout", since=12)
def dropout_12(ctx):
    """Dropout-12+: ratio and training_mode are inputs; training_mode must be (constant)
    false, or the ratio 0."""
    ctx.check_attrs(ignored=("seed",))
    if ctx.has_input(2):
        training = ctx.const(2)
        if training is None:
            raise ctx.unsupported("training_mode is computed at run time; only inference "
                                  "(training_mode absent or constant false) is supported")
        if bool(np.asarray(training).reshape(-1)[0]):
            ratio = ctx.const(1) if ctx.has_input(1) else np.float32(0.5)
            if ratio is None or float(np.asarray(ratio).reshape(-1)[0]) != 0.0:
                raise ctx.unsupported("training_mode=true (random dropout) is not supported; "
                                      "aicc imports inference graphs only")
    return _dropout_identity(ctx, np.bool_)


# ---- Upsample / Resize ------------------------------------------------------------------------
def _legacy_resize(ctx, scales_value, scales_const, mode):
    """Upsample-7/9 and Resize-10: output size floor(in * scale), source coordinate
    out / scale (asymmetric). Nearest rounds down along upsampled axes and up along downsampled
    ones (as onnxruntime, whose behaviour defines these versions), so the two groups of axes
    become two Resizes when both occur."""
    x = ctx.input(0)
    if mode not in ("nearest", "linear"):
        raise ctx.unsupported(f"mode '{mode}' is not supported (nearest or linear)")
    if mode == "linear":
        return ctx.op("Resize", x, None, scales_value, mode="linear",
                      coordinate_transformation_mode="asymmetric")
    if scales_const is None:
        raise ctx.unsupported("nearest resizing with run-time scales is not supported (the "
                              "rounding depends on whether each scale is below 1)")
    scales = np.asarray(scales_const, dtype=np.float32).reshape(-1)
    if scales.size != x.type.rank:
        raise ctx.fail(f"scales has {scales.size} values; the input {x.type} has rank "
                       f"{x.type.rank}")
    groups = [("floor", [a for a, s in enumerate(scales) if s >= 1]),
              ("ceil", [a for a, s in enumerate(scales) if s < 1])]
    y = x
    for rounding, axes in groups:
        if not axes or all(scales[a] == 1 for a in axes):
            continue
        whole = len(axes) == x.type.rank
        sc = ctx.constant(scales[axes].astype(np.float32), "scales")
        y = ctx.op("Resize", y, None, sc, mode="nearest",
                   coordinate_transformation_mode="asymmetric", nearest_mode=rounding,
                   axes=None if whole else axes)
    if y is x:   # every scale is 1
        y = ctx.op("Identity", x)
    return y


def _upsample_scales(ctx, scales):
    if scales is not None and np.any(np.asarray(scales) < 1):
        raise ctx.fail(f"Upsample scales must be >= 1, got {np.asarray(scales).tolist()}")
    return scales


@rule("Upsample", since=7)
def upsample_7(ctx):
    """Upsample-7: `scales` attribute."""
    ctx.check_attrs(allowed=("mode", "scales"))
    scales = _upsample_scales(ctx, np.asarray(ctx.attr("scales"), dtype=np.float32))
    sc = ctx.constant(scales, "scales")
    return _legacy_resize(ctx, sc, scales, ctx.attr("mode"))


@rule("Upsample", since=9)
def upsample_9(ctx):
    """Upsample-9/10: `scales` input."""
    ctx.check_attrs(allowed=("mode",))
    return _legacy_resize(ctx, ctx.input(1), _upsample_scales(ctx, ctx.const(1)),
                          ctx.attr("mode"))


@rule("Resize", since=10)
def resize_10(ctx):
    """Resize-10: X and scales only; Upsample's coordinate rules."""
    ctx.check_attrs(allowed=("mode",))
    return _legacy_resize(ctx, ctx.input(1), ctx.const(1), ctx.attr("mode"))


@rule("Resize", since=11)
def resize_11(ctx):
    """Resize-11/12: as 13 (roi and scales required, maybe empty) plus the tf_half_pixel_for_nn
    coordinate mode, which aicc does not support."""
    mode = ctx.attr("coordinate_transformation_mode")
    if mode == "tf_half_pixel_for_nn":
        raise ctx.unsupported("coordinate_transformation_mode 'tf_half_pixel_for_nn' is not "
                              "supported")
    return ctx.op("Resize", *ctx.inputs(), **ctx.attrs_for("Resize"))
