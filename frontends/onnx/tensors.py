"""ONNX tensors, types and attributes -> numpy arrays, TensorTypes and Python values.

Weights go through `onnx.numpy_helper.to_array`, which views raw (and external) data with
`np.frombuffer` instead of copying it element by element. External data is read from the
model's directory (`base_dir`) without being written back into the proto."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from compiler.errors import UnsupportedError
from compiler.ir.dtypes import DType
from compiler.ops.elementwise import ONNX_DTYPE

from .errors import OnnxImportError, one_line

# ONNX TensorProto.DataType code -> our dtype (the same table Cast's `to` uses).
DTYPES: dict[int, DType] = dict(ONNX_DTYPE)


def onnx_dtype_name(code: int) -> str:
    try:
        return TensorProto.DataType.Name(code)
    except ValueError:
        return f"<unknown data type {code}>"


def supported_dtypes_text() -> str:
    return ", ".join(onnx_dtype_name(c) for c in DTYPES)


def dtype_of(code: int, what: str) -> DType:
    """Our dtype for ONNX data type `code`; `what` names the tensor in the error."""
    if code in DTYPES:
        return DTYPES[code]
    if code == TensorProto.UNDEFINED:
        raise OnnxImportError(f"{what} has no element type (UNDEFINED)")
    raise UnsupportedError(f"{what} has element type {onnx_dtype_name(code)}, which aicc does "
                           f"not support (supported: {supported_dtypes_text()})")


def dtype_label(code: int) -> str:
    """How inspect prints an ONNX element type: our name when supported, else ONNX's."""
    return DTYPES[code].name if code in DTYPES else onnx_dtype_name(code).lower()


def itemsize_bits(code: int) -> Optional[int]:
    """Bits per element of an ONNX data type (None for strings / unknown)."""
    if code in DTYPES:
        return DTYPES[code].itemsize * 8
    if code in (TensorProto.STRING, TensorProto.UNDEFINED):
        return None
    name = onnx_dtype_name(code)
    if name.endswith("4") and ("INT" in name or "FLOAT4" in name):
        return 4
    if name in ("INT2", "UINT2"):
        return 2
    if name.startswith("FLOAT6"):
        return 6
    try:
        return np.dtype(helper.tensor_dtype_to_np_dtype(code)).itemsize * 8
    except Exception:
        return None


def uses_external_data(t: TensorProto) -> bool:
    return t.HasField("data_location") and t.data_location == TensorProto.EXTERNAL


def external_location(t: TensorProto) -> str:
    for e in t.external_data:
        if e.key == "location":
            return e.value
    return "?"


def tensor_to_array(t: TensorProto, base_dir: str, what: str) -> np.ndarray:
    """The data of `t` as a read-only-friendly numpy array, checked against its dims and dtype.

    `what` names the tensor in errors, e.g. "initializer 'conv1.weight'"."""
    dt = dtype_of(t.data_type, what)
    dims = [int(d) for d in t.dims]
    if any(d < 0 for d in dims):
        raise OnnxImportError(f"{what} has negative dims {dims}")
    if t.HasField("segment"):
        raise UnsupportedError(f"{what} is a segment of a larger tensor; segments are not "
                               f"supported")
    external = uses_external_data(t)
    try:
        arr = numpy_helper.to_array(t, base_dir)
    except Exception as e:   # onnx raises ValueError, TypeError, OSError or its C++ errors
        if external:
            raise OnnxImportError(
                f"{what}: cannot read its external data '{external_location(t)}' (relative to "
                f"'{base_dir or '.'}'): {one_line(e)}") from None
        raise OnnxImportError(_data_mismatch(t, dt, dims, what, e)) from None
    if arr.dtype != dt.np_dtype:
        arr = arr.astype(dt.np_dtype)
    if list(arr.shape) != dims:
        raise OnnxImportError(_data_mismatch(t, dt, dims, what, None))
    return arr


