"""Math functions for the LLVM backend: every intrinsic of compiler/loop/intrinsics.py.

LLVM intrinsics where they exist (`llvm.sqrt`, `llvm.fma`, `llvm.floor`, `llvm.roundeven`,
`llvm.exp`, `llvm.tanh` ...; the transcendental ones become libm calls, one per lane for
vectors). For f32 `exp`, `log`, `tanh`, `erf` and `sigmoid` (with math="poly", the default)
we emit our own branch-free polynomial code (Cephes' expf/logf/tanhf, Eigen/XLA's rational
erf), as internal always-inline functions for each vector width, so loops that call them
vectorise: about 1-2 ulp, with inf/nan/denormal edge cases handled. f16 is computed in f32."""
from __future__ import annotations

import math

import llvmlite.ir as ir

from compiler.errors import UnsupportedError
from compiler.ir import dtypes

F16, F32, F64 = ir.HalfType(), ir.FloatType(), ir.DoubleType()
I1, I32, I64 = ir.IntType(1), ir.IntType(32), ir.IntType(64)

_LOG2E = 1.44269504088896341


LIBM_ONLY = ("tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh")


def type_suffix(ty) -> str:
    if isinstance(ty, ir.VectorType):
        return f"v{ty.count}{type_suffix(ty.element)}"
    if isinstance(ty, ir.HalfType):
        return "f16"
    if isinstance(ty, ir.FloatType):
        return "f32"
    if isinstance(ty, ir.DoubleType):
        return "f64"
    return f"i{ty.width}"


def with_lanes(elem, lanes: int):
    return elem if lanes == 1 else ir.VectorType(elem, lanes)


def splat_const(ty, value):
    if isinstance(ty, ir.VectorType):
        return ir.Constant(ty, [ir.Constant(ty.element, value)] * ty.count)
    return ir.Constant(ty, value)


