"""Helpers of the layout pass: the target layout (compile-time relayout of weights and broadcast
constants) and the per-op rules saying whether, and how, a node runs in the target layout.

A rule gets the original node and a converter (`cv`, see layout.py) offering
`cv.get(v)` (v's value in the target layout, or None), `cv.to_target(v)` (that value, inserting an
NCHW -> target conversion when needed), `cv.const(data, hint, key)` and `cv.emit(node, op, inputs,
attrs)`. It returns the node's results in the target layout, or raises Unsupported (the node then
stays in NCHW and gets a conversion back in front of it). Rules check everything before they
create anything, so a refusal leaves the graph as it was.

Padded lanes: with NCHW{k}c and C % k != 0, the lanes past C hold values that depend only on
constants (conversions pad zeros, convolutions' padded weights and biases are zero). They are
cropped by the conversion back and meet only zero weights in the next convolution, so they must
stay finite: in padded tensors only ops that keep finite inputs finite are allowed."""
from __future__ import annotations

import math

import numpy as np

from compiler.ir.dtypes import FLOAT_DTYPES
from compiler.ops import OPS, OpKind
from compiler.ops.layout import (POOL_OPS, conv_op_for, layout_shape, pack_conv_weight,
                                 pad_axis, pool_op_for)


class Unsupported(Exception):
    """The node cannot run in the target layout; the message says why."""


# unary ops that map finite inputs to finite outputs (allowed on tensors with padded lanes)
FINITE_UNARY = frozenset(
    "Relu LeakyRelu Sigmoid HardSigmoid HardSwish Tanh Softsign Softplus Elu Selu Celu Gelu Mish "
    "Swish ThresholdedRelu Neg Abs Sign Floor Ceil Round Erf Sin Cos Atan Cast Identity".split())
# broadcasting ops that keep their 4-D operand's layout; value: what a relaid-out constant
# operand is padded with (the identity of the op on that side)
BROADCAST = {"Add": 0, "Sub": 0, "Mul": 0, "Div": 1, "Pow": 1, "Max": 0, "Min": 0, "Sum": 0,
             "Mean": 0, "PRelu": 0}
FINITE_BROADCAST = frozenset({"Add", "Sub", "Mul", "Max", "Min", "Sum", "Mean", "PRelu"})


