"""Expressions and memory accesses: loop IR expressions -> LLVM values (a mixin of the function
emitter in codegen.py).

Types: i1 for bool in registers (i8 in memory), iN, half/float/double, <N x T> for vectors.
Index arithmetic is i64. Integer `/` and `%` floor (Python semantics); when the ranges of the
enclosing loops prove the dividend non-negative and the divisor is a positive constant, they
are plain unsigned divisions (shifts/masks for powers of two). Float min/max propagate NaN
(llvm.minimum/maximum, as numpy); float `!=` is true for NaN. Float -> int casts saturate
(llvm.fptosi.sat: NaN -> 0). Fast-math flags go on float operations only with fast_math.

A load/store flattens its indices with the buffer's strides and simplifies the offset: a
scalar offset is a scalar access, `ramp(b, 1, n)` one contiguous <n x T> access,
`broadcast(b, n)` a scalar load splatted, a load of `ramp(b, s, n)` with a small constant
stride one contiguous load and a shuffle, anything else one access per lane."""
from __future__ import annotations

import llvmlite.ir as ir

from compiler.ir import dtypes
from compiler.loop.arith import bounds
from compiler.loop.expr import (Binary, Broadcast, Call, Cast, FloatImm, IntImm, Load, Not, Ramp,
                                Select, Var, binary)
from compiler.loop.simplify import Simplifier

from .intrinsics import I1, I32, I64, splat_const, type_suffix, with_lanes

MAX_DEINTERLEAVE_STRIDE = 4    # larger strides load more discarded lanes than a gather loads
_SCALAR = {"f16": ir.HalfType(), "f32": ir.FloatType(), "f64": ir.DoubleType(), "bool": I1}
_ICMP = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}


def scalar_type(dt):
    return _SCALAR.get(dt.name) or ir.IntType(dt.itemsize * 8)


def mem_type(dt):
    return ir.IntType(8) if dt is dtypes.bool_ else scalar_type(dt)


def llvm_type(dt, lanes: int = 1):
    return with_lanes(scalar_type(dt), lanes)


def _index_vars(e) -> list:
    from compiler.loop.visitor import free_vars
    return free_vars(e)


