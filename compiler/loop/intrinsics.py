"""The math intrinsics a loop IR `Call` may name: their arity, which dtypes they accept and
their result type. Backends implement every one of them (backends/llvm/intrinsics.py).

    unary, float only:  exp exp2 log log2 sqrt rsqrt sin cos tanh erf sigmoid
                        floor ceil round (half to even, as numpy) trunc
                        tan asin acos atan sinh cosh asinh acosh atanh (libm, per lane)
    unary, numeric:     abs
    binary, float:      pow
    ternary, float:     fma (fused multiply-add, one rounding)
    vector -> scalar:   reduce_add reduce_mul reduce_min reduce_max (over the lanes)"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir.dtypes import DType


@dataclass(frozen=True)
class Intrinsic:
    name: str
    arity: int
    float_only: bool = True
    reduces_lanes: bool = False


_FLOAT_UNARY = ("exp", "exp2", "log", "log2", "sqrt", "rsqrt", "sin", "cos", "tanh", "erf",
                "sigmoid", "floor", "ceil", "round", "trunc",
                # C library functions (one call per lane)
                "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh")

INTRINSICS: dict[str, Intrinsic] = {n: Intrinsic(n, 1) for n in _FLOAT_UNARY}
INTRINSICS["abs"] = Intrinsic("abs", 1, float_only=False)
INTRINSICS["pow"] = Intrinsic("pow", 2)
INTRINSICS["fma"] = Intrinsic("fma", 3)
for _n in ("reduce_add", "reduce_mul", "reduce_min", "reduce_max"):
    INTRINSICS[_n] = Intrinsic(_n, 1, float_only=False, reduces_lanes=True)


def get_intrinsic(name: str) -> Intrinsic:
    try:
        return INTRINSICS[name]
    except KeyError:
        raise ValueError(f"unknown intrinsic '{name}' (known: {', '.join(INTRINSICS)})") \
            from None


def result_type(name: str, args) -> tuple[DType, int]:
    """(dtype, lanes) of `name(args)`. Only arity is checked here; the verifier checks dtypes."""
    intr = get_intrinsic(name)
    if len(args) != intr.arity:
        raise ValueError(f"intrinsic '{name}' takes {intr.arity} argument"
                         f"{'s' if intr.arity != 1 else ''}, got {len(args)}")
    first = args[0]
    return first.dtype, (1 if intr.reduces_lanes else max(a.lanes for a in args))