class MathLib:
    def __init__(self, module: ir.Module, math_mode: str = "poly"):
        self.module = module
        self.math_mode = math_mode

    def declare(self, name: str, ret, args) -> ir.Function:
        fn = self.module.globals.get(name)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(ret, args), name)
        return fn

    def intr(self, b: ir.IRBuilder, base: str, args, ret=None, flags=()):
        """Call the overloaded LLVM intrinsic `llvm.<base>.<type of args[0]>`."""
        ty = args[0].type
        fn = self.declare(f"llvm.{base}.{type_suffix(ty)}", ret or ty, [a.type for a in args])
        return b.call(fn, args, fastmath=flags)

    # ---- entry point ---------------------------------------------------------------------------
    def emit(self, b: ir.IRBuilder, name: str, args: list, dtype, flags=()):
        ty = args[0].type
        elem = ty.element if isinstance(ty, ir.VectorType) else ty
        if name.startswith("reduce_"):
            return self.reduce(b, name, args[0], dtype, flags)
        if name == "abs" and not dtype.is_float:
            return self.intr(b, "abs", [args[0], ir.Constant(I1, 0)], ret=ty)
        if isinstance(elem, ir.HalfType):        # compute f16 in f32
            wide = with_lanes(F32, ty.count) if isinstance(ty, ir.VectorType) else F32
            out = self.emit(b, name, [b.fpext(a, wide) for a in args], dtypes.f32, flags)
            return b.fptrunc(out, ty)
        simple = {"sqrt": "sqrt", "floor": "floor", "ceil": "ceil", "round": "roundeven",
                  "trunc": "trunc", "abs": "fabs", "fma": "fma", "pow": "pow", "exp2": "exp2",
                  "log2": "log2", "sin": "sin", "cos": "cos"}
        if name in simple:
            return self.intr(b, simple[name], args, flags=flags)
        x = args[0]
        if name in LIBM_ONLY:
            return self.per_lane_libm(b, name + "f" if isinstance(elem, ir.FloatType) else name,
                                      x)
        if name == "rsqrt":
            return b.fdiv(splat_const(ty, 1.0), self.intr(b, "sqrt", [x], flags=flags),
                          flags=flags)
        if isinstance(elem, ir.FloatType) and self.math_mode == "poly":
            return b.call(self.poly_function(name, ty), [x])
        if name == "sigmoid":
            e = self.emit(b, "exp", [b.fneg(x, flags=flags)], dtype, flags)
            one = splat_const(ty, 1.0)
            return b.fdiv(one, b.fadd(one, e, flags=flags), flags=flags)
        if name == "erf":
            return self.per_lane_libm(b, "erff" if isinstance(elem, ir.FloatType) else "erf",
                                      x)
        if name in ("exp", "log", "tanh"):
            return self.intr(b, name, [x], flags=flags)
        raise UnsupportedError(f"intrinsic '{name}' has no LLVM implementation")

    def per_lane_libm(self, b, fname: str, x):
        ty = x.type
        elem = ty.element if isinstance(ty, ir.VectorType) else ty
        fn = self.declare(fname, elem, [elem])
        if not isinstance(ty, ir.VectorType):
            return b.call(fn, [x])
        out = ir.Constant(ty, ir.Undefined)
        for k in range(ty.count):
            lane = b.call(fn, [b.extract_element(x, ir.Constant(I32, k))])
            out = b.insert_element(out, lane, ir.Constant(I32, k))
        return out

    def reduce(self, b, name: str, v, dtype, flags):
        ty = v.type
        if not isinstance(ty, ir.VectorType):
            return v
        elem = ty.element
        op = name[len("reduce_"):]
        if dtype.is_float:
            if op in ("add", "mul"):
                start = ir.Constant(elem, -0.0 if op == "add" else 1.0)
                fn = self.declare(f"llvm.vector.reduce.f{op}.{type_suffix(ty)}", elem,
                                  [elem, ty])
                return b.call(fn, [start, v], fastmath=tuple(flags) or ())
            fname = {"min": "fminimum", "max": "fmaximum"}[op]
            return self.intr(b, f"vector.reduce.{fname}", [v], ret=elem)
        if op in ("min", "max"):
            op = ("s" if dtype.is_signed else "u") + op
        if dtype.name == "bool":
            op = {"add": "or", "mul": "and", "smin": "and", "umin": "and", "smax": "or",
                  "umax": "or"}[op]
        return self.intr(b, f"vector.reduce.{op}", [v], ret=elem)

    # ---- polynomial f32 implementations ------------------------------------------------------------
    def poly_function(self, name: str, ty) -> ir.Function:
        fname = f"__aicc_{name}f.{type_suffix(ty)}"
        fn = self.module.globals.get(fname)
        if fn is not None:
            return fn
        fn = ir.Function(self.module, ir.FunctionType(ty, [ty]), fname)
        fn.linkage = "internal"
        fn.attributes.add("alwaysinline")
        fn.attributes.add("nounwind")
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        o = _Ops(self, b, ty)
        b.ret(getattr(self, "_" + name)(o, fn.args[0]))
        return fn

    @staticmethod
    def _exp(o, x):
        xc = o.sel(o.lt(x, -104.0), o.c(-104.0), x)
        xc = o.sel(o.gt(xc, 88.8), o.c(88.8), xc)
        n = o.lib.intr(o.b, "rint", [o.b.fmul(xc, o.c(_LOG2E))])
        r = o.fma(n, o.c(-0.693359375), xc)
        r = o.fma(n, o.c(2.12194440e-4), r)
        p = o.c(1.9875691500e-4)
        for k in (1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1,
                  5.0000001201e-1):
            p = o.fma(p, r, o.c(k))
        y = o.b.fadd(o.fma(p, o.b.fmul(r, r), r), o.c(1.0))
        b, ity = o.b, o.ity
        ni = b.fptosi(n, ity)
        n1 = b.ashr(ni, o.ci(1))
        n2 = b.sub(ni, n1)
        s1 = b.bitcast(b.shl(b.add(n1, o.ci(127)), o.ci(23)), o.ty)
        s2 = b.bitcast(b.shl(b.add(n2, o.ci(127)), o.ci(23)), o.ty)
        res = b.fmul(b.fmul(y, s1), s2)
        res = o.sel(o.gt(x, 88.72283935546875), o.c(math.inf), res)
        res = o.sel(o.lt(x, -103.972084), o.c(0.0), res)
        return o.sel(o.uno(x), x, res)

    @staticmethod
    def _log(o, x):
        b = o.b
        den = o.lt(x, 1.17549435e-38)
        xs = o.sel(den, b.fmul(x, o.c(8388608.0)), x)
        bits = b.bitcast(xs, o.ity)
        e = b.sub(b.and_(b.lshr(bits, o.ci(23)), o.ci(0xFF)), o.ci(126))
        m = b.bitcast(b.or_(b.and_(bits, o.ci(0x007FFFFF)), o.ci(0x3F000000)), o.ty)
        ef = b.sitofp(e, o.ty)
        ef = o.sel(den, b.fsub(ef, o.c(23.0)), ef)
        small = o.lt(m, 0.707106781186547524)
        ef = o.sel(small, b.fsub(ef, o.c(1.0)), ef)
        m = b.fsub(o.sel(small, b.fadd(m, m), m), o.c(1.0))
        z = b.fmul(m, m)
        y = o.c(7.0376836292e-2)
        for k in (-1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
                  -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1):
            y = o.fma(y, m, o.c(k))
        y = b.fmul(b.fmul(y, m), z)
        y = o.fma(ef, o.c(-2.12194440e-4), y)
        y = o.fma(z, o.c(-0.5), y)
        res = o.fma(ef, o.c(0.693359375), b.fadd(m, y))
        res = o.sel(o.eq(x, math.inf), x, res)
        res = o.sel(o.eq(x, 0.0), o.c(-math.inf), res)
        return o.sel(b.or_(o.lt(x, 0.0), o.uno(x)), o.c(math.nan), res)

    @staticmethod
    def _tanh(o, x):
        b = o.b
        ax = o.lib.intr(b, "fabs", [x])
        e = b.call(o.lib.poly_function("exp", o.ty), [b.fmul(ax, o.c(2.0))])
        big = b.fsub(o.c(1.0), b.fdiv(o.c(2.0), b.fadd(e, o.c(1.0))))
        big = o.lib.intr(b, "copysign", [big, x])
        z = b.fmul(x, x)
        p = o.c(-5.70498872745e-3)
        for k in (2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1):
            p = o.fma(p, z, o.c(k))
        small = o.fma(b.fmul(p, z), x, x)
        return o.sel(o.lt(ax, 0.625), small, big)

    @staticmethod
    def _erf(o, x):
        b = o.b
        xc = o.sel(o.gt(x, 4.0), o.c(4.0), o.sel(o.lt(x, -4.0), o.c(-4.0), x))
        x2 = b.fmul(xc, xc)
        p = o.c(-2.72614225801306e-10)
        for k in (2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
                  -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02):
            p = o.fma(x2, p, o.c(k))
        p = b.fmul(xc, p)
        q = o.c(-1.45660718464996e-05)
        for k in (-2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
                  -1.42647390514189e-02):
            q = o.fma(x2, q, o.c(k))
        return b.fdiv(p, q)

    @staticmethod
    def _sigmoid(o, x):
        b = o.b
        e = b.call(o.lib.poly_function("exp", o.ty), [b.fneg(x)])
        return b.fdiv(o.c(1.0), b.fadd(o.c(1.0), e))


class _Ops:
    """Typed helpers for writing the polynomial code: constants splat to the vector width."""

    def __init__(self, lib: MathLib, b: ir.IRBuilder, ty):
        self.lib, self.b, self.ty = lib, b, ty
        lanes = ty.count if isinstance(ty, ir.VectorType) else 1
        self.ity = with_lanes(I32, lanes)

    def c(self, v):
        return splat_const(self.ty, v)

    def ci(self, v):
        return splat_const(self.ity, v)

    def fma(self, a, b, c):
        return self.lib.intr(self.b, "fma", [a, b, c])

    def sel(self, cond, a, b):
        return self.b.select(cond, a, b)

    def _cmp(self, op, a, v):
        return self.b.fcmp_ordered(op, a, v if isinstance(v, ir.Value) else self.c(v))

    def lt(self, a, v):
        return self._cmp("<", a, v)

    def gt(self, a, v):
        return self._cmp(">", a, v)

    def eq(self, a, v):
        return self._cmp("==", a, v)

    def uno(self, a):
        return self.b.fcmp_unordered("uno", a, a)
