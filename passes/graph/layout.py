"""layout: move convolution networks to the data layout the target prefers (as TVM's
AlterOpLayout / ConvertLayout do on x86).

Every 2-D Conv with constant weights and a static channel count becomes a ConvNCHWc on
channel-blocked NCHW{block}c data (weights re-laid out at compile time to OIHW{i}i{block}o, the
bias to [M/block, block]) or, with layout=NHWC, a ConvNHWC (HWIO weights). The new layout then
spreads forward through the ops that do not care about it: unary elementwise ops, Clip,
broadcasting arithmetic whose other operand is in the same layout, a scalar or a per-channel
constant (re-laid out at compile time), inference BatchNormalization (as a per-channel
multiply-add), Concat and the pools (MaxPool/AveragePool/LpPool/Global*Pool get blocked or NHWC
variants). Conversions (LayoutTransform) are inserted only where a value enters that region and
in front of ops that need NCHW (Flatten, Reshape, Gemm, Softmax, graph outputs, anything
unknown); finally conversion pairs (A -> B -> A) cancel and chains merge.

Channel counts not divisible by the block are padded with zeros on the way in and cropped on
the way out (see _layout_rules for what may run on padded tensors). A Conv the pass cannot
handle (not 2-D, symbolic channels, weights not constant, grouped with unaligned channels) stays
in NCHW, with the reason logged. The counts of conversions inserted and removed and of
converted convolutions go to the log, to `last_report` and to graph.attrs["layout"]."""
from __future__ import annotations

from compiler.errors import PassError
from compiler.ops.layout import from_nchw, parse_layout, unpack_conv_weight
from compiler.transform import Pass, option, register_pass

from ._layout_rules import Target, Unsupported, rule_for

_LT = "LayoutTransform"
# ops that keep a zero lane zero (for cancelling blocked -> NCHW -> blocked pairs on padded data)
_ZERO_KEEPING = frozenset(["Relu", "Identity", "Neg", "Abs", "LeakyRelu", "Tanh", "MaxPoolNCHWc",
                           "AveragePoolNCHWc", "GlobalAveragePoolNCHWc", "GlobalMaxPoolNCHWc"])


@register_pass
class Layout(Pass):
    """Convert convolution networks to a target layout (NCHW{block}c or NHWC).

    Convs become ConvNCHWc/ConvNHWC with weights re-laid out at compile time; layout-agnostic
    ops (elementwise, per-channel arithmetic, BatchNormalization, pools, Concat) follow them;
    LayoutTransform conversions are inserted only at the region's boundaries, and cancelling
    pairs are removed. Channels not divisible by the block are zero-padded. Reports
    graph.attrs["layout"] = {inserted, removed, converted_convs, target} (also `last_report`):
    `inserted` counts the conversions in the result that were not in the input, `removed` the
    input's conversions that are gone."""
    name = "layout"
    opt_level = 3
    layout: str = option("NCHWc", 'target layout: "NCHWc" (channel-blocked by `block`) or "NHWC"')
    block: int = option(8, "channel block of NCHWc in elements (the vector width: 8 for AVX2 f32)")

    def __post_init__(self):
        if self.layout not in ("NCHWc", "NHWC"):
            raise PassError(f"layout: option layout is {self.layout!r}; expected NCHWc or NHWC")
        if self.block < 1:
            raise PassError(f"layout: option block must be >= 1, got {self.block}")
        self.last_report: dict = {}

    def run(self, graph, ctx) -> bool:
        target = Target(self.layout, self.block)
        before = {n for n in graph.nodes if n.op == _LT}
        conv = _Converter(graph, target, ctx, self.name)
        convs = conv.run()
        merged = cancel_conversions(graph)
        after = {n for n in graph.nodes if n.op == _LT}
        report = {"inserted": len(after - before), "removed": len(before - after),
                  "converted_convs": convs, "target": target.name}
        self.last_report = report
        changed = bool(convs or merged or conv.changed)
        if changed:
            graph.attrs["layout"] = dict(report)
            ctx.log(f"{convs} convolutions and {conv.moved - convs} other nodes now run in "
                    f"{target.name}; layout conversions: {report['inserted']} inserted, "
                    f"{report['removed']} removed", self.name)
        else:
            ctx.log("nothing to convert", self.name)
        return changed


