"""The box of a buffer touched by some accesses, per iteration of the loops outside a
statement: dimension d covers [start_d, start_d + extent_d) where start_d is an expression of
the outer loop variables and extent_d a constant.

An index is split into its linear terms: terms over outer variables only stay symbolic in the
start; the others add their value range (over all loop ranges) to a constant window. A
dimension whose accesses disagree on the symbolic part, or whose index is data-dependent,
covers the whole dimension."""
from __future__ import annotations

from dataclasses import dataclass

from compiler.loop.arith import bounds, from_linear, linear
from compiler.loop.expr import Expr, IntImm, Load
from compiler.loop.simplify import simplify
from compiler.loop.visitor import free_vars, walk


@dataclass
class DimRegion:
    terms: dict          # {atom over outer variables: coefficient}
    lo: int
    hi: int

    @property
    def extent(self) -> int:
        return self.hi - self.lo + 1

    @property
    def start(self) -> Expr:
        return from_linear(self.terms, self.lo)


def _dim(e: Expr, n: int, inner: set, ranges: dict) -> DimRegion:
    whole = DimRegion({}, 0, n - 1)
    if any(isinstance(x, Load) for x in walk(e)) or any(v not in ranges for v in free_vars(e)):
        return whole
    terms, c = linear(simplify(e, ranges))
    out, lo, hi = {}, c, c
    for atom, k in terms.items():
        if not any(v in inner for v in free_vars(atom)):
            out[atom] = k
            continue
        alo, ahi = bounds(atom, ranges)
        if alo is None or ahi is None:
            return whole
        lo, hi = lo + min(k * alo, k * ahi), hi + max(k * alo, k * ahi)
    return DimRegion(out, lo, hi)


def region(accesses, shape, inner: set, ranges: dict) -> list:
    """The union box (one DimRegion per dimension) of `accesses` (all of one buffer)."""
    dims = []
    for d, n in enumerate(shape):
        parts = [_dim(a.indices[d], n, inner, ranges) for a in accesses]
        first = parts[0]
        if all(p.terms == first.terms for p in parts):
            r = DimRegion(first.terms, min(p.lo for p in parts), max(p.hi for p in parts))
        else:
            r = DimRegion({}, 0, n - 1)
        if not r.terms:             # the accesses stay in bounds: clip the window to them
            r = DimRegion({}, max(r.lo, 0), min(r.hi, n - 1))
        if r.extent > n or r.extent <= 0:
            r = DimRegion({}, 0, n - 1)
        dims.append(r)
    return dims


def in_bounds(values, shape, ranges: dict):
    """The conjunction of `0 <= v < n` for every value that may leave its dimension over
    `ranges` (None when all stay inside)."""
    cond = None
    for v, n in zip(values, shape):
        lo, hi = bounds(simplify(v, ranges), ranges)
        parts = []
        if lo is None or lo < 0:
            parts.append(v.ge(IntImm(0)))
        if hi is None or hi > n - 1:
            parts.append(v.lt(IntImm(n)))
        for p in parts:
            cond = p if cond is None else cond.logical_and(p)
    return cond
