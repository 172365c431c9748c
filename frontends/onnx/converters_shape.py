"""Conversion rules for layout ops whose operands moved from attributes to inputs over the
opsets (Reshape-1, Split-2/11, Slice-1, Pad-2, Squeeze/Unsqueeze-1/11, Concat-1), Split's
output count, and Constant nodes (which become graph constants)."""
from __future__ import annotations

import numpy as np

from .opset_rules import rule


# ---- Constant --------------------------------------------------------------------------------
_CONSTANT_KINDS = ("value", "sparse_value", "value_float", "value_floats", "value_int",
                   "value_ints", "value_string", "value_strings")


@rule("Constant", since=1)
def constant(ctx):
    """Constant -> a graph constant (every value_* spelling; sparse values are densified)."""
    given = [k for k in ctx.attrs if k in _CONSTANT_KINDS]
    extra = [k for k in ctx.attrs if k not in _CONSTANT_KINDS]
    if len(given) != 1 or extra:
        raise ctx.fail(f"a Constant needs exactly one of {', '.join(_CONSTANT_KINDS)}; got "
                       f"{', '.join(sorted(ctx.attrs)) or 'no attributes'}")
    kind = given[0]
    v = ctx.attrs[kind]
    if kind in ("value_string", "value_strings"):
        raise ctx.unsupported("string constants are not supported (aicc has no string dtype)")
    if kind in ("value", "sparse_value"):
        data = v
    elif kind == "value_float":
        data = np.array(v, dtype=np.float32)
    elif kind == "value_floats":
        data = np.array(v, dtype=np.float32).reshape(-1)
    elif kind == "value_int":
        data = np.array(v, dtype=np.int64)
    else:
        data = np.array(v, dtype=np.int64).reshape(-1)
    return ctx.constant(data, "value")


# ---- Reshape / Concat ------------------------------------------------------------------------
@rule("Reshape", since=1)
def reshape_1(ctx):
    """Reshape-1: the `shape` attribute -> a constant shape input."""
    ctx.check_attrs(allowed=("shape",), ignored=("consumed_inputs",))
    return ctx.op("Reshape", ctx.input(0), ctx.ints(ctx.attr("shape"), "shape"))


@rule("Concat", since=1)
def concat_1(ctx):
    """Concat-1: `axis` was optional with default 1."""
    ctx.check_attrs(allowed=("axis",))
    return ctx.op("Concat", *ctx.inputs(), axis=int(ctx.attr("axis", 1)))


# ---- Split -----------------------------------------------------------------------------------
def _split(ctx, split_input):
    n = len(ctx.node.output)    # the output count is semantic: equal parts for each output
    attrs = {"axis": int(ctx.attr("axis"))}
    if ctx.has_attr("num_outputs"):
        attrs["num_outputs"] = int(ctx.attr("num_outputs"))
    outs = ctx.op("Split", ctx.input(0), split_input, n_outputs=n, **attrs)
    return list(outs) if isinstance(outs, tuple) else [outs]


@rule("Split", since=2)
def split_2(ctx):
    """Split-2/11: the `split` attribute -> a constant split input (absent: equal parts)."""
    ctx.check_attrs(allowed=("axis", "split"))
    split = ctx.attr("split", None)
    return _split(ctx, ctx.ints(split, "split") if split else None)


@rule("Split", since=13)
def split_13(ctx):
    """Split-13/18: split sizes as an input, or (18) `num_outputs` equal parts."""
    ctx.check_attrs(allowed=("axis", "num_outputs"))
    return _split(ctx, ctx.input(1))


# ---- Slice / Pad -----------------------------------------------------------------------------
@rule("Slice", since=1)
def slice_1(ctx):
    """Slice-1: starts / ends / axes attributes -> constant inputs (steps are all 1)."""
    ctx.check_attrs(allowed=("starts", "ends", "axes"))
    starts, ends = ctx.attr("starts"), ctx.attr("ends")
    axes = ctx.attr("axes", None)
    if len(starts) != len(ends) or (axes is not None and len(axes) != len(starts)):
        raise ctx.fail(f"starts {starts}, ends {ends} and axes {axes} must have the same length")
    return ctx.op("Slice", ctx.input(0), ctx.ints(starts, "starts"), ctx.ints(ends, "ends"),
                  ctx.ints(axes, "axes") if axes is not None else None)


@rule("Pad", since=2)
def pad_2(ctx):
    """Pad-2: `pads` and the float `value` attributes -> constant inputs."""
    ctx.check_attrs(allowed=("pads", "mode", "value"))
    x = ctx.input(0)
    mode = ctx.attr("mode")
    value = None
    if mode == "constant":
        value = ctx.scalar(float(ctx.attr("value")), x.dtype.np_dtype, "value")
    return ctx.op("Pad", x, ctx.ints(ctx.attr("pads"), "pads"), value, mode=mode)


# ---- Squeeze / Unsqueeze --------------------------------------------------------------------
@rule("Squeeze", since=1)
def squeeze_1(ctx):
    """Squeeze-1/11: the optional `axes` attribute -> a constant axes input."""
    ctx.check_attrs(allowed=("axes",))
    axes = ctx.attr("axes", None)
    return ctx.op("Squeeze", ctx.input(0), ctx.ints(axes, "axes") if axes is not None else None)


@rule("Unsqueeze", since=1)
def unsqueeze_1(ctx):
    """Unsqueeze-1/11: the `axes` attribute -> a constant axes input."""
    ctx.check_attrs(allowed=("axes",))
    return ctx.op("Unsqueeze", ctx.input(0), ctx.ints(ctx.attr("axes"), "axes"))