def _data_mismatch(t: TensorProto, dt: DType, dims: list, what: str, err) -> str:
    n = math.prod(dims)
    if t.HasField("raw_data") or uses_external_data(t):
        have = f"{len(t.raw_data)} bytes of raw data" if t.HasField("raw_data") else "external data"
    else:
        field = helper.tensor_dtype_to_field(t.data_type)
        have = f"{len(getattr(t, field))} values in {field}"
    msg = (f"{what}: its data does not match its declared shape {dims} and type "
           f"{onnx_dtype_name(t.data_type)} (expected {n} elements = {n * dt.itemsize} bytes, "
           f"found {have})")
    return msg + (f": {one_line(err)}" if err is not None else "")


def sparse_to_array(sp: onnx.SparseTensorProto, base_dir: str, what: str) -> np.ndarray:
    """A dense array from a SparseTensorProto (values at linear or coordinate indices)."""
    dims = [int(d) for d in sp.dims]
    values = tensor_to_array(sp.values, base_dir, f"{what} (values)").reshape(-1)
    idx = tensor_to_array(sp.indices, base_dir, f"{what} (indices)")
    dense = np.zeros(math.prod(dims), dtype=values.dtype)
    try:
        if idx.ndim == 1:
            dense[idx.astype(np.int64)] = values
        elif idx.ndim == 2:
            flat = np.ravel_multi_index(tuple(idx.astype(np.int64).T), dims)
            dense[flat] = values
        else:
            raise ValueError(f"indices must be 1-D or 2-D, got shape {list(idx.shape)}")
    except (ValueError, IndexError) as e:
        raise OnnxImportError(f"{what}: invalid sparse tensor: {one_line(e)}") from None
    return dense.reshape(dims)


def attribute_value(a: onnx.AttributeProto, base_dir: str = ""):
    """A node attribute as a Python value: int, float, str, lists of those, np.ndarray (for
    tensors) or the raw GraphProto (subgraphs are only looked at by converters that want them)."""
    A = onnx.AttributeProto
    what = f"attribute '{a.name}'"
    if a.ref_attr_name:
        raise OnnxImportError(f"{what} refers to a function attribute ('{a.ref_attr_name}') "
                              f"outside a function")
    if a.type == A.TENSOR:
        return tensor_to_array(a.t, base_dir, what)
    if a.type == A.SPARSE_TENSOR:
        return sparse_to_array(a.sparse_tensor, base_dir, what)
    if a.type == A.TENSORS:
        return [tensor_to_array(t, base_dir, what) for t in a.tensors]
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if isinstance(v, list):
        return [x.decode("utf-8", errors="replace") if isinstance(x, bytes) else x for x in v]
    return v


def schema_default(schema, name: str):
    """The default value an ONNX schema declares for attribute `name` (None if it has none)."""
    spec = schema.attributes.get(name) if schema is not None else None
    if spec is None or spec.default_value is None or spec.default_value.type == 0:
        return None
    return attribute_value(spec.default_value)


# ---- value types ----------------------------------------------------------------------------
def tensor_type_of(value_info: onnx.ValueInfoProto):
    """(elem_type, dims) of a tensor ValueInfoProto; dims is None for an unknown rank, and each
    dim is an int, a dim_param string, or None (unknown). Non-tensor types raise."""
    tp = value_info.type
    kind = tp.WhichOneof("value")
    if kind is None:
        return None, None
    if kind != "tensor_type":
        raise UnsupportedError(f"'{value_info.name}' has type {kind.replace('_type', '')}; only "
                               f"tensors are supported")
    tt = tp.tensor_type
    if not tt.HasField("shape"):
        return tt.elem_type, None
    dims = []
    for d in tt.shape.dim:
        which = d.WhichOneof("value")
        if which == "dim_value":
            dims.append(int(d.dim_value))
        elif which == "dim_param" and d.dim_param:
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return tt.elem_type, dims


def format_dims(dims) -> str:
    if dims is None:
        return "[?...]"
    return "[" + ",".join("?" if d is None else str(d) for d in dims) + "]"
