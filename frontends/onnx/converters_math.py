"""Conversion rules for math ops whose meaning changed across opsets: Clip (bounds as attributes
before 11), Cast (`to` was a string before 6), Reduce* (axes as an attribute before 13 / 18),
TopK (k as an attribute before 10)."""
from __future__ import annotations

from onnx import TensorProto

from .opset_rules import rule
from .tensors import DTYPES, onnx_dtype_name, supported_dtypes_text


# ---- Clip ------------------------------------------------------------------------------------
@rule("Clip", since=6)
def clip_6(ctx):
    """Clip-6: min / max attributes (defaults: the float range) -> optional scalar inputs."""
    ctx.check_attrs(allowed=("min", "max"))
    x = ctx.input(0)
    dt = x.dtype.np_dtype
    bounds = []
    for name in ("min", "max"):
        if ctx.has_attr(name):
            bounds.append(ctx.scalar(ctx.attr(name), dt, name))
        else:
            bounds.append(None)   # absent bound = no clipping on that side (the schema default)
    return ctx.op("Clip", x, *bounds)


# ---- Cast ------------------------------------------------------------------------------------
def _cast_target(ctx, to) -> int:
    if to not in DTYPES:
        raise ctx.unsupported(f"casts to {onnx_dtype_name(to)}, which aicc does not support "
                              f"(supported: {supported_dtypes_text()})")
    return to


@rule("Cast", since=1)
def cast_1(ctx):
    """Cast-1: `to` is a type name string ("FLOAT") -> the TensorProto code."""
    ctx.check_attrs(allowed=("to",))
    name = str(ctx.attr("to")).upper()
    try:
        code = TensorProto.DataType.Value(name)
    except ValueError:
        raise ctx.fail(f"attribute to='{name}' is not an ONNX data type name") from None
    return ctx.op("Cast", ctx.input(0), to=_cast_target(ctx, code))


@rule("Cast", since=6)
def cast_6(ctx):
    """Cast-6+: `to` is a TensorProto code (saturate / round_mode from 19 / 24 are kept)."""
    attrs = ctx.attrs_for("Cast")
    _cast_target(ctx, attrs["to"])
    return ctx.op("Cast", ctx.input(0), **attrs)


# ---- Reduce* -----------------------------------------------------------------------------------
REDUCE_OPS = ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
              "ReduceL2", "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp")


def reduce_attr_axes(ctx):
    """Reduce* before axes became an input (ReduceSum-13, the others 18): the `axes` attribute
    -> a constant axes input; no attribute (or an empty one) reduces over every axis."""
    ctx.check_attrs(allowed=("axes", "keepdims"))
    axes = ctx.attr("axes", None)
    keepdims = int(ctx.attr("keepdims"))
    axes_in = ctx.ints(axes, "axes") if axes else None
    return ctx.op(ctx.op_type, ctx.input(0), axes_in, keepdims=keepdims)


for _op in REDUCE_OPS:
    rule(_op, since=1)(reduce_attr_axes)


# ---- TopK ------------------------------------------------------------------------------------
@rule("TopK", since=1)
def topk_1(ctx):
    """TopK-1: `k` attribute -> a constant K input (largest and sorted are implied)."""
    ctx.check_attrs(allowed=("k", "axis"))
    k = ctx.ints([int(ctx.attr("k"))], "k")
    values, indices = ctx.op("TopK", ctx.input(0), k, n_outputs=2, axis=int(ctx.attr("axis")))
    return [values, indices]


__all__ = ["REDUCE_OPS", "reduce_attr_axes"]
