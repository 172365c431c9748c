"""The conversion rules, as data: ONNX op type -> [Rule(since_version, converter)].

An ONNX operator's meaning is fixed per *schema version* (`onnx.defs.get_schema(op, opset)
.since_version`). A rule registered with `since=S` converts the schema versions V with
S <= V < S' (S' = the since of the op's next rule), so a node is converted by the rule with the
newest `since` <= the op's version at the model's opset: the model's own semantics, never newer
ones. Every rule has been checked against all schema versions up to REVIEWED_OPSET; a model
whose opset brings a newer version of an op (a newer onnx package) gets a clear "unsupported"
instead of a guess.

Adding an op that means the same as one of ours: add it to `DIRECT` (op -> first schema version
with our semantics). Anything else: write a converter and decorate it with `@rule(op, since=V)`.
An op with no rule at all that ONNX defines by a function body is expanded into that body
(functions.py), so a rule is only needed where the body is missing or a direct op is better.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Optional

import onnx

from . import functions

REVIEWED_OPSET = 28


@dataclass(frozen=True)
class Rule:
    op_type: str
    since: int
    convert: Callable
    doc: str = ""


RULES: dict[str, list[Rule]] = {}


def register(op_type: str, since: int, convert: Callable, doc: str = "") -> Rule:
    rules = RULES.setdefault(op_type, [])
    if any(r.since == since for r in rules):
        raise ValueError(f"two conversion rules for {op_type} since version {since}")
    r = Rule(op_type, since, convert, doc or (convert.__doc__ or "").strip().split("\n")[0])
    rules.append(r)
    rules.sort(key=lambda x: x.since)
    return r


def rule(*op_types: str, since: int):
    """Decorator: `@rule("Softmax", "LogSoftmax", since=1)` registers a converter."""
    def deco(fn):
        for op in op_types:
            register(op, since, fn)
        return fn
    return deco


@functools.lru_cache(maxsize=None)
def schema_version(op_type: str, opset: int) -> Optional[int]:
    """since_version of `op_type` (default domain) at `opset`; None if no such operator."""
    try:
        return int(onnx.defs.get_schema(op_type, opset, "").since_version)
    except onnx.defs.SchemaError:
        return None


@dataclass(frozen=True)
class Lookup:
    rule: Optional[Rule]
    version: Optional[int]     # the op's schema version at the model's opset
    reason: str = ""           # why there is no rule


def find_rule(op_type: str, opset: int, depth: int = 0) -> Lookup:
    """The rule converting `op_type` (default domain) in a model of `opset`. Ops without one
    whose schema defines a function body are expanded into it (see functions.py)."""
    version = schema_version(op_type, opset)
    if version is None:
        return Lookup(None, None, f"not an ONNX operator at opset {opset}")
    rules = RULES.get(op_type)
    reason = "not supported by aicc"
    if not rules and op_type in _our_ops():
        reason += (f" (aicc has an op {op_type}, but no reviewed conversion rule: add one to "
                   f"frontends/onnx/opset_rules.py)")
    if rules:
        reviewed = schema_version(op_type, REVIEWED_OPSET)
        if reviewed is not None and version > reviewed:
            return Lookup(None, version, f"version {version} is newer than aicc's rules "
                                         f"(reviewed up to opset {REVIEWED_OPSET})")
        usable = [r for r in rules if r.since <= version]
        if usable:
            return Lookup(usable[-1], version)
        reason = (f"version {version} (opset {opset}) predates the oldest supported version "
                  f"{rules[0].since}")
    if functions.has_body(op_type, opset):
        problem = functions.body_problem(op_type, opset, depth)
        if problem is None:
            return Lookup(_function_rule(op_type, version), version)
        reason = f"{reason}; {problem}"
    return Lookup(None, version, reason)


def _our_ops():
    from compiler.ops import OPS
    return OPS


@functools.lru_cache(maxsize=None)
def _function_rule(op_type: str, version: int) -> Rule:
    return Rule(op_type, version, functions.expand, "expanded into its ONNX function body")


def supported_ops(opset: int) -> list:
    """The default-domain op types that a model of `opset` may use."""
    return sorted(op for op in RULES if find_rule(op, opset).rule is not None)


# ---- the 1:1 rules ---------------------------------------------------------------------------
def direct(target: Optional[str] = None, ignored=()):
    """A converter for an ONNX op whose meaning equals our op `target` (default: same name):
    inputs and outputs map positionally, attributes by name (see NodeContext.attrs_for)."""
    def convert(ctx):
        op = target or ctx.op_type
        from compiler.ops import OPS
        opdef = OPS[op]
        inputs = ctx.inputs()
        if opdef.max_inputs is not None and len(inputs) > opdef.max_inputs:
            raise ctx.unsupported(f"has {len(inputs)} inputs; aicc's {op} takes at most "
                                  f"{opdef.max_inputs}")
        n_out = max(ctx.num_outputs, opdef.min_outputs)
        return ctx.op(op, *inputs, n_outputs=n_out, **ctx.attrs_for(op, ignored))
    convert.__doc__ = f"1:1 to {target}" if target else "1:1"
    return convert


# op type -> the first schema version whose meaning is our op's (reviewed up to REVIEWED_OPSET;
# later versions only widened the type lists, or added attributes our op has).
DIRECT = {
    # unary math (version 6 dropped the legacy `consumed_inputs`)
    "Abs": 6, "Neg": 6, "Floor": 6, "Ceil": 6, "Reciprocal": 6, "Exp": 6, "Log": 6, "Sqrt": 6,
    "Sigmoid": 6, "Tanh": 6, "Relu": 6, "Sign": 9, "Erf": 9, "IsNaN": 9, "IsInf": 10,
    "Round": 11, "Sin": 7, "Cos": 7, "Tan": 7, "Asin": 7, "Acos": 7, "Atan": 7, "Sinh": 9,
    "Cosh": 9, "Asinh": 9, "Acosh": 9, "Atanh": 9, "Not": 1,
    # activations
    "Elu": 6, "Selu": 6, "HardSigmoid": 6, "LeakyRelu": 6, "Softplus": 1, "Softsign": 1,
    "Celu": 12, "HardSwish": 14, "Mish": 18, "ThresholdedRelu": 10, "Gelu": 20, "Swish": 24,
    "PRelu": 7,
    # binary / variadic (version 7 brought numpy broadcasting; Max/Min/Sum/Mean-6 require equal
    # shapes, which broadcasting accepts unchanged)
    "Add": 7, "Sub": 7, "Mul": 7, "Div": 7, "Pow": 7, "Mod": 10, "Equal": 7, "Less": 7,
    "Greater": 7, "LessOrEqual": 12, "GreaterOrEqual": 12, "And": 7, "Or": 7, "Xor": 7,
    "Max": 6, "Min": 6, "Sum": 6, "Mean": 6, "Where": 9, "CastLike": 15,
    # linear algebra, convolution, pooling, normalization
    "MatMul": 1, "Gemm": 7, "Conv": 1, "ConvTranspose": 1, "MaxPool": 1, "AveragePool": 1,
    "LpPool": 2, "GlobalAveragePool": 1, "GlobalMaxPool": 1, "GlobalLpPool": 2,
    "InstanceNormalization": 6, "LayerNormalization": 17, "LpNormalization": 1,
    # layout and indexing
    "Reshape": 5, "Flatten": 1, "Transpose": 1, "Expand": 8, "Tile": 6, "Shape": 1, "Size": 1,
    "Identity": 1, "Concat": 4, "Slice": 10, "Pad": 11, "Squeeze": 13,
    "Unsqueeze": 13, "Gather": 1, "GatherElements": 11, "GatherND": 11, "ScatterElements": 11,
    "ScatterND": 11, "OneHot": 9, "NonZero": 9, "Compress": 9, "DepthToSpace": 1,
    "SpaceToDepth": 1, "Trilu": 14, "CumSum": 11, "ReverseSequence": 10, "TopK": 10,
    "ConstantOfShape": 9, "Range": 11, "EyeLike": 9, "ArgMax": 1, "ArgMin": 1, "Clip": 11,
    "ReduceSum": 13, "ReduceMean": 18, "ReduceMax": 18, "ReduceMin": 18, "ReduceProd": 18,
    "ReduceL1": 18, "ReduceL2": 18, "ReduceSumSquare": 18, "ReduceLogSum": 18,
    "ReduceLogSumExp": 18, "Resize": 13,
}
for _op, _since in DIRECT.items():
    register(_op, _since, direct())
register("Scatter", 9, direct("ScatterElements"), "the deprecated Scatter is ScatterElements")

# The converters of ops whose meaning changed across opsets register themselves on import.
from . import converters_math, converters_nn, converters_shape  # noqa: E402,F401
