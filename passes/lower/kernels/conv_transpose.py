"""Kernel rule of ConvTranspose (any spatial rank, strides, dilations, pads, output_padding,
output_shape, auto_pad, groups, bias) as a gather: every output element is accumulated in
registers from the input pixels that reach it and stored once through the output's store (so a
fused epilogue applies). No scatter, no accumulation in memory.

Input pixel i and tap j reach output o = i*s + j*d - pad_begin along an axis. Along the last
axis the outputs are taken by residue rho = o mod s: for o = q*s + rho, tap j contributes
exactly when (rho + pad - j*d) is a multiple of s, from input q + delta with delta = (rho + pad -
j*d) / s, the same for every q. So a vector of consecutive q reads each contributing tap's
input as ONE contiguous vector load. The input is first copied (in the compute dtype) into
scratch with zero columns on both sides of the last axis, wide enough that those loads never
need a guard: the zeros stand for taps that fall outside the input. The other spatial axes are
loops with a guard per tap (divisibility and range of the input row). Results are stored with
stride s (whole vectors; the last partial vector lane by lane).

Output channels are blocked by MB: each input vector feeds MB accumulators (one fma each, with a
broadcast weight); weights are packed [group, block, taps..., c, MB] (zero past the channel
count), at compile time when constant, else by a copy at the start of the kernel.

f16 tensors are computed in f32 (as the reference)."""
from __future__ import annotations

from contextlib import ExitStack

import numpy as np

from compiler.ir import dtypes as D
from compiler.loop import Broadcast, Ramp, as_expr, call, cast, select
from compiler.ops.conv import _convt_geometry
from compiler.ops.registry import get_op, make_call

from ..nest import compute_nest
from ..registry import kernel
from ..tensor import BufferRef, ComputeRef
from .scan import open_loops

MB = 4            # output channels per register block
VMAX = 2          # vectors of outputs per register block (MB * VMAX accumulators)


def _geometry(kc) -> dict:
    node = kc.node
    types = [None if v is None else v.type for v in node.inputs]
    call_ = make_call(get_op("ConvTranspose"), node.name, node.attrs, types,
                      [kc.const(i) for i in range(len(node.inputs))], 1)
    g = _convt_geometry(call_, kc.inputs[0].shape, kc.inputs[1].shape)
    g["pad"] = [p[0] for p in g["pads"]]
    return g


def _vector_width(lanes: int, qmax: int) -> int:
    vl = lanes
    while vl > 4 and vl // 2 >= qmax:
        vl //= 2
    return vl


