"""Expression and buffer-access checks of the loop IR verifier (items 3-5 of verifier.py's list),
kept apart from the statement checks. `ExprChecks` is mixed into the per-function verifier, which
provides `fail`, `buffer`, `lets`, `ranges`, `visible`, `defined` and `guard_vars`."""
from __future__ import annotations

from ..ir import dtypes
from .arith import bounds, is_affine
from .expr import (ARITH_OPS, LOGIC_OPS, Binary, Broadcast, Call, Cast, Expr, FloatImm, IntImm,
                   Load, Not, Ramp, Select, Var)
from .intrinsics import INTRINSICS
from .printer import format_node
from .simplify import simplify
from .visitor import child_nodes, free_vars, substitute


def type_text(dtype, lanes: int) -> str:
    return dtype.name if lanes == 1 else f"{dtype.name}x{lanes}"


class ExprChecks:
    # ---- expressions ---------------------------------------------------------------------------
    def cond(self, e: Expr, what: str) -> None:
        self.expr(e)
        if e.dtype is not dtypes.bool_ or e.lanes != 1:
            self.fail(f"{what} condition {format_node(e)} is {type_text(e.dtype, e.lanes)}, not bool")

    def deps(self, e) -> set:
        """Loop/block variables `e` depends on (through lets)."""
        out = set()
        for v in free_vars(e):
            out |= self.deps(self.lets[v]) if v in self.lets else {v}
        return out

    def access(self, buf, indices, use: str) -> int:
        if len(indices) != buf.rank:
            self.fail(f"{use} %{buf.name}: {len(indices)} indices for a rank-{buf.rank} buffer "
                      f"{buf.type_str}")
        lanes = {i.lanes for i in indices if i.lanes != 1}
        if len(lanes) > 1:
            self.fail(f"{use} %{buf.name}: vector indices of different lanes {sorted(lanes)}")
        for d, (i, n) in enumerate(zip(indices, buf.shape)):
            self.expr(i)
            if not i.dtype.is_int:
                self.fail(f"{use} %{buf.name}: index {d} ({format_node(i)}) is {i.dtype}, not "
                          "an integer")
            rng = self.affine_range(i, self.guard_vars)
            if rng is not None and (rng[0] < 0 or rng[1] >= n):
                self.fail(f"{use} %{buf.name}: index {d} ({format_node(i)}) ranges over "
                          f"[{rng[0]}, {rng[1]}], outside the dimension's [0, {n - 1}]")
        return lanes.pop() if lanes else 1

    def affine_range(self, e: Expr, guarded: set):
        """The exact range of an affine index over the loop ranges, or None (not affine,
        unknown ranges, or tested by an enclosing guard)."""
        e = simplify(substitute(e, self.lets)) if self.lets else e
        if not is_affine(e):
            return None
        vs = free_vars(e)
        if any(v in guarded or v not in self.ranges for v in vs):
            return None
        lo, hi = bounds(simplify(e), self.ranges)
        return None if lo is None or hi is None else (lo, hi)

    def expr(self, e: Expr) -> None:
        if isinstance(e, (IntImm, FloatImm)):
            return
        if isinstance(e, Var):
            if e not in self.visible:
                if e in self.defined:
                    self.fail(f"uses %{e.name}, which is defined outside the enclosing block "
                              "(a block's body may only use its own iteration variables)")
                self.fail(f"uses undefined variable %{e.name}")
            return
        if isinstance(e, Load):
            self.buffer(e.buffer, "load from")
            self.access(e.buffer, e.indices, "load from")
            return
        for c in child_nodes(e):
            self.expr(c)
        if isinstance(e, Binary):
            a, b = e.a, e.b
            if a.dtype != b.dtype or a.lanes != b.lanes:
                self.fail(f"operands of '{e.op}' differ: {type_text(a.dtype, a.lanes)} vs "
                          f"{type_text(b.dtype, b.lanes)} in {format_node(e)}")
            if e.op in LOGIC_OPS and a.dtype is not dtypes.bool_:
                self.fail(f"'{e.op}' needs bool operands, got {a.dtype} in {format_node(e)}")
            if e.op in ARITH_OPS and a.dtype is dtypes.bool_:
                self.fail(f"arithmetic '{e.op}' on bool in {format_node(e)}")
        elif isinstance(e, Not):
            if e.a.dtype is not dtypes.bool_:
                self.fail(f"'!' needs a bool operand, got {e.a.dtype}")
        elif isinstance(e, Select):
            if e.cond.dtype is not dtypes.bool_ or e.cond.lanes not in (1, e.lanes):
                self.fail(f"select condition is {type_text(e.cond.dtype, e.cond.lanes)}")
            if e.t.dtype != e.f.dtype or e.t.lanes != e.f.lanes:
                self.fail(f"select arms differ: {type_text(e.t.dtype, e.t.lanes)} vs "
                          f"{type_text(e.f.dtype, e.f.lanes)}")
            if e.t.lanes != e.lanes:
                self.fail(f"select arms are {type_text(e.t.dtype, e.t.lanes)} but the condition has "
                          f"{e.lanes} lanes (broadcast the arms)")
        elif isinstance(e, Call):
            intr = INTRINSICS[e.name]
            a0 = e.args[0]
            for a in e.args:
                if (a.dtype, a.lanes) != (a0.dtype, a0.lanes):
                    self.fail(f"arguments of {e.name} differ in type: {format_node(e)}")
            if intr.float_only and not a0.dtype.is_float:
                self.fail(f"{e.name} needs float arguments, got {a0.dtype}")
            if a0.dtype is dtypes.bool_:
                self.fail(f"{e.name} of bool")
        elif isinstance(e, Ramp):
            if not e.base.dtype.is_int or e.base.lanes != 1 or e.stride.lanes != 1 \
                    or e.stride.dtype != e.base.dtype:
                self.fail(f"ramp needs integer scalar base and stride: {format_node(e)}")
            if e.lanes < 2:
                self.fail(f"ramp with {e.lanes} lanes")
        elif isinstance(e, Broadcast):
            if e.value.lanes != 1 or e.lanes < 2:
                self.fail(f"broadcast needs a scalar and at least 2 lanes: {format_node(e)}")
        elif isinstance(e, Cast):
            pass
        else:
            self.fail(f"not an expression: {e!r}")
