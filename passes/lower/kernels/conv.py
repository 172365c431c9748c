"""Conv (1-D and 2-D, f32 with constant weights) as an implicit GEMM on the micro-kernel of
gemm_microkernel.py; other ranks, dtypes or run-time weights use a direct loop nest.

Per group: C[oc, pixel] = sum_{ic, kh, kw} W[oc, ic, kh, kw] * X[ic, pixel shifted by the tap].
The weights are packed at compile time into MR-row panels (the broadcast operand). The input of
one image is copied once into zero-padded *phase planes* (scratch): plane (ph, pw) holds padded
rows ph, ph+s, ... and columns pw, pw+s, ..., flattened with row length Wq. In those planes the
input vector of tap (kh, kw) for output pixels q = oh*Wq + ow .. +NR-1 is ONE contiguous load at
q + (kh*d // s)*Wq + (kw*d // s) of phase (kh*d % s, kw*d % s), for every stride, dilation and
padding: the im2col panel never has to be materialised. Lanes whose ow >= OW (the row's padding
columns) are computed and dropped: the tile's store splits its lanes into runs of valid pixels,
known statically, so each output element is stored exactly once through the output's
epilogue-applying store. Depthwise convs are the same nest with one row per group (a vectorized
direct conv: four accumulator vectors of pixels, taps unrolled); other group counts loop over
groups."""
from __future__ import annotations

from contextlib import ExitStack

import numpy as np

from compiler.ir import dtypes as D
from compiler.loop import Broadcast, Ramp, as_expr, cast, const
from compiler.ops import OPS
from compiler.ops.conv import _conv_geometry

from ..registry import kernel
from .conv_plan import ConvPlan, panel_layouts
from .gemm_microkernel import Names, emit_tile, lane_slice, target_threads

GROUP_PLANES_MAX_BYTES = 256 * 1024     # a group's phase planes copied per thread (stack)


class _Call:
    """What compiler.ops.conv's geometry helper reads: attrs with defaults, and error()."""

    def __init__(self, kc):
        self.attrs = {k: s.default for k, s in OPS["Conv"].attrs.items()}
        self.attrs.update(kc.attrs)
        self.error = kc.error


@kernel("Conv")
def conv(kc):
    x, w = kc.inputs[0], kc.inputs[1]
    bias = kc.inputs[2] if len(kc.inputs) > 2 else None
    out = kc.outputs[0]
    geo = _conv_geometry(_Call(kc), x.shape, w.shape)
    if out.dtype is D.f32 and geo["n"] in (1, 2) and kc.const(1) is not None and out.shape[0] \
            and all(out.shape):
        emit_conv_f32(kc, ConvPlan.make(geo, x.shape, w.shape, kc.lanes("f32"),
                                        target_threads(kc.target)),
                      x, np.asarray(kc.const(1), np.float32), bias)
    else:
        emit_conv_direct(kc, geo, x, w, bias)


# ---- the implicit GEMM -----------------------------------------------------------------------
def emit_conv_f32(kc, P: ConvPlan, x, weights, bias) -> None:
    b = kc.b
    names = Names(kc.fresh)
    wp = kc.add_const("wpanels", P.pack_weights(weights))
    # grouped convs (depthwise) copy one group's planes at a time into a buffer local to the
    # thread, so the copy stays in cache instead of streaming the whole input out and back
    per_group = P.G > 1 and (P.threads == 1 or P.G >= 2 * P.threads) and \
        P.ICg * len(P.phases) * P.plane_len * 4 <= GROUP_PLANES_MAX_BYTES
    planes = None if per_group else kc.scratch("planes", "f32",
                                               (P.C, len(P.phases), P.plane_len))
    out = kc.outputs[0]
    par = "parallel" if P.threads > 1 else "serial"

    # the K loop runs over (ic, kh), the kw taps unrolled; a row of taps' phase plane and
    # offset come from small tables unless the stride makes them linear in kh
    linear_rows = P.sh == 1
    if not linear_rows:
        tab_phase = kc.add_const("rowphase", np.array(P.row_phase, np.int64))
        tab_off = kc.add_const("rowoff", np.array(P.row_off, np.int64))

    def row_part(ko):
        if P.KH == 1:
            return ko, const(P.row_phase[0]), const(P.row_off[0])
        ic, kh = ko // P.KH, ko % P.KH
        if linear_rows:
            return ic, const(0), kh * (P.dh * P.Wq)
        return ic, tab_phase[kh], tab_off[kh]

    unit = _unit_emitter(kc, P, wp, out, bias, names, row_part)
    per_unit = P.row_groups * P.row_blocks
    with b.for_(names("n"), P.N) as n:
        if per_group:
            with b.for_(names("g"), P.G, kind=par) as g:
                local = b.alloc(names("planes"), "f32", (P.ICg, len(P.phases), P.plane_len))
                emit_phase_planes(b, P, x, n, local, names, "serial", first_c=g * P.ICg)
                with b.for_(names("u"), per_unit) as u:
                    unit(n, g, u, local, lambda ic: ic)
        else:
            emit_phase_planes(b, P, x, n, planes, names, par)
            units = P.G * per_unit
            with b.for_(names("u"), units, kind=par if units > 1 else "serial") as u:
                g = u // per_unit
                unit(n, g, u % per_unit, planes, lambda ic: g * P.ICg + ic)


