"""Reading an ONNX model: from a path (with external data beside it), bytes or a ModelProto;
structural checks with clear messages; onnx.checker; local-function inlining.

Models over 2 GB only work through a path with external data: the proto itself stays small
because the model is read with `load_external_data=False` (weights are read tensor by tensor
later, by `tensors.tensor_to_array`), and the checker is run on the path, never on an in-memory
proto that would have to be serialized."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import onnx

from .errors import OnnxImportError, one_line

TWO_GB = 2 ** 31
DEFAULT_DOMAINS = ("", "ai.onnx")
ML_DOMAIN = "ai.onnx.ml"


@dataclass
class LoadedModel:
    proto: onnx.ModelProto
    source: str                  # how errors name the model: its path, or "<ModelProto 'g'>"
    base_dir: str                # where external data files are looked up
    path: Optional[Path] = None
    checked: bool = False        # onnx.checker ran and passed
    check_skipped: str = ""      # why the checker did not run, if it did not

    @property
    def graph(self) -> onnx.GraphProto:
        return self.proto.graph

    def opset(self, domain: str = "") -> Optional[int]:
        domains = DEFAULT_DOMAINS if domain in DEFAULT_DOMAINS else (domain,)
        for o in self.proto.opset_import:
            if o.domain in domains:
                return int(o.version)
        return None


def _parse_file(path: Path) -> onnx.ModelProto:
    try:
        return onnx.load_model(str(path), load_external_data=False)
    except Exception as e:   # DecodeError, ValueError, UnicodeDecodeError, ...
        raise OnnxImportError(f"{path}: not a readable ONNX model ({type(e).__name__}: "
                              f"{one_line(e) or 'cannot parse the protobuf'}); is the file "
                              f"truncated or not an ONNX file?") from None


def load(model, base_dir: Optional[str] = None, check: bool = True,
         inline_functions: bool = True) -> LoadedModel:
    """Read `model` (a path, bytes or an onnx.ModelProto) and check it."""
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.exists():
            raise OnnxImportError(f"{path}: no such file")
        if path.is_dir():
            raise OnnxImportError(f"{path}: is a directory, not an ONNX model file")
        proto = _parse_file(path)
        loaded = LoadedModel(proto, str(path), base_dir if base_dir is not None
                             else str(path.parent), path)
    elif isinstance(model, onnx.ModelProto):
        name = model.graph.name if model.HasField("graph") else ""
        loaded = LoadedModel(model, f"<ModelProto '{name}'>" if name else "<ModelProto>",
                             base_dir if base_dir is not None else "")
    elif isinstance(model, (bytes, bytearray)):
        try:
            proto = onnx.load_model_from_string(bytes(model))
        except Exception as e:
            raise OnnxImportError(f"<bytes>: not a readable ONNX model ({type(e).__name__}: "
                                  f"{one_line(e)})") from None
        loaded = LoadedModel(proto, "<bytes>", base_dir if base_dir is not None else "")
    else:
        raise OnnxImportError(f"cannot import an object of type {type(model).__name__}: give a "
                              f"path to an .onnx file, its bytes, or an onnx.ModelProto")
    precheck(loaded)
    if check:
        run_checker(loaded)
    if inline_functions and loaded.proto.functions:
        _inline_local_functions(loaded)
    return loaded


def node_label(node: onnx.NodeProto) -> str:
    """How messages name an ONNX node: its name, or its op and first output when unnamed."""
    if node.name:
        return f"'{node.name}'"
    out = next((o for o in node.output if o), "")
    return f"<unnamed {node.op_type}{' -> ' + repr(out) if out else ''}>"


def precheck(loaded: LoadedModel) -> None:
    """Checks whose onnx.checker messages would be vague, phrased for the user."""
    m, src = loaded.proto, loaded.source
    if not m.HasField("graph") or (not m.graph.node and not m.graph.output):
        raise OnnxImportError(f"{src}: not an ONNX model (it has no graph); is the file "
                              f"truncated or not an ONNX file?")
    if m.ir_version <= 0:
        raise OnnxImportError(f"{src}: not a valid ONNX model (ir_version is not set)")
    opset = loaded.opset()
    if opset is None and any(n.domain in DEFAULT_DOMAINS for n in m.graph.node):
        raise OnnxImportError(f"{src}: the model imports no opset of the default ONNX domain "
                              f"(opset_import has: {format_opsets(m)}), but uses its operators")
    newest = onnx.defs.onnx_opset_version()
    if opset is not None and opset > newest:
        raise OnnxImportError(f"{src}: the model uses opset {opset} of the default ONNX domain, "
                              f"but the installed onnx package {onnx.__version__} knows opsets "
                              f"up to {newest}")
    declared = {"" if o.domain in DEFAULT_DOMAINS else o.domain for o in m.opset_import}
    local = {(f.domain, f.name) for f in m.functions}
    g = m.graph
    known = {i.name for i in g.input} | {t.name for t in g.initializer}
    known |= {s.values.name for s in g.sparse_initializer}
    for n in g.node:
        known.update(o for o in n.output if o)
    for n in g.node:
        dom = "" if n.domain in DEFAULT_DOMAINS else n.domain
        if dom not in declared and (dom, n.op_type) not in local:
            raise OnnxImportError(f"{src}: node {node_label(n)} ({n.op_type}) uses domain "
                                  f"'{dom}', which the model does not import (opset_import "
                                  f"has: {format_opsets(m)})")
        for i, name in enumerate(n.input):
            if name and name not in known:
                raise OnnxImportError(f"{src}: node {node_label(n)} ({n.op_type}) input {i} "
                                      f"'{name}' is not produced by any node, graph input or "
                                      f"initializer")
    for o in g.output:
        if o.name not in known:
            raise OnnxImportError(f"{src}: graph output '{o.name}' is not produced by any node, "
                                  f"graph input or initializer")


def format_opsets(m: onnx.ModelProto) -> str:
    return ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in m.opset_import) or "nothing"


def run_checker(loaded: LoadedModel) -> None:
    try:
        if loaded.path is not None:
            onnx.checker.check_model(str(loaded.path))
        else:
            size = loaded.proto.ByteSize()
            if size >= TWO_GB:
                # check_model(proto) would serialize it, which protobuf cannot do past 2 GB
                loaded.check_skipped = (f"the in-memory model is {size} bytes (over 2 GB); "
                                        f"import it from a path with external data to check it")
                return
            onnx.checker.check_model(loaded.proto)
    except onnx.checker.ValidationError as e:
        raise OnnxImportError(f"{loaded.source}: invalid ONNX model (onnx.checker): "
                              f"{one_line(e)}") from None
    except (OSError, ValueError) as e:
        raise OnnxImportError(f"{loaded.source}: cannot check the model: {one_line(e)}") from None
    loaded.checked = True


def _inline_local_functions(loaded: LoadedModel) -> None:
    """Replace calls of model-local functions by their bodies (onnx.inliner)."""
    if loaded.proto.ByteSize() >= TWO_GB:
        return   # the inliner serializes the model; calls stay and are reported as unsupported
    from onnx import inliner
    try:
        loaded.proto = inliner.inline_local_functions(loaded.proto)
    except Exception as e:
        raise OnnxImportError(f"{loaded.source}: cannot inline the model's local functions: "
                              f"{one_line(e)}") from None
