"""The static plan of a Conv lowered as an implicit GEMM over phase planes (see conv.py):
geometry, the phase of each tap, the register tile, how output rows are grouped into panels,
and for every panel which accumulator lanes are which output pixels ("runs")."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .gemm_microkernel import PARALLEL_MIN_MACS, MicroTile, default_tile
from .packing import pack_row_panels

MAX_STATIC_PANELS = 8           # panels of one row group written out (code size bound)
L2_BYTES = 1 << 19              # input rows of one group (of all channels) kept below this


@dataclass
class PanelLayout:
    """One NR-wide panel of a row group: pixels q_base .. q_base+NR-1 (q = r*Wq + ow relative
    to the group's first row). runs[v] = [(lane0, width, r, ow0)]: lanes lane0.. of vector v are
    output row r, columns ow0..; `repeat` identical panels follow each other (long rows)."""
    q_base: int
    nvec: int
    runs: dict
    repeat: int = 1

    def shifted(self, delta):
        return PanelLayout(self.q_base, self.nvec,
                           {v: [(l0, w, r, ow0 + delta) for l0, w, r, ow0 in rs]
                            for v, rs in self.runs.items()})


@dataclass
class ConvPlan:
    rank: int
    N: int
    C: int
    H: int
    W: int
    OC: int
    OH: int
    OW: int
    KH: int
    KW: int
    sh: int
    sw: int
    dh: int
    dw: int
    pt: int
    pl: int
    G: int
    tile: MicroTile
    threads: int
    Hq: int = 0
    Wq: int = 0
    R: int = 1
    phases: list = field(default_factory=list)
    row_phase: list = field(default_factory=list)
    row_off: list = field(default_factory=list)
    col_phase: list = field(default_factory=list)
    col_off: list = field(default_factory=list)
    max_offset: int = 0
    plane_len: int = 0
    row_blocks: int = 1

    @property
    def KK(self) -> int:
        return self.KH * self.KW

    @property
    def ICg(self) -> int:
        return self.C // self.G

    @property
    def OCg(self) -> int:
        return self.OC // self.G

    @property
    def row_groups(self) -> int:
        return -(-self.OH // self.R)

    @property
    def tail_rows(self) -> int:
        return self.OH % self.R

    @staticmethod
    def make(geo: dict, x_shape, w_shape, lanes: int, threads: int) -> "ConvPlan":
        rank = geo["n"]
        one = lambda v, d: [d] + list(v) if rank == 1 else list(v)   # noqa: E731
        H, W = one(x_shape[2:], 1)
        KH, KW = one(geo["kernel"], 1)
        OH, OW = one(geo["out"], 1)
        sh, sw = one(geo["strides"], 1)
        dh, dw = one(geo["dilations"], 1)
        (pt, pb), (pl, pr) = one(geo["pads"], (0, 0))
        G = geo["group"]
        ocg = w_shape[0] // G
        tile = default_tile(lanes) if ocg >= 4 else MicroTile(lanes, ocg, 4)
        if w_shape[0] * OH * OW * (x_shape[1] // G) * KH * KW < PARALLEL_MIN_MACS:
            threads = 1
        P = ConvPlan(rank, x_shape[0], x_shape[1], H, W, w_shape[0], OH, OW, KH, KW, sh, sw,
                     dh, dw, pt, pl, G, tile, threads)
        P.Hq, P.Wq = -(-(H + pt + pb) // sh), -(-(W + pl + pr) // sw)
        # tap (kh, kw) reads phase plane (kh*dh % sh, kw*dw % sw) at a fixed offset; the
        # planes are the product of the row and column phases used, so a plane index and an
        # offset split into a row part (per kh) and a column part (per kw)
        phs = sorted({kh * dh % sh for kh in range(KH)})
        pws = sorted({kw * dw % sw for kw in range(KW)})
        P.phases = [(ph, pw) for ph in phs for pw in pws]
        P.row_phase = [phs.index(kh * dh % sh) * len(pws) for kh in range(KH)]
        P.row_off = [(kh * dh // sh) * P.Wq for kh in range(KH)]
        P.col_phase = [pws.index(kw * dw % sw) for kw in range(KW)]
        P.col_off = [kw * dw // sw for kw in range(KW)]
        P.max_offset = max(P.row_off) + max(P.col_off)
        P.R = P.choose_rows()
        P.plane_len = P.max_read() + 1
        groups = G * P.row_groups
        full_tiles = max(1, P.OCg // tile.mr)
        if threads > 1 and groups < 2 * threads:
            P.row_blocks = max(1, min(full_tiles, -(-2 * threads // groups)))
        return P

    def valid_range(self, extent: int, s: int, phase: int, pad: int, size: int):
        """[lo, hi): plane indices i whose source i*s + phase - pad is inside [0, size)."""
        ok = [i for i in range(extent) if 0 <= i * s + phase - pad < size]
        return (ok[0], ok[-1] + 1) if ok else (0, 0)

    def group_cost(self, rows: int) -> tuple:
        """(lanes computed, vectors per row tile) for a group of `rows` output rows."""
        vecs = sum(lay.repeat for lay in panel_layouts(self, rows)) * self.tile.nv
        return vecs * self.tile.lanes, vecs

    def choose_rows(self) -> int:
        """Rows per group. Cost: lanes computed, times (1 + 1 / vectors per group): one strip
        of weights (MR x K) is loaded per row tile and group, so a group with few pixel
        vectors reloads the weights often. The group's input rows must stay L2-sized."""
        best, best_cost = 1, None
        phases = len(self.phases)
        for R in range(1, self.OH + 1):
            static = (R - 1) * self.Wq + self.OW
            rows_in = (R - 1) + (self.KH - 1) * self.dh // self.sh + 1
            if R > 1 and (static > MAX_STATIC_PANELS * self.tile.nr or
                          self.C * phases * rows_in * self.Wq * 4 > L2_BYTES):
                break
            self.R = R
            lanes, vecs = self.group_cost(R)
            total = (self.OH // R) * lanes
            if self.OH % R:
                tail_lanes, tail_vecs = self.group_cost(self.OH % R)
                total += tail_lanes
            cost = total * (1.0 + 1.0 / max(vecs, 1)) * (1.02 if self.OH % R else 1.0)
            if best_cost is None or cost < best_cost:
                best, best_cost = R, cost
        self.R = best
        return best

    def max_read(self) -> int:
        hi = 0
        starts = [(max(self.OH // self.R - 1, 0) * self.R, self.R)]
        if self.tail_rows:
            starts.append(((self.row_groups - 1) * self.R, self.tail_rows))
        for oh0, rows in starts:
            # every panel computes all nv vectors (the dropped lanes read the slack)
            n_pan = sum(lay.repeat for lay in panel_layouts(self, self.R))
            hi = max(hi, oh0 * self.Wq + n_pan * self.tile.nr - 1 + self.max_offset)
        return max(hi, self.Hq * self.Wq - 1)

    def pack_weights(self, w: np.ndarray) -> np.ndarray:
        """[G, ceil(OCg/MR), ICg*KH*KW, MR]: k = ic*KK + kh*KW + kw."""
        wg = w.reshape(self.G, self.OCg, self.ICg * self.KK)
        return pack_row_panels(wg, self.tile.mr)


def panel_layouts(P: ConvPlan, rows: int) -> list:
    """The panels of a group of `rows` output rows: one repeated layout for the full panels of
    a long single row, else every panel written out."""
    L, nr = P.tile.lanes, P.tile.nr
    if rows == 1 and P.OW >= nr:
        reps = P.OW // nr
        out = [PanelLayout(0, P.tile.nv, {v: [(0, L, 0, v * L)] for v in range(P.tile.nv)},
                           reps)]
        if P.OW % nr:
            out.append(_static_panel(P, rows, reps * nr))
        return out
    span = (rows - 1) * P.Wq + P.OW
    return [_static_panel(P, rows, q0) for q0 in range(0, span, nr)]


def _static_panel(P: ConvPlan, rows: int, q_base: int) -> PanelLayout:
    L, nr = P.tile.lanes, P.tile.nr
    runs: dict = {}
    for v in range(P.tile.nv):
        lane = 0
        while lane < L:
            q = q_base + v * L + lane
            r, ow = divmod(q, P.Wq)
            if r >= rows or ow >= P.OW:
                lane += 1
                continue
            width = min(L - lane, P.OW - ow)
            runs.setdefault(v, []).append((lane, width, r, ow))
            lane += width
    nvec = max(runs) + 1 if runs else 0
    return PanelLayout(q_base, nvec, runs)
