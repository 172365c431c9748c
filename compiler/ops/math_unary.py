"""One-input elementwise math: Neg, Abs, Sign, Exp, Log, Sqrt, Reciprocal, Floor, Ceil, Round,
trigonometric and hyperbolic functions, Erf, IsNaN, IsInf.

Float functions keep their input dtype; f16 is computed in f32 and rounded back."""
from __future__ import annotations

import math

import numpy as np

from ..ir import dtypes as D
from ..ir.dtypes import FLOAT_DTYPES
from .elementwise import NUMERIC, SIGNED_NUMERIC, as_out, elementwise_infer, float_apply
from .registry import OpKind, def_op

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SERIES_LIMIT = 2.5


def erf(x) -> np.ndarray:
    """Vectorised erf in float64 (abs error ~1e-15): Maclaurin series for |x| < 2.5, the
    Laplace continued fraction of erfc beyond."""
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    res = np.empty_like(a)
    small = a < _SERIES_LIMIT
    s = a[small]
    if s.size:
        s2 = s * s
        term = s.copy()
        total = s.copy()
        for n in range(1, 200):
            term *= -s2 / n
            contrib = term / (2 * n + 1)
            total += contrib
            if np.max(np.abs(contrib)) < 1e-17:
                break
        res[small] = total * _TWO_OVER_SQRT_PI
    big = ~small   # includes NaN (propagates) and inf (gives 1)
    b = a[big]
    if b.size:
        with np.errstate(all="ignore"):
            # erfc(b) = exp(-b^2)/sqrt(pi) / (b + (1/2)/(b + 1/(b + (3/2)/(b + ...))))
            f = b.copy()
            for k in range(80, 0, -1):
                f = b + (k / 2.0) / f
            erfc = np.exp(-b * b) / math.sqrt(math.pi) / f
            erfc = np.where(np.isinf(b), 0.0, erfc)
        res[big] = 1.0 - erfc
    return np.copysign(res, x)


def _unary(name, fn, allowed=FLOAT_DTYPES, kind=OpKind.ELEMWISE, float_math=True, doc=""):
    if float_math:
        compute = lambda c: [float_apply(fn, c.values[0])]          # noqa: E731
    else:
        def compute(c):
            with np.errstate(all="ignore"):
                return [as_out(fn(c.values[0]), c.values[0].dtype)]
    def_op(name, kind, elementwise_infer(allowed), compute, doc=doc)


_unary("Neg", np.negative, SIGNED_NUMERIC, float_math=False)
_unary("Abs", np.abs, NUMERIC, float_math=False)
_unary("Sign", np.sign, NUMERIC, float_math=False)
_unary("Floor", np.floor, float_math=False)
_unary("Ceil", np.ceil, float_math=False)
_unary("Round", np.round, float_math=False, doc="round half to even")
_unary("Reciprocal", np.reciprocal)
for _name, _fn in (("Exp", np.exp), ("Log", np.log), ("Sqrt", np.sqrt), ("Sin", np.sin),
                   ("Cos", np.cos), ("Tan", np.tan), ("Asin", np.arcsin), ("Acos", np.arccos),
                   ("Atan", np.arctan), ("Sinh", np.sinh), ("Cosh", np.cosh),
                   ("Asinh", np.arcsinh), ("Acosh", np.arccosh), ("Atanh", np.arctanh)):
    _unary(_name, _fn)


def_op("Erf", OpKind.ELEMWISE, elementwise_infer(FLOAT_DTYPES),
       lambda c: [as_out(erf(c.values[0]), c.values[0].dtype)])
def_op("IsNaN", OpKind.ELEMWISE, elementwise_infer(FLOAT_DTYPES, D.bool_),
       lambda c: [np.isnan(np.asarray(c.values[0]))])


def _isinf_infer(call):
    for k in ("detect_negative", "detect_positive"):
        if call.attrs[k] not in (0, 1):
            raise call.error(f"attribute {k} must be 0 or 1, got {call.attrs[k]}")
    return elementwise_infer(FLOAT_DTYPES, D.bool_)(call)


def _isinf(c):
    x = np.asarray(c.values[0])
    neg = np.isneginf(x) if c.attrs["detect_negative"] else np.zeros(x.shape, bool)
    pos = np.isposinf(x) if c.attrs["detect_positive"] else np.zeros(x.shape, bool)
    return [neg | pos]


def_op("IsInf", OpKind.ELEMWISE, _isinf_infer, _isinf,
       attrs={"detect_negative": ("int", 1), "detect_positive": ("int", 1)})

__all__ = ["erf"]
