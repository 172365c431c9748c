"""Ops defined by an ONNX function body. An op without a conversion rule whose schema (at the
model's opset) defines it as a function of other ops - Shrink, GroupNormalization,
MeanVarianceNormalization, RMSNormalization, Attention, ... - is expanded into that body, which
is ONNX's own statement of the op's meaning; the body's nodes are then converted by their rules
at the opset the body is written for. Context-dependent bodies (which depend on the input
types) are built from the types of the actual inputs."""
from __future__ import annotations

import functools
from typing import Optional

import onnx
from onnx import helper

from .loader import DEFAULT_DOMAINS
from .tensors import DTYPES

_MAX_DEPTH = 8
_CODE_OF = {dt: code for code, dt in DTYPES.items()}


def _schema(op_type: str, opset: int):
    try:
        return onnx.defs.get_schema(op_type, opset, "")
    except onnx.defs.SchemaError:
        return None


@functools.lru_cache(maxsize=None)
def has_body(op_type: str, opset: int) -> bool:
    s = _schema(op_type, opset)
    return s is not None and bool(s.function_opset_versions
                                  or s.context_dependent_function_opset_versions)


def _parse(data) -> onnx.FunctionProto:
    if isinstance(data, onnx.FunctionProto):
        return data
    f = onnx.FunctionProto()
    f.ParseFromString(data)
    return f


def body_opset(f: onnx.FunctionProto, default: int) -> int:
    for o in f.opset_import:
        if o.domain in DEFAULT_DOMAINS:
            return int(o.version)
    return default


def plain_body(op_type: str, opset: int) -> Optional[onnx.FunctionProto]:
    s = _schema(op_type, opset)
    if s is None or not s.function_opset_versions:
        return None
    return _parse(s.get_function_with_opset_version(max(s.function_opset_versions)))


@functools.lru_cache(maxsize=None)
def body_problem(op_type: str, opset: int, depth: int = 0) -> Optional[str]:
    """Why the function body of `op_type` cannot be converted (None if it can, or if it is
    context-dependent and can only be judged with the input types at hand)."""
    from .opset_rules import find_rule
    f = plain_body(op_type, opset)
    if f is None:
        return None
    if depth > _MAX_DEPTH:
        return "its function body nests too deeply"
    inner = body_opset(f, opset)
    for n in f.node:
        if n.domain not in DEFAULT_DOMAINS:
            return f"its function body uses {n.domain}::{n.op_type}"
        lookup = find_rule(n.op_type, inner, depth + 1)
        if lookup.rule is None:
            return f"its function body uses {n.op_type} ({lookup.reason})"
    return None


def _type_proto(value) -> bytes:
    if value is None:
        return onnx.TypeProto().SerializeToString()
    dims = [None if d == "?" else d for d in value.type.shape]
    return helper.make_tensor_type_proto(_CODE_OF[value.dtype], dims).SerializeToString()


def body_for(ctx) -> onnx.FunctionProto:
    s = ctx.schema
    if s.context_dependent_function_opset_versions:
        v = max(s.context_dependent_function_opset_versions)
        types = [_type_proto(ctx.input(i)) for i in range(len(ctx.node.input))]
        try:
            data = s.get_context_dependent_function_with_opset_version(
                v, ctx.node.SerializeToString(), types)
        except Exception as e:
            raise ctx.unsupported(f"onnx cannot build its function body: {e}") from None
        return _parse(data)
    return plain_body(ctx.op_type, ctx.opset)


def expand(ctx):
    """The converter of function-defined ops: convert the body node by node."""
    f = body_for(ctx)
    if f is None or not f.node:
        raise ctx.unsupported("it has no function body to expand")
    importer, node = ctx.importer, ctx.node
    inner_opset = body_opset(f, ctx.opset)
    names = {formal: (node.input[i] if i < len(node.input) else "")
             for i, formal in enumerate(f.input)}
    attrs = {}                         # the node's attributes, else the schema's defaults
    for name, spec in ctx.schema.attributes.items():
        if spec.default_value is not None and spec.default_value.type:
            attrs[name] = spec.default_value
    attrs.update({a.name: a for a in f.attribute_proto})
    attrs.update({a.name: a for a in node.attribute})
    hint = next((o for o in node.output if o), node.op_type.lower())
    for bn in f.node:
        if bn.domain not in DEFAULT_DOMAINS:
            raise ctx.unsupported(f"its function body uses {bn.domain}::{bn.op_type}")
        new = onnx.NodeProto(op_type=bn.op_type, name=node.name)
        new.input.extend(names.get(i, "") if i else "" for i in bn.input)
        for o in bn.output:
            names[o] = importer.fresh_name(f"{hint}.{o}") if o else ""
        new.output.extend(names[o] for o in bn.output)
        for a in bn.attribute:
            if a.ref_attr_name:
                if a.ref_attr_name not in attrs:
                    continue           # an unset optional attribute: the body op's default
                a2 = onnx.AttributeProto()
                a2.CopyFrom(attrs[a.ref_attr_name])
                a2.name = a.name
                new.attribute.append(a2)
            else:
                new.attribute.append(a)
        importer.convert_node(new, inner_opset, ctx.depth + 1,
                              f"{ctx.where} in its function body, {bn.op_type}")
    # outputs the node does not request may be left out of the body
    return [importer.env.get(names[o]) if names.get(o) else None for o in f.output]
