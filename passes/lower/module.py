"""Graph IR -> one LoopModule: buffers for every value, one kernel function per top-level node,
and the entry function `main(inputs..., outputs...)` that calls them in order (one native call
runs the whole model).

Buffers: graph inputs and outputs are `main`'s parameters; weights are `const` buffers;
intermediates are `arena` buffers at the memory plan's offsets (graph.attrs["memory_plan"]; a
sequential layout when no memory-plan pass ran); kernel temporaries live in a scratch region
above the plan, reused by every kernel."""
from __future__ import annotations

import re
from typing import Optional

import numpy as np

from compiler.loop import Buffer, CallFunc, LoopFunc, LoopModule, seq
from compiler.loop.visitor import buffers_used

from .context import node_label
from .group import GroupLowering
from .registry import COMPUTE_RULES, KERNEL_RULES, LoweringError
from .target import LowerTarget
from .tensor import BufferRef, ScalarConstRef

ALIGN = 64


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


class ModuleBuilder:
    def __init__(self, name: str, arena_base: int):
        self.lm = LoopModule(name)
        self.lm.arena_size = arena_base
        self.arena_base = _align(arena_base)
        self.scratch_top = self.arena_base
        self.taken: set = set()
        self._consts: dict = {}

    def name(self, hint: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]", "_", hint) or "t"
        if not re.match(r"[A-Za-z_]", base):
            base = "v" + base
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def add_const(self, hint: str, data: np.ndarray) -> Buffer:
        return self.lm.add_const(self.name(hint), data)

    def const_ref(self, value):
        data = np.asarray(value.data)
        if data.size == 1:
            return ScalarConstRef(value.shape, value.dtype, data)
        key = id(value.data)
        if key not in self._consts:
            self._consts[key] = self.add_const("w_" + value.name, data.reshape(value.shape))
        return BufferRef(self._consts[key], data)

    def buffer_ref(self, buf: Buffer) -> BufferRef:
        return BufferRef(buf, buf.data if buf.scope == "const" else None)

    def begin_kernel(self) -> None:
        self.scratch_top = self.arena_base

    def scratch(self, hint: str, dtype, shape) -> Buffer:
        buf = self.lm.add_arena_buffer(self.name(hint), dtype, shape, self.scratch_top)
        self.scratch_top = _align(self.scratch_top + buf.nbytes)
        return buf


def check_lowerable(graph) -> None:
    """Every node (inside fused groups too) has a rule and static shapes; one error lists all."""
    missing: dict = {}
    dynamic = []

    def scan(g):
        for n in g.nodes:
            if n.op == "FusedGroup":
                scan(n.attrs["body"])
            elif n.op not in COMPUTE_RULES and n.op not in KERNEL_RULES:
                missing.setdefault(n.op, []).append(n.name or "?")
            for v in n.outputs:
                if any(not isinstance(d, int) for d in v.shape):
                    dynamic.append(f"%{v.name}: {v.type} ({node_label(n)})")
    scan(graph)
    for v in graph.inputs:
        if any(not isinstance(d, int) for d in v.shape):
            dynamic.append(f"input %{v.name}: {v.type}")
    if dynamic:
        raise LoweringError("cannot compile symbolic or unknown shapes (fix them with "
                            f"--input-shape / input_shapes=): {'; '.join(dynamic[:5])}")
    if missing:
        parts = [f"{op} ({len(v)}x, e.g. '{v[0]}')" for op, v in sorted(missing.items())]
        raise LoweringError("no loop lowering for: " + ", ".join(parts))


def _plan(graph) -> tuple[dict, int]:
    """(offsets by value name, arena bytes): the memory plan, or a sequential one."""
    plan = graph.attrs.get("memory_plan")
    if plan:
        return dict(plan["offsets"]), int(plan["arena_bytes"])
    outputs = {id(v) for v in graph.outputs}
    offsets, top = {}, 0
    for n in graph.nodes:
        for v in n.outputs:
            if id(v) not in outputs and v.uses:
                offsets[v.name] = top
                top = _align(top + v.type.nbytes)
    return offsets, top


def lower_graph(graph, target: Optional[LowerTarget] = None) -> LoopModule:
    from . import load_rules
    load_rules()
    target = target or LowerTarget()
    check_lowerable(graph)
    offsets, arena_bytes = _plan(graph)
    mb = ModuleBuilder(re.sub(r"[^A-Za-z0-9_]", "_", graph.name) or "model", arena_bytes)
    refs, dests, params = {}, {}, []
    for v in graph.inputs:
        buf = Buffer(mb.name(v.name), v.dtype, v.shape, scope="param")
        params.append(buf)
        refs[id(v)] = BufferRef(buf)
    out_params = []
    for k, (v, name) in enumerate(zip(graph.outputs, graph.output_names)):
        buf = Buffer(mb.name("out_" + name), v.dtype, v.shape, scope="param")
        out_params.append(buf)
        if v.producer is not None and id(v) not in dests:
            dests[id(v)] = buf
    for v in graph.values():
        if v.is_constant and id(v) not in refs:
            refs[id(v)] = None          # created on first use
    calls = []
    for i, node in enumerate(graph.nodes):
        for v in node.inputs:
            if v is not None and refs.get(id(v)) is None and v.is_constant:
                refs[id(v)] = mb.const_ref(v)
        for v in node.outputs:
            if id(v) in dests:
                continue
            if v.name not in offsets:
                if v.uses:
                    raise LoweringError(f"memory plan has no offset for %{v.name} "
                                        f"({node_label(node)})")
                dests[id(v)] = None      # dead result: scratch
                continue
            dests[id(v)] = mb.lm.add_arena_buffer(mb.name(v.name), v.dtype, v.shape,
                                                  offsets[v.name])
        label = node.name if node.op == "FusedGroup" and node.name else node.op.lower()
        fname = mb.name(f"k{i}_{label}")
        mb.begin_kernel()
        node_dests = {id(v): dests[id(v)] for v in node.outputs if dests.get(id(v)) is not None}
        body = GroupLowering(mb, node, refs, node_dests, target, fname).run()
        for v in node.outputs:
            if dests.get(id(v)) is not None:
                refs[id(v)] = mb.buffer_ref(dests[id(v)])
        _add_kernel(mb, fname, body, params + out_params, calls)
    # outputs that are inputs, constants, or returned twice
    copies = []
    for v, buf in zip(graph.outputs, out_params):
        if dests.get(id(v)) is buf:
            continue
        src = refs.get(id(v)) or mb.const_ref(v)
        from .nest import compute_nest
        copies.append(compute_nest(buf, src, target, f"copy_{buf.name}"))
    if copies:
        _add_kernel(mb, mb.name("k_outputs"), seq(*copies), params + out_params, calls)
    mb.lm.add_func(LoopFunc("main", params + out_params, seq(*calls)))
    mb.lm.arena_size = max(mb.lm.arena_size, arena_bytes)
    mb.lm.attrs = {
        "inputs": [_spec(v.name, v) for v in graph.inputs],
        "outputs": [_spec(n, v) for v, n in zip(graph.outputs, graph.output_names)],
    }
    return mb.lm


def _add_kernel(mb, fname, body, all_params, calls) -> None:
    used = set(buffers_used(body))
    fparams = [p for p in all_params if p in used]
    mb.lm.add_func(LoopFunc(fname, fparams, body))
    calls.append(CallFunc(fname, tuple(fparams)))


def _spec(name, v) -> dict:
    return {"name": name, "dtype": str(v.dtype), "shape": [int(d) for d in v.shape]}
