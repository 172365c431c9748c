"""Matrix products: MatMul (numpy matmul semantics) and Gemm (ONNX semantics, opset 13+)."""
from __future__ import annotations

import numpy as np

from ..ir import dtypes as dt
from ..ir.types import TensorType
from .common import broadcast_shapes, input_type, require_dtype, require_same_dtype
from .registry import OpKind, def_op

# ONNX MatMul / Gemm accept these element types (bfloat16 has no IR dtype here).
MATMUL_DTYPES = (dt.f16, dt.f32, dt.f64, dt.i32, dt.i64, dt.u32, dt.u64)


def _dim_str(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _check_inner(call, k_a, k_b, a_shape, b_shape, what: str) -> None:
    if isinstance(k_a, int) and isinstance(k_b, int) and k_a != k_b:
        raise call.error(f"{what}: inner dimensions differ ({k_a} vs {k_b}) for shapes "
                         f"{_dim_str(a_shape)} and {_dim_str(b_shape)}")


def _matmul_shape(call, a_shape: tuple, b_shape: tuple) -> tuple:
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise call.error(f"MatMul operands must have rank >= 1, got shapes {_dim_str(a_shape)} "
                         f"and {_dim_str(b_shape)}")
    a = (1,) + tuple(a_shape) if len(a_shape) == 1 else tuple(a_shape)
    b = tuple(b_shape) + (1,) if len(b_shape) == 1 else tuple(b_shape)
    _check_inner(call, a[-1], b[-2], a_shape, b_shape, "cannot multiply")
    batch = broadcast_shapes(call, a[:-2], b[:-2])
    out = list(batch)
    if len(a_shape) > 1:
        out.append(a[-2])
    if len(b_shape) > 1:
        out.append(b[-1])
    return tuple(out)


def _matmul_infer(call):
    require_dtype(call, 0, MATMUL_DTYPES, "A")
    dtype = require_same_dtype(call, [0, 1])
    a, b = input_type(call, 0), input_type(call, 1)
    return [TensorType(dtype, _matmul_shape(call, a.shape, b.shape))]


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype == np.float16:  # numpy has no BLAS path for f16: accumulate in f32
        return np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(np.float16)
    return np.matmul(a, b)


def _matmul_compute(call):
    a, b = call.values[0], call.values[1]
    _matmul_shape(call, a.shape, b.shape)  # clear errors instead of numpy's
    return [np.asarray(_matmul(a, b), dtype=a.dtype)]


def_op("MatMul", OpKind.OUT_ELEMWISE_FUSABLE, _matmul_infer, _matmul_compute, inputs=2,
       doc="numpy.matmul: 1-D operands are promoted and the added dim removed; batch dims "
           "broadcast.")


# ---- Gemm --------------------------------------------------------------------------------------

def _gemm_mn(call, a_shape, b_shape):
    attrs = call.attrs
    for v, name in ((attrs["transA"], "transA"), (attrs["transB"], "transB")):
        if v not in (0, 1):
            raise call.error(f"{name} must be 0 or 1, got {v}")
    if len(a_shape) != 2 or len(b_shape) != 2:
        raise call.error(f"A and B must be 2-D, got shapes {_dim_str(a_shape)} and "
                         f"{_dim_str(b_shape)}")
    m, k_a = (a_shape[1], a_shape[0]) if attrs["transA"] else (a_shape[0], a_shape[1])
    k_b, n = (b_shape[1], b_shape[0]) if attrs["transB"] else (b_shape[0], b_shape[1])
    _check_inner(call, k_a, k_b, a_shape, b_shape,
                 f"cannot multiply (transA={attrs['transA']}, transB={attrs['transB']})")
    return m, n


def _check_c(call, c_shape, m, n) -> None:
    """C must broadcast unidirectionally to (M, N)."""
    if len(c_shape) > 2:
        raise call.error(f"C must have rank <= 2 to broadcast to (M, N), got {_dim_str(c_shape)}")
    padded = (1,) * (2 - len(c_shape)) + tuple(c_shape)
    for c, target, name in zip(padded, (m, n), ("M", "N")):
        if c == 1 or not isinstance(c, int) or not isinstance(target, int):
            continue
        if c != target:
            raise call.error(f"C of shape {_dim_str(c_shape)} does not broadcast to "
                             f"(M, N) = ({m}, {n}): dim {c} vs {name}={target}")


def _gemm_infer(call):
    require_dtype(call, 0, MATMUL_DTYPES, "A")
    idx = [0, 1, 2] if call.has_input(2) else [0, 1]
    dtype = require_same_dtype(call, idx)
    m, n = _gemm_mn(call, input_type(call, 0).shape, input_type(call, 1).shape)
    if call.has_input(2):
        _check_c(call, input_type(call, 2).shape, m, n)
    return [TensorType(dtype, (m, n))]


def _gemm_compute(call):
    a, b = call.values[0], call.values[1]
    c = call.values[2] if len(call.values) > 2 else None
    m, n = _gemm_mn(call, a.shape, b.shape)
    if c is not None:
        _check_c(call, c.shape, m, n)
    alpha, beta = float(call.attrs["alpha"]), float(call.attrs["beta"])
    if call.attrs["transA"]:
        a = a.T
    if call.attrs["transB"]:
        b = b.T
    out_dtype = a.dtype
    if out_dtype.kind == "f":
        work = np.float32 if out_dtype == np.float16 else out_dtype
        y = np.matmul(a.astype(work, copy=False), b.astype(work, copy=False))
        if alpha != 1.0:
            y = y * np.asarray(alpha, work)
        if c is not None and beta != 0.0:
            cw = c.astype(work, copy=False)
            y = y + (cw if beta == 1.0 else cw * np.asarray(beta, work))
        y = np.broadcast_to(y, (m, n))
        return [np.array(y, dtype=out_dtype)]
    # integer Gemm: exact while alpha/beta are whole numbers, else via f64 and truncation
    y = np.matmul(a, b)
    if alpha != 1.0:
        y = (y * alpha) if not alpha.is_integer() else y * np.asarray(int(alpha), out_dtype)
    if c is not None and beta != 0.0:
        if beta == 1.0:
            y = y + c
        elif beta.is_integer():
            y = y + c * np.asarray(int(beta), out_dtype)
        else:
            y = y + c * beta
    y = np.broadcast_to(y, (m, n))
    return [np.array(y).astype(out_dtype)]


def_op("Gemm", OpKind.OUT_ELEMWISE_FUSABLE, _gemm_infer, _gemm_compute, inputs=(2, 3),
       attrs={"alpha": ("float", 1.0), "beta": ("float", 1.0), "transA": ("int", 0),
              "transB": ("int", 0)},
       doc="Y = alpha * A' @ B' + beta * C, C broadcast unidirectionally to (M, N).")