class _Converter:
    """One forward walk: builds each convertible node's twin in the target layout after it,
    then gives the original results' remaining users a conversion back and erases the
    originals."""

    def __init__(self, graph, target: Target, ctx, pass_name: str):
        self.graph, self.target, self.ctx, self.pass_name = graph, target, ctx, pass_name
        self.twin: dict[int, object] = {}        # id(original value) -> value in target layout
        self.consts: dict = {}
        self.moved = 0
        self.changed = False

    # ---- the interface rules use ----------------------------------------------------------------
    def get(self, v):
        return None if v is None else self.twin.get(id(v))

    def to_target(self, v):
        t = self.get(v)
        if t is not None:
            return t
        if v.is_constant:
            t = self.const(from_nchw(v.data, self.target.name), f"{v.name}_{self.target.tag}",
                           (id(v), "activation"))
        else:
            attrs = self._lt_attrs("NCHW", self.target.name, v.shape[1])
            t = self.graph.create_node(_LT, [v], attrs,
                                       output_names=[f"{v.name}_{self.target.tag}"]).output
        self.twin[id(v)] = t
        return t

    def const(self, data, hint: str, key):
        c = self.consts.get(key)
        if c is None:
            c = self.consts[key] = self.graph.add_constant(data, hint)
        return c

    def emit(self, node, op, inputs, attrs, hint_suffix=""):
        names = [f"{o.name}_{self.target.tag}{hint_suffix}" for o in node.outputs]
        new = self.graph.create_node(op, inputs, attrs, name=node.name, output_names=names,
                                     num_outputs=len(node.outputs))
        return new.outputs

    def _lt_attrs(self, src, dst, channels):
        attrs = {"src_layout": src, "dst_layout": dst}
        if self.target.blocked:
            attrs["channels"] = int(channels)
        return attrs

    # ---- the walk -------------------------------------------------------------------------
    def run(self) -> int:
        graph = self.graph
        converted, convs = [], 0
        seeded = self._seed()
        for node in list(graph.nodes):
            rule = rule_for(node)
            if node.op != "Conv" and not any(self.get(v) is not None for v in node.inputs):
                continue
            if rule is None:
                self._log(node, f"{node.op} needs NCHW: converting back in front of it")
                continue
            try:
                with graph.inserting_after(node):
                    outs = rule(node, self)
            except Unsupported as e:
                self._log(node, f"stays in NCHW: {e}")
                continue
            for o, t in zip(node.outputs, outs):
                want = self.target.shape(o.shape) if o.type.rank == 4 else None
                assert want is not None and t.type.shape == want and t.dtype == o.dtype, \
                    f"layout: {node.describe()} became {t.type}, expected {want}"
                self.twin[id(o)] = t
            converted.append(node)
            convs += node.op == "Conv"
        self.moved = len(converted)
        self._finish(converted)
        for t in seeded:                # conversions out of the layout that nothing reads now
            if not t.output.uses and not any(r is t.output for r in graph.outputs):
                graph.erase_node(t)
                self.changed = True
        return convs

    def _seed(self) -> list:
        """Conversions already in the graph from the target layout to NCHW: their input is the
        value's twin (when its padded lanes, if any, are known zero)."""
        seeded = []
        for t in self.graph.nodes:
            if t.op != _LT or t.attrs["src_layout"] != self.target.name \
                    or t.attrs["dst_layout"] != "NCHW":
                continue
            x, c = t.inputs[0], t.output.shape[1]
            if isinstance(c, int) and x.shape == self.target.shape(t.output.shape) and (
                    not self.target.padded(c) or _zero_padded(x, c)):
                self.twin[id(t.output)] = x
                seeded.append(t)
        return seeded

    def _finish(self, converted):
        graph = self.graph
        done = {id(n) for n in converted}
        renames = []
        for node in converted:
            for o in node.outputs:
                outside = (any(id(u) not in done for u in o.users)
                           or any(r is o for r in graph.outputs))
                if not outside:
                    continue
                t = self.twin[id(o)]
                with graph.inserting_after(t.producer):
                    back = graph.create_node(_LT, [t], self._lt_attrs(self.target.name, "NCHW",
                                                                      o.shape[1]),
                                             output_names=[f"{o.name}_nchw"]).output
                graph.replace_all_uses_with(o, back)
                renames.append((back, o.name))
        old_consts = {id(v): v for n in converted for v in n.inputs
                      if v is not None and v.is_constant}
        for node in reversed(converted):
            graph.erase_node(node)
        for back, name in renames:      # the value back in NCHW takes the original's name
            if graph.fresh_name(name) == name:
                graph.rename(back, name)
        for c in old_consts.values():   # weights now live re-laid out
            if not c.uses and not any(r is c for r in graph.outputs):
                graph.erase_constant(c)
        self.changed = self.changed or bool(converted)

    def _log(self, node, message):
        self.ctx.log(f"{node.describe()}: {message}", self.pass_name)


