"""Layout identities: Transpose chains and identity perms, Reshape chains and no-op Reshape /
Expand, Squeeze(Unsqueeze) round trips, full Slices, one-input Concat and zero Pad.

"Same shape" is decided by the op's own shape rule (re-run on the node), never by a declared
type alone, and never when a dim is unknown (`?`): two unknown dims may differ."""
from __future__ import annotations

import numpy as np

from compiler.rewrite import P, Rule

from ._common import const_ints, has_unknown, inferred_type, keep_if_same_type, norm_axes


def _perm(node, rank: int) -> list:
    perm = node.attrs.get("perm")
    return list(range(rank))[::-1] if perm is None else [int(p) for p in perm]


def _is_identity(perm) -> bool:
    return list(perm) == list(range(len(perm)))


def _transpose_identity(g, m):
    x = m["x"]
    return keep_if_same_type(m, x) if _is_identity(_perm(m.root, x.type.rank)) else None


def _transpose_transpose(g, m):
    x = m["x"]
    p1, p2 = _perm(m["inner"], x.type.rank), _perm(m.root, x.type.rank)
    composed = [p1[j] for j in p2]
    if _is_identity(composed):
        return keep_if_same_type(m, x)
    return keep_if_same_type(m, g.op("Transpose", x, perm=composed))


def _same_shape_as_input(g, m):
    """Reshape/Expand/Slice/Pad whose (re-inferred) result type is exactly x's: a no-op."""
    x, t = m["x"], inferred_type(m.root)
    if t is None or t != x.type or has_unknown(t):
        return None
    return keep_if_same_type(m, x)


def _reshape_reshape(g, m):
    x, inner, outer = m["x"], m["inner"], m.root
    shape = const_ints(m["shape"])
    if shape is None:
        return None
    if outer.attrs.get("allowzero", 0) != 0 or 0 not in shape:
        return keep_if_same_type(m, g.op("Reshape", x, m["shape"], **outer.attrs))
    # 0 copies the dim of the *intermediate* value: substitute it, when it is static and not
    # itself 0 (a literal 0 would then mean "copy x's dim")
    mid = inner.output.shape
    for i, d in enumerate(shape):
        if d == 0:
            if i >= len(mid) or not isinstance(mid[i], int) or mid[i] == 0:
                return None
            shape[i] = mid[i]
    const = g.add_constant(np.asarray(shape, dtype=m.array("shape").dtype), "shape")
    return keep_if_same_type(m, g.op("Reshape", x, const, **outer.attrs))


def _squeeze_unsqueeze(g, m):
    """Squeeze(Unsqueeze(x, a), a) -> x: the same axes (in the unsqueezed rank) come and go."""
    x = m["x"]
    a1, a2 = const_ints(m["a1"]), const_ints(m["a2"])
    if a1 is None or a2 is None:
        return None
    rank = x.type.rank + len(a1)
    n1, n2 = norm_axes(a1, rank), norm_axes(a2, rank)
    if n1 is None or n2 is None or sorted(n1) != sorted(n2):
        return None
    return keep_if_same_type(m, x)


def _unsqueeze_squeeze(g, m):
    """Unsqueeze(Squeeze(x, a), a) -> x: size-1 dims removed and put back where they were."""
    x = m["x"]
    a1, a2 = const_ints(m["a1"]), const_ints(m["a2"])
    if a1 is None or a2 is None:
        return None
    n1, n2 = norm_axes(a1, x.type.rank), norm_axes(a2, x.type.rank)
    if n1 is None or n2 is None or sorted(n1) != sorted(n2):
        return None
    return keep_if_same_type(m, x)


def _slice_all(g, m):
    steps = m.get("steps")
    if steps is not None and (const_ints(steps) is None or any(s != 1 for s in const_ints(steps))):
        return None       # a full-length step -1 slice reverses the axis
    return _same_shape_as_input(g, m)


def _pad_zero(g, m):
    pads = const_ints(m["pads"])
    if pads is None or any(p != 0 for p in pads):
        return None
    return keep_if_same_type(m, m["x"])


def _concat_one(g, m):
    return keep_if_same_type(m, m["x"])


_V = P.var
RULES = [
    Rule("transpose-identity", P("Transpose", _V("x")), _transpose_identity),
    Rule("transpose-transpose", P("Transpose", P("Transpose", _V("x"), name="inner")),
         _transpose_transpose),
    Rule("reshape-same", P("Reshape", _V("x"), _V("shape")), _same_shape_as_input),
    Rule("reshape-reshape", P("Reshape", P("Reshape", _V("x"), _V("s1"), name="inner"),
                              P.const("shape")), _reshape_reshape),
    Rule("expand-same", P("Expand", _V("x"), _V("shape")), _same_shape_as_input),
    Rule("squeeze-unsqueeze", P("Squeeze", P("Unsqueeze", _V("x"), P.const("a1")),
                                P.const("a2")), _squeeze_unsqueeze),
    Rule("unsqueeze-squeeze", P("Unsqueeze", P("Squeeze", _V("x"), P.const("a1")),
                                P.const("a2")), _unsqueeze_squeeze),
    Rule("slice-all", P("Slice", _V("x"), _V("starts"), _V("ends")), _slice_all),
    Rule("slice-all", P("Slice", _V("x"), _V("starts"), _V("ends"), _V("axes")), _slice_all),
    Rule("slice-all", P("Slice", _V("x"), _V("starts"), _V("ends"), _V("axes"), _V("steps")),
         _slice_all),
    Rule("concat-one", P("Concat", _V("x")), _concat_one),
    Rule("pad-zero", P("Pad", _V("x"), P.const("pads")), _pad_zero),
    Rule("pad-zero", P("Pad", _V("x"), P.const("pads"), _V("value")), _pad_zero),
    Rule("pad-zero", P("Pad", _V("x"), P.const("pads"), _V("value"), _V("axes")), _pad_zero),
]

DOCS = {
    "transpose-identity": ("x", "perm is 0..r-1 (also a rank-0/1 Transpose without perm)"),
    "transpose-transpose": ("Transpose(x, perm=p1[p2]), or x if that is the identity", ""),
    "reshape-same": ("x", "the shape rule gives x's exact type (no unknown dims)"),
    "reshape-reshape": ("Reshape(x, s2)",
                        "s2 constant; its 0 entries (copy the intermediate's dim) are "
                        "replaced by that static dim, else the rule declines"),
    "expand-same": ("x", "the shape rule gives x's exact type"),
    "squeeze-unsqueeze": ("x", "the same axes, normalised in the unsqueezed rank"),
    "unsqueeze-squeeze": ("x", "the same axes, normalised in x's rank"),
    "slice-all": ("x", "steps 1 and the shape rule keeps every dim (static, or a symbolic dim "
                       "sliced 0..INT_MAX); a Slice with an absent axes but given steps is not "
                       "matched"),
    "concat-one": ("x", ""),
    "pad-zero": ("x", "all pads 0, any mode"),
}