def _unit_emitter(kc, P: ConvPlan, wp, out, bias, names, row_part):
    """unit(n, g, u, planes, plane_c): the output tiles of work unit u (a row group and row
    block) of group g, reading input channel ic of the group from planes[plane_c(ic)]."""
    b = kc.b
    L, mr, nr = P.tile.lanes, P.tile.mr, P.tile.nr

    def unit(n, g, u, planes, plane_c):
        rblk = u % P.row_blocks
        rg = (u // P.row_blocks) % P.row_groups
        oh0 = rg * P.R
        full_lays = panel_layouts(P, P.R)
        tail_lays = panel_layouts(P, P.tail_rows) if P.tail_rows else []
        n_full, n_tail = _count(full_lays), _count(tail_lays)

        def stores(tile_buf, ii, ip, pp, lays):
            """Row ii of the tile: the runs of panel pp of a group laid out as `lays` (an
            if chain over the panels)."""
            def run_stores(lay):
                oc = g * P.OCg + ip * mr + ii
                for v in range(P.tile.nv):
                    for lane0, width, r, ow0 in lay.runs.get(v, ()):
                        at = v * L + lane0
                        value = tile_buf[ii, Ramp(const(at), 1, width) if width > 1
                                         else const(at)]
                        if bias is not None:
                            bv = bias[(oc,)]
                            value = value + (Broadcast(bv, width) if width > 1 else bv)
                        ow = ow0 if width == 1 else Ramp(ow0, 1, width)
                        idx = (n, oc, oh0 + r, ow) if P.rank == 2 else (n, oc, ow)
                        b.emit(out.store(idx, value))

            def chain(k, first):
                if k == len(lays):
                    return
                lay = lays[k]
                if lay.repeat > 1:
                    cond = pp.lt(first + lay.repeat)
                    body = lambda: run_stores(lay.shifted((pp - first) * nr))  # noqa: E731
                else:
                    cond = pp.eq(first)
                    body = lambda: run_stores(lay)  # noqa: E731
                if k == len(lays) - 1:
                    body()
                    return
                with b.if_(cond):
                    body()
                with b.else_():
                    chain(k + 1, first + lay.repeat)
            chain(0, 0)

        def panels(ip, rows):
            def a_elem(ii, ko, t):
                return wp[g, ip, ko * P.KW + t, const(ii)]

            def finish(accs, pp):
                # the accumulators go to a local tile so the stores loop over its rows
                # (the store code is per panel layout, not per row)
                tile_buf = b.alloc(names("tile"), "f32", (rows, nr))
                for ii, row in enumerate(accs):
                    for v, acc in enumerate(row):
                        b.store(tile_buf, (const(ii), Ramp(const(v * L), 1, L)),
                                lane_slice(acc, 0, L, L))
                with b.for_(names("ii"), rows) as ii:
                    if tail_lays:
                        with b.if_(rg.lt(P.row_groups - 1)):
                            stores(tile_buf, ii, ip, pp, full_lays)
                        with b.else_():
                            stores(tile_buf, ii, ip, pp, tail_lays)
                    else:
                        stores(tile_buf, ii, ip, pp, full_lays)

            with b.for_(names("pp"), n_full) as pp:
                q0 = oh0 * P.Wq + pp * nr

                def b_vec(v, ko, t):
                    ic, row_phase, row_off = row_part(ko)
                    return planes[plane_c(ic), row_phase + P.col_phase[t],
                                  Ramp(q0 + row_off + (P.col_off[t] + v * L), 1, L)]

                def tile():
                    emit_tile(b, L, rows, P.tile.nv, P.ICg * P.KH, P.KW, a_elem, b_vec,
                              lambda accs: finish(accs, pp), names)
                if tail_lays and n_tail < n_full:
                    with b.if_(pp.lt(n_tail).logical_or(rg.lt(P.row_groups - 1))):
                        tile()
                else:
                    tile()

        full_tiles, tail_rows = P.OCg // mr, P.OCg % mr
        if full_tiles:
            per = -(-full_tiles // P.row_blocks)
            with b.for_(names("ip"), per) as ipl:
                ip = rblk * per + ipl if P.row_blocks > 1 else ipl
                if per * P.row_blocks > full_tiles:
                    with b.if_(ip.lt(full_tiles)):
                        panels(ip, mr)
                else:
                    panels(ip, mr)
        if tail_rows:
            if P.row_blocks > 1:
                with b.if_(rblk.eq(P.row_blocks - 1)):
                    panels(const(full_tiles), tail_rows)
            else:
                panels(const(full_tiles), tail_rows)
    return unit


def _count(layouts) -> int:
    return sum(lay.repeat for lay in layouts)


def emit_phase_planes(b, P: ConvPlan, x, n, planes, names, par: str, first_c=None) -> None:
    """planes[c, phase, i*Wq + j] = padded x[n, c] at row i*sh + ph, column j*sw + pw (zero in
    the padding); the slack past Hq*Wq is only read by dropped lanes. With `first_c`, only
    one group's channels: planes[c] is x[n, first_c + c] for c < ICg."""
    L = P.tile.lanes
    count = P.C if first_c is None else P.ICg
    with b.for_(names("c"), count, kind=par if count > 1 else "serial") as c:
        src = c if first_c is None else first_c + c
        for pi, (ph, pw) in enumerate(P.phases):
            i0, i1 = P.valid_range(P.Hq, P.sh, ph, P.pt, P.H)
            j0, j1 = P.valid_range(P.Wq, P.sw, pw, P.pl, P.W)

            def x_row(y, j, width, pw=pw):
                col = j * P.sw + (pw - P.pl)
                cols = Ramp(col, P.sw, width) if width > 1 else col
                return x[(n, src, y, cols)] if P.rank == 2 else x[(n, src, cols)]

            def put(i, j0_, width, value):
                at = i * P.Wq + j0_
                b.store(planes, (c, const(pi), Ramp(at, 1, width) if width > 1 else at), value)

            def zero_run(i, lo, hi):
                for j, width in _chunks(lo, hi, L):
                    put(i, j, width, Broadcast(const(0.0), width) if width > 1 else const(0.0))

            for lo, hi in ((0, i0), (i1, P.Hq)):
                if hi > lo:
                    with b.for_(names("zi"), hi - lo) as i:
                        zero_run(i + lo, 0, P.Wq)
            if i1 > i0:
                with b.for_(names("ci"), i1 - i0) as il:
                    i = il + i0
                    y = i * P.sh + (ph - P.pt)
                    zero_run(i, 0, j0)
                    zero_run(i, j1, P.Wq)
                    n_full = (j1 - j0) // L
                    if n_full:
                        with b.for_(names("cj"), n_full) as jv:
                            j = j0 + jv * L
                            put(i, j, L, x_row(y, j, L))
                    rest = (j1 - j0) % L
                    if rest:
                        j = j0 + n_full * L
                        put(i, j, rest, x_row(y, const(j), rest))


def _chunks(lo: int, hi: int, L: int):
    j = lo
    while j < hi:
        yield j, min(L, hi - j)
        j += L


# ---- the direct loop nest (any rank, dtype, run-time weights) ----------------------------------
def emit_conv_direct(kc, geo, x, w, bias) -> None:
    """out[n, oc, o...] = sum over ic and taps of in-range x * w (+ bias); f16 sums in f32."""
    b, out = kc.b, kc.outputs[0]
    names = Names(kc.fresh)
    G, OC, ICg = geo["group"], w.shape[0], w.shape[1]
    OCg = OC // G
    acc_dt = D.f32 if out.dtype is D.f16 else out.dtype
    widen = (lambda e: cast(acc_dt, e)) if acc_dt is not out.dtype else (lambda e: e)
    par = target_threads(kc.target) > 1
    zero = const(0)
    with ExitStack() as outer:
        n = outer.enter_context(b.for_(names("n"), out.shape[0]))
        oc = outer.enter_context(b.for_(names("oc"), OC, kind="parallel" if par else "serial"))
        os_ = [outer.enter_context(b.for_(names("o"), d)) for d in out.shape[2:]]
        acc = b.alloc(names("acc"), acc_dt, (1,))
        b.store(acc, (zero,), as_expr(0, acc_dt))
        with ExitStack() as inner:
            ic = inner.enter_context(b.for_(names("ic"), ICg))
            ks = [inner.enter_context(b.for_(names("kt"), k)) for k in geo["kernel"]]
            pos = [o * s - p[0] + k * d for o, s, p, k, d in
                   zip(os_, geo["strides"], geo["pads"], ks, geo["dilations"])]
            inside = None
            for p_, size in zip(pos, x.shape[2:]):
                c = p_.ge(0).logical_and(p_.lt(size))
                inside = c if inside is None else inside.logical_and(c)
            term = widen(x[(n, oc // OCg * ICg + ic, *pos)]) * widen(w[(oc, ic, *ks)])
            with b.if_(inside):
                b.store(acc, (zero,), acc[zero] + term)
        value = acc[zero]
        if bias is not None:
            value = value + widen(bias[(oc,)])
        b.emit(out.store((n, oc, *os_), cast(out.dtype, value) if acc_dt is not out.dtype
                         else value))