# ---- cancelling and merging conversions ---------------------------------------------------------

def _logical_channels(node):
    """The channel count a LayoutTransform's input stands for."""
    kind, k = parse_layout(node.attrs["src_layout"])
    x = node.inputs[0]
    if "channels" in node.attrs:
        return int(node.attrs["channels"])
    if kind == "NCHWc":
        return x.shape[1] * k if isinstance(x.shape[1], int) else None
    return x.shape[1] if kind == "NCHW" else x.shape[3]


def _zero_padded(v, channels, depth=0) -> bool:
    """Are the lanes of blocked value `v` past `channels` known to be zero?"""
    p = v.producer
    if p is None or depth > 64:
        return False
    if p.op == _LT:
        return (parse_layout(p.attrs["dst_layout"])[0] == "NCHWc"
                and _logical_channels(p) == channels)
    if p.op == "ConvNCHWc":
        w, b = p.inputs[1], p.inputs[2] if len(p.inputs) > 2 else None
        if not w.is_constant or (b is not None and not b.is_constant):
            return False
        zero_w = not unpack_conv_weight(w.data)[channels:].any()
        return zero_w and (b is None or not b.data.reshape(-1)[channels:].any())
    if p.op in _ZERO_KEEPING:
        return _zero_padded(p.inputs[0], channels, depth + 1)
    return False


def _compose(t1, t2):
    """t2(t1(x)) as ("same", None) when it is x itself, ("merge", attrs) when it is one
    LayoutTransform of x, or None."""
    a, b = t1.attrs["src_layout"], t1.attrs["dst_layout"]
    c = t2.attrs["dst_layout"]
    if b != t2.attrs["src_layout"]:
        return None
    cx = _logical_channels(t1)
    if parse_layout(b)[0] == "NCHWc" and (cx is None or _logical_channels(t2) != cx):
        return None                      # t2 crops (or keeps) lanes t1 did not have
    attrs = {"src_layout": a, "dst_layout": c}
    if "channels" in t1.attrs:
        attrs["channels"] = t1.attrs["channels"]
    if a == c:
        kind, k = parse_layout(a)
        x = t1.inputs[0]
        if kind != "NCHWc" or (isinstance(x.shape[1], int) and x.shape[1] * k == cx) \
                or _zero_padded(x, cx):
            return "same", None
    return "merge", attrs


def cancel_conversions(graph) -> int:
    """Remove LayoutTransform(LayoutTransform(x)) pairs that are the identity and merge other
    chains of two into one; returns how many conversions were removed."""
    removed = 0
    progress = True
    while progress:
        progress = False
        for t2 in list(graph.nodes):
            if t2.graph is not graph or t2.op != _LT:
                continue
            t1 = t2.inputs[0].producer
            if t1 is None or t1.op != _LT:
                continue
            mid = t1.output
            only_use = len(mid.uses) == 1 and not any(r is mid for r in graph.outputs)
            result = _compose(t1, t2)
            if result is None or (result[0] == "merge" and not only_use):
                continue
            if result[0] == "same":
                graph.replace_all_uses_with(t2.output, t1.inputs[0])
                graph.erase_node(t2)
                removed += 1
            else:
                t2.set_input(0, t1.inputs[0])
                t2.attrs = result[1]
            if not mid.uses and not any(r is mid for r in graph.outputs):
                graph.erase_node(t1)
                removed += 1
            progress = True
    return removed