def _deltas(g, residues: int, span: int):
    """(lowest, highest) input position the vector loads of q in [0, span] read over every
    residue and contributing tap of the last axis."""
    S, D_, K, P = g["strides"][-1], g["dilations"][-1], g["kernel"][-1], g["pad"][-1]
    lo, hi = 0, 0
    for rho in range(residues):
        for j in range(K):
            v = rho + P - j * D_
            if v % S == 0:
                lo, hi = min(lo, v // S), max(hi, span + v // S)
    return lo, hi


def _pack_weights(kc, w, G, cg, mg, taps, work):
    """Buffer [G, NB, *taps, cg, MB] of the weights, zero past mg."""
    nb = -(-mg // MB)
    shape = (G, nb, *taps, cg, MB)
    given = kc.const(1)
    if given is not None:
        a = np.asarray(given).astype(work.np_dtype).reshape(G, cg, mg, *taps)
        pad = np.zeros((G, cg, nb * MB, *taps), work.np_dtype)
        pad[:, :, :mg] = a
        pad = pad.reshape(G, cg, nb, MB, *taps)
        r = len(taps)
        perm = (0, 2) + tuple(range(4, 4 + r)) + (1, 3)
        return kc.add_const("convt_w", np.ascontiguousarray(pad.transpose(perm)))
    buf = kc.scratch("convt_w", work, shape)

    def elem(idx):
        gi, bk, *jj, c, mm = idx
        m = bk * MB + mm
        v = w.load_clamped((gi * cg + c, m, *jj))
        v = v if v.dtype is work else cast(work, v)
        return select(m.lt(mg), v, as_expr(0.0, work)) if mg % MB else v
    kc.b.emit(compute_nest(buf, ComputeRef(shape, work, elem), kc.target, kc.fresh("convt_pack")))
    return buf


def _pad_input(kc, x, work, left: int, right: int):
    """x with `left` / `right` zero columns around its last axis, in the compute dtype."""
    if left == 0 and right == 0 and x.buffer is not None and x.dtype is work:
        return x
    Lw = x.shape[-1]
    shape = x.shape[:-1] + (left + Lw + right,)
    buf = kc.scratch("convt_x", work, shape)

    def elem(idx):
        i = idx[-1] - left if left else idx[-1]
        v = x.load_clamped(tuple(idx[:-1]) + (i,))
        v = v if v.dtype is work else cast(work, v)
        if left == 0 and right == 0:
            return v
        return select(i.ge(0).logical_and(i.lt(Lw)), v, as_expr(0.0, work))
    kc.b.emit(compute_nest(buf, ComputeRef(shape, work, elem), kc.target, kc.fresh("convt_pad")))
    return BufferRef(buf)


@kernel("ConvTranspose")
def conv_transpose(kc):
    x, w = kc.inputs[0], kc.inputs[1]
    bias = kc.inputs[2] if len(kc.inputs) > 2 else None
    out = kc.outputs[0]
    g = _geometry(kc)
    if any(d == 0 for d in out.shape):
        return
    work = D.f32 if out.dtype is D.f16 else out.dtype
    N, C = x.shape[0], x.shape[1]
    G = g["group"]
    cg, mg = C // G, w.shape[1]
    L, O, K = x.shape[2:], out.shape[2:], g["kernel"]
    S, P, Dl = g["strides"], g["pad"], g["dilations"]
    # outputs per residue (residues >= O[-1] have none)
    q_counts = [-(-(O[-1] - rho) // S[-1]) for rho in range(min(S[-1], O[-1]))]
    vl = _vector_width(kc.lanes(work), max(q_counts))
    nv = min(VMAX, -(-max(q_counts) // vl))
    width = nv * vl                                        # outputs per register block
    nchunks = -(-max(q_counts) // width)
    lo, hi = _deltas(g, len(q_counts), nchunks * width - 1)
    left, right = max(0, -lo), max(0, hi - (L[-1] - 1))
    xs = _pad_input(kc, x, work, left, right)
    wp = _pack_weights(kc, w, G, cg, mg, K, work)
    nb = -(-mg // MB)
    b = kc.b
    full_only = all(q == nchunks * width for q in q_counts)   # only whole vectors

    with ExitStack() as stack:
        n, gb, *oo, rho, qc = open_loops(kc, stack, [N, G * nb, *O[:-1], len(q_counts), nchunks],
                                         int(np.prod(out.shape)))
        grp = b.let(kc.fresh("g"), gb // nb) if nb > 1 else gb
        bk = b.let(kc.fresh("bk"), gb % nb) if nb > 1 else as_expr(0)
        q0 = b.let(kc.fresh("q0"), qc * width)
        zero = Broadcast(as_expr(0.0, work), vl)
        at = Ramp(as_expr(0), 1, vl)
        nacc = MB if nb > 1 else mg          # one block: only the channels that exist
        accs = [[b.alloc(kc.fresh("acc"), work, (vl,)) for _ in range(nv)] for _ in range(nacc)]
        for row in accs:
            for a in row:
                b.store(a, (at,), zero)
        with ExitStack() as taps:
            ih, jo = [], []
            for ax in range(len(O) - 1):             # outer spatial axes: guarded tap loops
                j = taps.enter_context(b.for_(kc.fresh(f"j{ax}"), K[ax]))
                v = b.let(kc.fresh("v"), oo[ax] + P[ax] - j * Dl[ax])
                i = b.let(kc.fresh("i"), v // S[ax]) if S[ax] > 1 else v
                ok = i.ge(0).logical_and(i.lt(L[ax]))
                if S[ax] > 1:
                    ok = (v - i * S[ax]).eq(0).logical_and(ok)
                taps.enter_context(b.if_(ok))
                ih.append(i)
                jo.append(j)
            jw = taps.enter_context(b.for_(kc.fresh("jw"), K[-1]))
            v = b.let(kc.fresh("vw"), rho + P[-1] - jw * Dl[-1])
            if S[-1] > 1:
                delta = b.let(kc.fresh("dw"), v // S[-1])
                taps.enter_context(b.if_((v - delta * S[-1]).eq(0)))
            else:
                delta = v
            c = taps.enter_context(b.for_(kc.fresh("c"), cg))
            ci = b.let(kc.fresh("ci"), grp * cg + c) if G > 1 else c
            base = b.let(kc.fresh("xq"), q0 + delta + left)
            xv = [b.let(kc.fresh("xv"), xs[(n, ci, *ih, Ramp(base + u * vl, 1, vl))])
                  for u in range(nv)]
            for m, row in enumerate(accs):
                wv = b.let(kc.fresh("wv"), Broadcast(wp[(grp, bk, *jo, jw, c, as_expr(m))], vl))
                for u, a in enumerate(row):
                    b.store(a, (at,), call("fma", xv[u], wv, a[(at,)]))
        _store(kc, out, bias, accs, work, (n, grp, bk, oo, rho, q0), mg, S[-1], vl, full_only,
               q_counts)


def _store(kc, out, bias, accs, work, at, mg, s, vl, full_only, q_counts):
    """Each channel's vectors of outputs o = (q0 + t)*s + rho plus the bias; the lanes of a
    partial vector one by one (nothing past the row is stored)."""
    n, grp, bk, oo, rho, q0 = at
    b = kc.b
    if full_only:
        nvalid = None
    elif len(set(q_counts)) == 1:
        nvalid = b.let(kc.fresh("nv"), q_counts[0] - q0)
    else:
        nvalid = b.let(kc.fresh("nv"), (out.shape[-1] - rho + (s - 1)) // s - q0)
    for m, row in enumerate(accs):
        with ExitStack() as stack:
            mm = bk * MB + m
            if mg % MB and mg > MB:              # the last block is partial
                stack.enter_context(b.if_(mm.lt(mg)))
            oc = b.let(kc.fresh("oc"), grp * mg + mm)
            bv = None
            if bias is not None:
                bv = bias[(oc,)]
                bv = b.let(kc.fresh("bias"), bv if bv.dtype is work else cast(work, bv))

            def put(o, v):
                if bv is not None:
                    v = v + (Broadcast(bv, v.lanes) if v.lanes > 1 else bv)
                if v.dtype is not out.dtype:
                    v = cast(out.dtype, v)
                b.emit(out.store((n, oc, *oo, o), v))

            for u, a in enumerate(row):
                q = q0 + u * vl if u else q0

                def whole(q=q, a=a):
                    put(Ramp(q * s + rho if s > 1 else q, s, vl), a[(Ramp(as_expr(0), 1, vl),)])

                if nvalid is None:
                    whole()
                    continue
                left = nvalid - u * vl if u else nvalid
                with b.if_(left.ge(vl)):
                    whole()
                with b.else_():
                    with b.for_(kc.fresh("t"), vl) as t:
                        with b.if_(t.lt(left)):
                            put((q + t) * s + rho if s > 1 else q + t, a[(t,)])
