"""Activation functions (ONNX semantics). All keep their input dtype; f16 is computed in f32."""
from __future__ import annotations

import math

import numpy as np

from ..ir import dtypes as D
from ..ir.dtypes import FLOAT_DTYPES
from ..ir.types import TensorType
from .common import input_type, require_dtype, require_same_dtype
from .elementwise import (SIGNED_NUMERIC, as_out, check_unidirectional, elementwise_infer,
                          float_apply)
from .math_unary import erf
from .registry import OpKind, def_op


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Overflow-free logistic function (x is f32 or f64)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(np.zeros((), x.dtype), x)


def _act(name, fn, attrs=None, doc=""):
    """A float-only activation; fn(x, attrs) gets x in f32/f64."""
    def_op(name, OpKind.ELEMWISE, elementwise_infer(FLOAT_DTYPES),
           lambda c: [float_apply(fn, c.values[0], c.attrs)], attrs=attrs or {}, doc=doc)


def _relu(c):
    x = c.values[0]
    return [as_out(np.maximum(x, np.zeros((), x.dtype)), x.dtype)]


def_op("Relu", OpKind.ELEMWISE, elementwise_infer(SIGNED_NUMERIC), _relu)

_act("LeakyRelu", lambda x, a: np.where(x < 0, x * a["alpha"], x), {"alpha": ("float", 0.01)})
_act("Sigmoid", lambda x, a: sigmoid(x))
_act("HardSigmoid", lambda x, a: np.clip(x * a["alpha"] + a["beta"], 0.0, 1.0),
     {"alpha": ("float", 0.2), "beta": ("float", 0.5)})
_act("HardSwish", lambda x, a: x * np.clip(x / 6.0 + 0.5, 0.0, 1.0))
_act("Tanh", lambda x, a: np.tanh(x))
_act("Softplus", lambda x, a: softplus(x))
_act("Softsign", lambda x, a: x / (1.0 + np.abs(x)))
_act("Elu", lambda x, a: np.where(x < 0, a["alpha"] * np.expm1(np.minimum(x, 0)), x),
     {"alpha": ("float", 1.0)})
_act("Selu", lambda x, a: a["gamma"] * np.where(x > 0, x, a["alpha"] * np.expm1(np.minimum(x, 0))),
     {"alpha": ("float", 1.67326319217681884765625), "gamma": ("float", 1.05070102214813232421875)})
_act("Celu", lambda x, a: np.maximum(x, 0) + np.minimum(0, a["alpha"] * np.expm1(x / a["alpha"])),
     {"alpha": ("float", 1.0)})
_act("Mish", lambda x, a: x * np.tanh(softplus(x)))
_act("ThresholdedRelu", lambda x, a: np.where(x > a["alpha"], x, 0), {"alpha": ("float", 1.0)})
_act("Swish", lambda x, a: x * sigmoid(x * x.dtype.type(a["alpha"])), {"alpha": ("float", 1.0)})


def _gelu(x, a):
    if a["approximate"] == "tanh":
        k = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + np.tanh(k * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def _gelu_infer(call):
    if call.attrs["approximate"] not in ("none", "tanh"):
        raise call.error(f"attribute approximate must be 'none' or 'tanh', "
                         f"got '{call.attrs['approximate']}'")
    return elementwise_infer(FLOAT_DTYPES)(call)


def_op("Gelu", OpKind.ELEMWISE, _gelu_infer, lambda c: [float_apply(_gelu, c.values[0], c.attrs)],
       attrs={"approximate": ("string", "none")})


# PRelu: the slope broadcasts unidirectionally to X.
_PRELU_DTYPES = FLOAT_DTYPES + (D.i32, D.i64, D.u32, D.u64)


def _prelu_infer(call):
    require_dtype(call, 0, _PRELU_DTYPES)
    dt = require_same_dtype(call, [0, 1])
    x = input_type(call, 0)
    check_unidirectional(call, 1, x.shape, "slope")
    return [TensorType(dt, x.shape)]


def _prelu(c):
    x, slope = c.values
    with np.errstate(all="ignore"):
        if x.dtype.kind == "f":
            return [float_apply(lambda v, s: np.where(v < 0, v * s, v), x, slope)]
        return [as_out(np.where(x < 0, x * slope, x), x.dtype)]


def_op("PRelu", OpKind.BROADCAST, _prelu_infer, _prelu, inputs=2)

__all__ = ["sigmoid", "softplus"]
