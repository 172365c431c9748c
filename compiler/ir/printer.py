"""Text form of the graph IR, in MLIR's generic style:

    graph @main(%x: f32[1,3]) {
      %w = const @w : f32[64,3,7,7]
      %c = const dense<[1, 2]> : i64[2]
      %y = Conv(%x, %w, _) {group = 1, strides = [2, 2]} : f32[1,64,112,112] loc("conv1")
      return %y
    }

`_` is an absent optional input. Constants larger than `elide_threshold` elements print as a
`@name` reference to the weights saved beside the text (see serialize.py)."""
from __future__ import annotations

import json
import re

import numpy as np

from .dtypes import from_numpy
from .types import TensorType

ELIDE_THRESHOLD = 16
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_.$]+$")


def format_name(sigil: str, name: str) -> str:
    return sigil + (name if _PLAIN_NAME.match(name) else json.dumps(name))


def format_scalar(x) -> str:
    if isinstance(x, (bool, np.bool_)):
        return "true" if x else "false"
    if isinstance(x, (np.floating,)):
        return _float_text(str(x))       # numpy's shortest text that round-trips in its own width
    if isinstance(x, float):
        return _float_text(repr(x))
    return str(int(x))


def _float_text(s: str) -> str:
    if s in ("nan", "inf", "-inf"):
        return s
    return s if any(ch in s for ch in ".en") else s + ".0"


def _is_splat(arr: np.ndarray) -> bool:
    flat = arr.reshape(-1)
    return flat.size > 1 and bool((flat == flat[0]).all())


def format_dense(arr: np.ndarray) -> str:
    """dense<...> literal: nested lists, or a single splat value when every element is equal."""
    if _is_splat(arr):
        return f"dense<{format_scalar(arr.reshape(-1)[0])}>"
    if arr.ndim == 0:
        return f"dense<{format_scalar(arr[()])}>"

    def rec(a):
        if a.ndim == 1:
            return "[" + ", ".join(format_scalar(x) for x in a) + "]"
        return "[" + ", ".join(rec(s) for s in a) + "]"
    return f"dense<{rec(arr)}>"


def format_tensor(arr: np.ndarray) -> str:
    return f"{format_dense(arr)} : {TensorType(from_numpy(arr.dtype), arr.shape)}"


def format_attr(value, indent: str, elide: bool) -> str:
    from .graph import Graph
    if isinstance(value, Graph):
        return _graph_text(value, indent, elide)
    if isinstance(value, np.ndarray):
        return format_tensor(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_attr_key(k)} = {format_attr(v, indent, elide)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_attr(v, indent, elide) for v in value) + "]"
    return format_scalar(value)


def is_elided(data: np.ndarray, threshold: int = ELIDE_THRESHOLD) -> bool:
    """Does the elided form print this constant as a `@name` reference (rather than inline)?"""
    return data.size > threshold and not _is_splat(data)


def _attr_key(key: str) -> str:
    return key if re.match(r"^[A-Za-z_][A-Za-z0-9_.]*$", key) else json.dumps(key)


def _const_line(v, elide: bool, threshold: int) -> str:
    if elide and is_elided(v.data, threshold):
        body = format_name("@", v.name)
    else:
        body = format_dense(v.data)
    return f"{format_name('%', v.name)} = const {body} : {v.type}"


def _node_line(node, indent: str, elide: bool) -> str:
    outs = ", ".join(format_name("%", o.name) for o in node.outputs)
    args = ", ".join(format_name("%", v.name) if v is not None else "_" for v in node.inputs)
    text = f"{outs} = {node.op}({args})"
    if node.attrs:
        items = ", ".join(f"{_attr_key(k)} = {format_attr(node.attrs[k], indent, elide)}"
                          for k in sorted(node.attrs))
        text += " {" + items + "}"
    text += " : " + ", ".join(str(o.type) for o in node.outputs)
    if node.name:
        text += f" loc({json.dumps(node.name)})"
    return text


def _graph_text(g, indent: str, elide: bool, threshold: int = ELIDE_THRESHOLD) -> str:
    inner = indent + "  "
    params = ", ".join(f"{format_name('%', v.name)}: {v.type}" for v in g.inputs)
    head = f"graph {format_name('@', g.name)}({params})"
    if g.attrs:
        head += " attributes {" + ", ".join(
            f"{_attr_key(k)} = {format_attr(g.attrs[k], inner, elide)}" for k in sorted(g.attrs)) + "}"
    lines = [head + " {"]
    lines += [inner + _const_line(c, elide, threshold) for c in g.constants]
    lines += [inner + _node_line(n, inner, elide) for n in g.nodes]
    rets = [format_name("%", o.name) + ("" if name == o.name else f" as {json.dumps(name)}")
            for o, name in zip(g.outputs, g.output_names)]
    lines.append(inner + "return " + ", ".join(rets))
    lines.append(indent + "}")
    return "\n".join(lines)


def print_graph(graph, elide_large: bool = True, elide_threshold: int = ELIDE_THRESHOLD) -> str:
    """The graph as text. With `elide_large`, constants over `elide_threshold` elements are printed
    as `@name` references (their data travels beside the text, see serialize.save_graph)."""
    return _graph_text(graph, "", elide_large, elide_threshold) + "\n"
