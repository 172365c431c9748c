"""Compute rules of the pure data-movement ops: Reshape, Flatten, Squeeze, Unsqueeze, Transpose,
Expand, Tile, Split, DepthToSpace, SpaceToDepth and LayoutTransform. Every output element is one
load of the input at an index map; the maps stay affine wherever the op allows it (reshapes are
split into groups of dims with equal products, so only a group that really merges or splits dims
pays for a division)."""
from __future__ import annotations

from compiler.loop import Broadcast, as_expr, min_, select
from compiler.ops.layout import parse_layout

from ..registry import compute
from ..tensor import broadcast_index, delinearize
from ._helpers import lit


def keep_lanes(value, idx):
    """value as a vector when idx has one (an index map that drops the Ramp, e.g. a broadcast
    dim, still owes the consumer as many lanes as it asked for)."""
    n = max((i.lanes for i in idx), default=1)
    return Broadcast(value, n) if value.lanes < n else value


def norm_axis(cc, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise cc.error(f"axis {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


# ---- Reshape / Flatten / Squeeze / Unsqueeze ----------------------------------------------------
def reshape_groups(out_shape, in_shape) -> list:
    """[(output axes, input axes)] pairing the non-1 dims of both shapes into runs with equal
    products (row-major order), e.g. [6, 4] vs [2, 3, 4] -> [([0], [0, 1]), ([1], [2])]."""
    outs = [k for k, d in enumerate(out_shape) if d != 1]
    ins = [k for k, d in enumerate(in_shape) if d != 1]
    groups, i, j = [], 0, 0
    while i < len(outs) and j < len(ins):
        go, gi = [outs[i]], [ins[j]]
        po, pi = out_shape[outs[i]], in_shape[ins[j]]
        i, j = i + 1, j + 1
        while po != pi:
            if po < pi:
                go.append(outs[i])
                po *= out_shape[outs[i]]
                i += 1
            else:
                gi.append(ins[j])
                pi *= in_shape[ins[j]]
                j += 1
        groups.append((go, gi))
    return groups


def reshape_index(idx: tuple, out_shape: tuple, in_shape: tuple) -> tuple:
    """The input index of output element idx when out_shape is a row-major view of in_shape."""
    if 0 in in_shape:                          # no elements: any in-range index will do
        return tuple(as_expr(0) for _ in in_shape)
    res = [as_expr(0)] * len(in_shape)
    for go, gi in reshape_groups(out_shape, in_shape):
        if len(go) == 1 and len(gi) == 1:
            res[gi[0]] = idx[go[0]]
            continue
        lin = idx[go[0]]                       # row-major position inside the group
        for k in go[1:]:
            lin = lin * out_shape[k] + idx[k]
        for k, e in zip(gi, delinearize(lin, tuple(in_shape[k] for k in gi))):
            res[k] = e
    return tuple(res)


@compute("Reshape", "Flatten", "Squeeze", "Unsqueeze")
def reshape(cc, idx):
    x = cc.inputs[0]
    return keep_lanes(x[reshape_index(tuple(idx), cc.out.shape, x.shape)], idx)


# ---- Transpose / Expand / Tile ------------------------------------------------------------------
@compute("Transpose")
def transpose(cc, idx):
    x = cc.inputs[0]
    perm = cc.attr("perm")
    perm = list(range(x.rank))[::-1] if perm is None else [int(p) for p in perm]
    src = [None] * x.rank
    for k, p in enumerate(perm):
        src[p] = idx[k]
    return x[tuple(src)]


@compute("Expand")
def expand(cc, idx):
    x = cc.inputs[0]
    return keep_lanes(x[broadcast_index(tuple(idx), x.shape)], idx)


@compute("Tile")
def tile(cc, idx):
    x = cc.inputs[0]
    return keep_lanes(x[tuple(i if o == d else (as_expr(0) if d == 1 else i % d)
                              for i, d, o in zip(idx, x.shape, cc.out.shape))], idx)


# ---- Split --------------------------------------------------------------------------------------
@compute("Split")
def split(cc, idx):
    x = cc.inputs[0]
    axis = norm_axis(cc, cc.attr("axis", 0), x.rank)
    start = sum(v.shape[axis] for v in cc.node.outputs[:cc.output_index])
    src = list(idx)
    src[axis] = src[axis] + start if start else src[axis]
    return x[tuple(src)]


# ---- DepthToSpace / SpaceToDepth ----------------------------------------------------------------
@compute("DepthToSpace")
def depth_to_space(cc, idx):
    x = cc.inputs[0]
    b = int(cc.attr("blocksize"))
    n, c, hh, ww = idx
    cq = cc.out.shape[1]                               # C / (b * b)
    h, bh, w, bw = hh // b, hh % b, ww // b, ww % b
    if cc.attr("mode", "DCR") == "DCR":                # channel = (bh * b + bw) * C' + c
        ch = (bh * b + bw) * cq + c
    else:                                              # CRD: channel = c * b * b + bh * b + bw
        ch = c * (b * b) + bh * b + bw
    return x[n, ch, h, w]


@compute("SpaceToDepth")
def space_to_depth(cc, idx):
    x = cc.inputs[0]
    b = int(cc.attr("blocksize"))
    n, ch, h, w = idx
    c_in = x.shape[1]                                  # channel = (bh * b + bw) * C + c
    c, blk = ch % c_in, ch // c_in
    return x[n, c, h * b + blk // b, w * b + blk % b]


# ---- LayoutTransform ----------------------------------------------------------------------------
def _logical_nchw(kind: str, k: int, idx: tuple) -> tuple:
    """(n, c, h, w) of element idx of a tensor in layout (kind, block k)."""
    if kind == "NCHW":
        return tuple(idx)
    if kind == "NHWC":
        n, h, w, c = idx
        return n, c, h, w
    n, cb, h, w, lane = idx
    return n, cb * k + lane, h, w


def _layout_index(kind: str, k: int, n, c, h, w) -> tuple:
    if kind == "NCHW":
        return n, c, h, w
    if kind == "NHWC":
        return n, h, w, c
    return n, c // k, h, w, c % k


@compute("LayoutTransform")
def layout_transform(cc, idx):
    x = cc.inputs[0]
    try:
        (sk, sb), (dk, db) = (parse_layout(cc.attr(a)) for a in ("src_layout", "dst_layout"))
    except ValueError as e:
        raise cc.error(str(e)) from None
    given = cc.attr("channels")
    if given is not None:
        channels = int(given)
    elif sk == "NCHWc":
        channels = x.shape[1] * sb
    else:
        channels = x.shape[1] if sk == "NCHW" else x.shape[3]
    n, c, h, w = _logical_nchw(dk, db, tuple(idx))
    dst_channels = cc.out.shape[1] * db if dk == "NCHWc" else channels
    if dst_channels <= channels:
        return x[_layout_index(sk, sb, n, c, h, w)]
    # blocking pads the channel axis with zero lanes: clamp the (unused) load into range
    val = x[_layout_index(sk, sb, n, min_(c, channels - 1), h, w)]
    return select(c.lt(channels), val, lit(0, val))