class Target:
    """The layout convolutions move to: "NCHW{k}c" (blocked) or "NHWC"."""

    def __init__(self, layout: str, block: int):
        self.blocked = layout == "NCHWc"
        self.k = block if self.blocked else 0
        self.name = f"NCHW{block}c" if self.blocked else "NHWC"
        self.tag = self.name.lower()

    def cpad(self, c: int) -> int:
        return -(-c // self.k) * self.k if self.blocked else c

    def padded(self, c) -> bool:
        return self.blocked and isinstance(c, int) and c % self.k != 0

    def shape(self, nchw_shape) -> tuple:
        return layout_shape(nchw_shape, self.name)

    def weight_tag(self, iw: int) -> str:
        return f"oihw{iw}i{self.k}o" if self.blocked else "hwio"

    def relayout_const(self, data: np.ndarray, c: int, pad_value) -> np.ndarray | None:
        """A constant that broadcasts against [N, C, H, W], laid out to broadcast the same way
        against the target layout; None when it is scalar-like (all dims 1) and usable as is."""
        if data.ndim > 4:
            raise Unsupported(f"a rank-{data.ndim} operand does not broadcast against NCHW")
        if all(d == 1 for d in data.shape):
            return None
        a = data.reshape((1,) * (4 - data.ndim) + data.shape)
        if a.shape[1] not in (1, c):
            raise Unsupported(f"operand of shape {list(data.shape)} is not per-channel")
        if not self.blocked:
            return np.ascontiguousarray(a.transpose(0, 2, 3, 1))
        n, ca, h, w = a.shape
        if ca == 1:
            return a.reshape(n, 1, h, w, 1)
        a = pad_axis(a, 1, self.cpad(c), pad_value)
        return np.ascontiguousarray(a.reshape(n, a.shape[1] // self.k, self.k, h, w)
                                    .transpose(0, 1, 3, 4, 2))

    def conv_params(self, w: np.ndarray, b, c: int, group: int):
        """Conv weights [M, C/group, KH, KW] and bias [M] in the target layout, and the group
        count of the converted conv: (weight, bias or None, group, input block of the weight).

        NCHW{k}c maps groups to channels: without channel padding they are unchanged; with it,
        a plain conv (group=1) pads its weights with zero rows and columns, and a depthwise conv
        (group = C = M) becomes a depthwise conv over the padded channels (group = Cp)."""
        m, cg = w.shape[0], w.shape[1]
        if not self.blocked:
            return np.ascontiguousarray(w.transpose(2, 3, 1, 0)), b, group, 0
        k = self.k
        if c % k == 0 and m % k == 0:
            g, cp, mp = group, c, m
        elif group == 1:
            g, cp, mp = 1, self.cpad(c), self.cpad(m)
        elif group == c and cg == 1 and m == c:
            g = cp = mp = self.cpad(c)
        else:
            raise Unsupported(f"grouped conv (group={group}, {c} -> {m} channels) needs channel "
                              f"counts divisible by the block {k}")
        wp = pad_axis(w, 0, mp)
        if g == 1:
            wp = pad_axis(wp, 1, cp)
        iw = math.gcd(wp.shape[1], k)
        bb = None if b is None else pad_axis(b, 0, mp).reshape(mp // k, k)
        return pack_conv_weight(wp, iw, k), bb, g, iw


# ---- rules ----------------------------------------------------------------------------------

def _channels(v):
    return v.shape[1] if v.type.rank == 4 else None


def _check_padding(cv, node, c, finite: bool):
    if cv.target.padded(c) and not finite:
        raise Unsupported(f"{node.op} could make the padded lanes of a {c}-channel tensor "
                          f"non-finite (channels not divisible by {cv.target.k})")


def conv(node, cv):
    x, w = node.inputs[0], node.inputs[1]
    b = node.inputs[2] if len(node.inputs) > 2 else None
    if x.type.rank != 4:
        raise Unsupported(f"{x.type.rank - 2}-D convolution (only 2-D convolutions change layout)")
    c = x.shape[1]
    if not isinstance(c, int):
        raise Unsupported(f"symbolic channel dim {c}")
    if x.dtype not in FLOAT_DTYPES:
        raise Unsupported(f"dtype {x.dtype}")
    if not w.is_constant or (b is not None and not b.is_constant):
        raise Unsupported("weights are not constant" if not w.is_constant
                          else "bias is not constant")
    group = int(node.attrs.get("group", 1))
    wd, bd, g, iw = cv.target.conv_params(w.data, None if b is None else b.data, c, group)
    xb = cv.to_target(x)
    wc = cv.const(wd, f"{w.name}_{cv.target.weight_tag(iw)}", (id(w), "w", c, group))
    if b is None or bd is b.data:        # (an NHWC bias keeps its layout)
        bc = b
    else:
        bc = cv.const(bd, f"{b.name}_{cv.target.tag}", (id(b), "b"))
    attrs = dict(node.attrs)
    if g != 1 or "group" in attrs:
        attrs["group"] = g
    return cv.emit(node, conv_op_for(cv.target.name), [xb, wc] + ([bc] if bc is not None else []),
                   attrs)


def pool(node, cv):
    if len(node.outputs) != 1:
        raise Unsupported("its Indices output is defined on NCHW")
    return cv.emit(node, pool_op_for(node.op, cv.target.name), [cv.get(node.inputs[0])],
                   dict(node.attrs))


def unary(node, cv):
    x = node.inputs[0]
    _check_padding(cv, node, _channels(x), node.op in FINITE_UNARY)
    return cv.emit(node, node.op, [cv.get(x)], dict(node.attrs))


def clip(node, cv):
    x = node.inputs[0]
    for v in node.inputs[1:]:
        if v is not None and not all(d == 1 for d in v.shape):
            raise Unsupported("non-scalar bounds")
    return cv.emit(node, "Clip", [cv.get(x)] + list(node.inputs[1:]), dict(node.attrs))


def broadcast(node, cv):
    out = node.output
    if out.type.rank != 4 or not isinstance(out.shape[1], int):
        raise Unsupported(f"its result {out.type} is not a 4-D tensor with static channels")
    c = out.shape[1]
    plan = []                        # (kind, value or data) per operand, built before any edit
    for i, v in enumerate(node.inputs):
        if cv.get(v) is not None and v.type.rank == 4 and v.shape[1] == c:
            plan.append(("target", v))
        elif v.is_constant:
            data = cv.target.relayout_const(v.data, c, BROADCAST[node.op])
            plan.append(("keep", v) if data is None else ("const", data))
        elif v.type.rank <= 4 and all(d == 1 for d in v.shape):
            plan.append(("keep", v))
        elif v.type.rank == 4 and v.shape[1] == c and isinstance(c, int):
            plan.append(("convert", v))
        else:
            raise Unsupported(f"operand %{v.name}: {v.type} does not broadcast per channel")
    if not any(kind == "target" for kind, _ in plan):
        raise Unsupported("no operand has the full channel count")
    finite = node.op in FINITE_BROADCAST or (
        node.op == "Div" and plan[1][0] in ("keep", "const"))
    _check_padding(cv, node, c, finite)
    ins = []
    for (kind, v), orig in zip(plan, node.inputs):
        if kind == "const":
            ins.append(cv.const(v, f"{orig.name}_{cv.target.tag}", (id(orig), node.op)))
        elif kind == "keep":
            ins.append(v)
        else:
            ins.append(cv.to_target(v))
    return cv.emit(node, node.op, ins, dict(node.attrs))


def batchnorm(node, cv):
    if len(node.outputs) != 1 or int(node.attrs.get("training_mode", 0)):
        raise Unsupported("training mode")
    x = node.inputs[0]
    params = node.inputs[1:]
    if not all(p.is_constant for p in params):
        raise Unsupported("its statistics are not constant")
    scale, bias, mean, var = (p.data.astype(np.float64) for p in params)
    s = scale / np.sqrt(var + float(node.attrs.get("epsilon", 1e-5)))
    t = bias - mean * s
    c, dt = x.shape[1], x.dtype.np_dtype
    key = tuple(id(p) for p in params) + (float(node.attrs.get("epsilon", 1e-5)),)
    sc = cv.const(cv.target.relayout_const(s.astype(dt).reshape(1, c, 1, 1), c, 0),
                  f"{params[0].name}_{cv.target.tag}", ("bn-scale",) + key)
    tc = cv.const(cv.target.relayout_const(t.astype(dt).reshape(1, c, 1, 1), c, 0),
                  f"{params[1].name}_{cv.target.tag}", ("bn-shift",) + key)
    (y,) = cv.emit(node, "Mul", [cv.get(x), sc], {}, hint_suffix="_scaled")
    return cv.emit(node, "Add", [y, tc], {})


def concat(node, cv):
    xs = node.inputs
    if any(cv.get(v) is None for v in xs) or any(v.type.rank != 4 for v in xs):
        raise Unsupported("not all of its operands are 4-D tensors in the target layout")
    axis = int(node.attrs["axis"]) % 4
    if axis == 1 and any(cv.target.padded(v.shape[1]) or not isinstance(v.shape[1], int)
                         for v in xs):
        raise Unsupported(f"channel counts not divisible by the block {cv.target.k}")
    if axis == 0:
        new_axis = 0
    else:
        new_axis = axis if cv.target.blocked else {1: 3, 2: 1, 3: 2}[axis]
    return cv.emit(node, "Concat", [cv.get(v) for v in xs], dict(node.attrs, axis=new_axis))


RULES = {"Conv": conv, "Clip": clip, "BatchNormalization": batchnorm, "Concat": concat,
         "Identity": unary}
RULES.update({op: pool for op in POOL_OPS})
RULES.update({op: broadcast for op in BROADCAST})


def rule_for(node):
    """The rule for `node`, or None when its op needs the NCHW layout."""
    rule = RULES.get(node.op)
    if rule is None:
        opdef = OPS.get(node.op)
        if opdef is not None and opdef.kind == OpKind.ELEMWISE and opdef.max_inputs == 1:
            rule = unary
    return rule