class ExprEmitter:
    """Needs: self.b (IRBuilder), self.vars, self.ranges, self.cg (module codegen with .math,
    .flags, .opts), self.buffer_ptr(buf), self.check_access(...), self.check_nonzero(...)."""

    # ---- helpers ---------------------------------------------------------------------------------
    def const(self, ty, value):
        return splat_const(ty, value)

    def splat(self, v, lanes: int):
        vt = ir.VectorType(v.type, lanes)
        tmp = self.b.insert_element(ir.Constant(vt, ir.Undefined), v, ir.Constant(I32, 0))
        return self.b.shuffle_vector(tmp, ir.Constant(vt, ir.Undefined),
                                     ir.Constant(ir.VectorType(I32, lanes), [0] * lanes))

    def index64(self, e):
        """Emit an integer index expression as i64 (scalar or vector)."""
        v = self.expr(e)
        if e.dtype is dtypes.i64:
            return v
        ty = with_lanes(I64, e.lanes)
        return self.b.sext(v, ty) if e.dtype.is_signed else self.b.zext(v, ty)

    # ---- expressions -----------------------------------------------------------------------------
    def expr(self, e):
        if isinstance(e, IntImm):
            return ir.Constant(llvm_type(e.dtype), e.value)
        if isinstance(e, FloatImm):
            return ir.Constant(llvm_type(e.dtype), e.value)
        if isinstance(e, Var):
            try:
                return self.vars[e]
            except KeyError:
                raise RuntimeError(f"codegen: variable %{e.name} has no value (run the "
                                   "verifier)") from None
        if isinstance(e, Binary):
            return self.binary(e)
        if isinstance(e, Load):
            return self.load(e)
        if isinstance(e, Not):
            return self.b.xor(self.expr(e.a), self.const(llvm_type(e.dtype, e.lanes), 1))
        if isinstance(e, Select):
            return self.b.select(self.expr(e.cond), self.expr(e.t), self.expr(e.f),
                                 flags=self.cg.flags if e.dtype.is_float else ())
        if isinstance(e, Cast):
            return self.cast(e)
        if isinstance(e, Call):
            args = [self.expr(a) for a in e.args]
            flags = self.cg.flags if e.args[0].dtype.is_float else ()
            return self.cg.math.emit(self.b, e.name, args, e.args[0].dtype, flags)
        if isinstance(e, Broadcast):
            return self.splat(self.expr(e.value), e.lanes)
        if isinstance(e, Ramp):
            ty = llvm_type(e.dtype, e.lanes)
            steps = ir.Constant(ty, list(range(e.lanes)))
            base, stride = self.splat(self.expr(e.base), e.lanes), \
                self.splat(self.expr(e.stride), e.lanes)
            return self.b.add(base, self.b.mul(stride, steps))
        raise TypeError(f"codegen: unknown expression {e!r}")

    def binary(self, e: Binary):
        op, dt = e.op, e.a.dtype
        a, b = self.expr(e.a), self.expr(e.b)
        bld = self.b
        if dt.is_float:
            fl = self.cg.flags
            if op in _ICMP:
                if op == "!=":
                    return bld.fcmp_unordered("!=", a, b, flags=fl)
                return bld.fcmp_ordered(op, a, b, flags=fl)
            if op in ("min", "max"):
                name = ("minnum" if op == "min" else "maxnum") if fl else \
                    ("minimum" if op == "min" else "maximum")
                return self.cg.math.intr(bld, name, [a, b], flags=fl)
            if op == "%":
                r = bld.frem(a, b, flags=fl)
                zero = self.const(a.type, 0.0)
                fix = bld.and_(bld.fcmp_ordered("!=", r, zero),
                               bld.xor(bld.fcmp_ordered("<", r, zero),
                                       bld.fcmp_ordered("<", b, zero)))
                return bld.select(fix, bld.fadd(r, b, flags=fl), r)
            fn = {"+": bld.fadd, "-": bld.fsub, "*": bld.fmul, "/": bld.fdiv}[op]
            return fn(a, b, flags=fl)
        if op == "&&":
            return bld.and_(a, b)
        if op == "||":
            return bld.or_(a, b)
        signed = dt.is_signed and dt is not dtypes.bool_
        if op in _ICMP:
            return (bld.icmp_signed if signed else bld.icmp_unsigned)(op, a, b)
        if op in ("min", "max"):
            cmp = (bld.icmp_signed if signed else bld.icmp_unsigned)("<" if op == "min" else ">",
                                                                     a, b)
            return bld.select(cmp, a, b)
        if op in ("+", "-", "*"):
            return {"+": bld.add, "-": bld.sub, "*": bld.mul}[op](a, b)
        return self.int_divmod(e, a, b, signed)

    def int_divmod(self, e: Binary, a, b, signed: bool):
        bld = self.b
        div_val = None
        if isinstance(e.b, IntImm):
            div_val = e.b.value
        elif isinstance(e.b, Broadcast) and isinstance(e.b.value, IntImm):
            div_val = e.b.value.value
        if self.cg.opts.bounds_check and not div_val:
            self.check_nonzero(b, e)
        if not signed:
            return bld.udiv(a, b) if e.op == "/" else bld.urem(a, b)
        if div_val is not None and div_val > 0:
            lo, _ = bounds(e.a, self.ranges)
            if lo is not None and lo >= 0:
                return bld.udiv(a, b) if e.op == "/" else bld.urem(a, b)
        q, r = bld.sdiv(a, b), bld.srem(a, b)
        zero = self.const(a.type, 0)
        fix = bld.and_(bld.icmp_signed("!=", r, zero),
                       bld.icmp_signed("<", bld.xor(r, b), zero))
        if e.op == "/":
            return bld.sub(q, bld.zext(fix, a.type))
        return bld.add(r, bld.select(fix, b, zero))

    def cast(self, e: Cast):
        src, dst, lanes = e.value.dtype, e.dtype, e.lanes
        v = self.expr(e.value)
        if src == dst:
            return v
        bld, ty = self.b, llvm_type(dst, lanes)
        if dst is dtypes.bool_:
            if src.is_float:
                return bld.fcmp_unordered("!=", v, self.const(v.type, 0.0))
            return bld.icmp_unsigned("!=", v, self.const(v.type, 0))
        if src is dtypes.bool_:
            return bld.uitofp(v, ty) if dst.is_float else bld.zext(v, ty)
        # f16 converts only to/from f32 natively (F16C); anything else would be a libcall
        # (__truncdfhf2, __floatdihf, ...) that the JIT cannot resolve: go through f32
        if (src is dtypes.f16) != (dst is dtypes.f16) and dtypes.f32 not in (src, dst):
            return self.cast(Cast(dst, Cast(dtypes.f32, e.value)))
        if src.is_float and dst.is_float:
            return bld.fpext(v, ty) if dst.itemsize > src.itemsize else bld.fptrunc(v, ty)
        if src.is_float:
            name = f"llvm.fpto{'s' if dst.is_signed else 'u'}i.sat.{type_suffix(ty)}." \
                   f"{type_suffix(v.type)}"
            return bld.call(self.cg.math.declare(name, ty, [v.type]), [v])
        if dst.is_float:
            return bld.sitofp(v, ty) if src.is_signed else bld.uitofp(v, ty)
        if dst.itemsize < src.itemsize:
            return bld.trunc(v, ty)
        if dst.itemsize == src.itemsize:
            return v
        return bld.sext(v, ty) if src.is_signed else bld.zext(v, ty)

    # ---- memory ----------------------------------------------------------------------------------
    def flat_offset(self, buf, indices):
        off = None
        for idx, stride in zip(indices, buf.strides):
            if idx.dtype is not dtypes.i64:
                idx = Cast(dtypes.i64, idx)
            term = binary("*", idx, IntImm(stride))
            off = term if off is None else binary("+", off, term)
        off = off if off is not None else IntImm(0)
        # unrolled kernels repeat the same index expressions: simplify each once per range
        # context (the result depends only on the ranges of its free variables)
        key = (off, tuple((v, self.ranges.get(v)) for v in _index_vars(off)))
        cache = self.cg.offset_cache
        if key not in cache:
            # one Simplifier (and its memo of sub-expressions) per range context: the offsets
            # of an unrolled tile share most of their terms
            context = frozenset(self.ranges.items())
            simplifier = self.cg.simplifiers.get(context)
            if simplifier is None:
                simplifier = self.cg.simplifiers[context] = Simplifier(self.ranges)
            cache[key] = simplifier.simplify(off)
        return cache[key]

    def access(self, buf, indices, lanes: int):
        """(base pointer, simplified flat offset) after the optional bounds check."""
        if self.cg.opts.bounds_check:
            for d, idx in enumerate(indices):
                self.check_index(buf, d, self.index64(idx))
        return self.buffer_ptr(buf), self.flat_offset(buf, indices)

    def gep(self, base, off, elem):
        return self.b.gep(base, [off], source_etype=elem)

    def load(self, e: Load):
        buf = e.buffer
        base, off = self.access(buf, e.indices, e.lanes)
        elem = mem_type(buf.dtype)
        al = buf.dtype.itemsize
        bld = self.b
        if off.lanes == 1:
            v = bld.load(self.gep(base, self.expr(off), elem), typ=elem, align=al)
            if e.lanes > 1:
                v = self.splat(v, e.lanes)
        elif isinstance(off, Ramp) and isinstance(off.stride, IntImm) and off.stride.value == 1:
            vt = ir.VectorType(elem, off.lanes)
            v = bld.load(self.gep(base, self.expr(off.base), elem), typ=vt, align=al)
        elif isinstance(off, Broadcast):
            v = self.splat(bld.load(self.gep(base, self.expr(off.value), elem), typ=elem,
                                    align=al), off.lanes)
        elif isinstance(off, Ramp) and isinstance(off.stride, IntImm) and \
                1 < off.stride.value <= MAX_DEINTERLEAVE_STRIDE:
            # a small constant stride: one contiguous load from the first lane's element to the
            # last's (all inside the buffer) and a shuffle picking every stride-th, instead of
            # a scalar load per lane
            s, n = off.stride.value, off.lanes
            vt = ir.VectorType(elem, s * (n - 1) + 1)
            wide = bld.load(self.gep(base, self.expr(off.base), elem), typ=vt, align=al)
            v = bld.shuffle_vector(wide, ir.Constant(vt, ir.Undefined),
                                   ir.Constant(ir.VectorType(I32, n), [s * k for k in range(n)]))
        else:
            offs = self.expr(off)
            v = ir.Constant(ir.VectorType(elem, off.lanes), ir.Undefined)
            for k in range(off.lanes):
                ko = ir.Constant(I32, k)
                lane = bld.load(self.gep(base, bld.extract_element(offs, ko), elem), typ=elem,
                                align=al)
                v = bld.insert_element(v, lane, ko)
        if buf.dtype is dtypes.bool_:
            v = bld.icmp_unsigned("!=", v, self.const(v.type, 0))
        return v

    def store(self, st):
        buf = st.buffer
        lanes = max((i.lanes for i in st.indices), default=1)
        base, off = self.access(buf, st.indices, lanes)
        elem = mem_type(buf.dtype)
        al = buf.dtype.itemsize
        bld = self.b
        v = self.expr(st.value)
        if buf.dtype is dtypes.bool_:
            v = bld.zext(v, with_lanes(elem, st.value.lanes))
        if off.lanes == 1:
            bld.store(v, self.gep(base, self.expr(off), elem), align=al)
        elif isinstance(off, Ramp) and isinstance(off.stride, IntImm) and off.stride.value == 1:
            bld.store(v, self.gep(base, self.expr(off.base), elem), align=al)
        else:
            offs = self.expr(off)
            for k in range(off.lanes):
                ko = ir.Constant(I32, k)
                bld.store(bld.extract_element(v, ko),
                          self.gep(base, bld.extract_element(offs, ko), elem), align=al)

    def bool_all(self, cond):
        """Reduce a vector of i1 to one i1 (all lanes true)."""
        if not isinstance(cond.type, ir.VectorType):
            return cond
        n = cond.type.count
        bits = self.b.bitcast(cond, ir.IntType(n))
        return self.b.icmp_unsigned("==", bits, ir.Constant(ir.IntType(n), (1 << n) - 1))

    def first_bad_lane(self, ok, v):
        """The value of the first lane of `v` whose `ok` bit is false (v itself if scalar)."""
        if not isinstance(v.type, ir.VectorType):
            return v
        n = v.type.count
        bad = self.b.bitcast(self.b.xor(ok, self.const(ok.type, 1)), ir.IntType(n))
        lane = self.cg.math.intr(self.b, "cttz", [bad, ir.Constant(I1, 0)])
        return self.b.extract_element(v, lane)

