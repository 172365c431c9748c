"""The graph IR: dtypes, tensor types, values, nodes and graphs."""
from . import dtypes
from .dtypes import DType
from .graph import Graph, Node, Value
from .types import UNKNOWN, TensorType

__all__ = ["dtypes", "DType", "Graph", "Node", "Value", "TensorType", "UNKNOWN"]
