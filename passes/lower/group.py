"""Lowering one top-level node — a single op or a FusedGroup — to the statements of one kernel
function.

Inside a group, compute-rule ops are inlined into their consumers; each kernel-rule op (the
anchor: a reduction, matmul, conv, ...) emits its loop nest. When everything downstream of an
anchor is elementwise over the anchor's shape and ends in one group result, that chain becomes
the anchor's epilogue: applied in the kernel's own store (conv + bias + relu in the micro-kernel).
Otherwise the anchor's result is materialised (in the group's result buffer or in scratch) and
the rest is computed from there."""
from __future__ import annotations

from compiler.loop import seq
from compiler.ops.registry import OpKind, get_op

from .context import ComputeCtx, KernelCtx, node_label
from .nest import compute_nest
from .registry import COMPUTE_RULES, KERNEL_RULES, LoweringError
from .tensor import ComputeRef, HoleRef, OutputRef


class GroupLowering:
    def __init__(self, mb, node, refs: dict, dests: dict, target, func_name: str):
        """refs: id(value) -> TensorRef of what the node reads; dests: id(value) -> Buffer of
        the node's results."""
        self.mb, self.node, self.target, self.func = mb, node, target, func_name
        self.refs, self.dests = dict(refs), dict(dests)
        self.stmts: list = []
        self.done: set = set()          # ids of results already written by an epilogue
        self._n = 0

    # ---- the group as a list of nodes ------------------------------------------------------------
    def run(self):
        node = self.node
        if node.op == "FusedGroup":
            body = node.attrs["body"]
            for p, v in zip(body.inputs, node.inputs):
                self.refs[id(p)] = self.refs[id(v)]
            for c in body.values():
                if c.is_constant:
                    self.refs[id(c)] = self.mb.const_ref(c)
            results = list(zip(body.outputs, node.outputs))
            nodes = list(body.nodes)
        else:
            results = [(v, v) for v in node.outputs]
            nodes = [node]
        self.outer_dests = self.dests
        inner_dest: dict = {}
        for inner, outer in results:
            if id(outer) in self.dests and id(inner) not in inner_dest:
                inner_dest[id(inner)] = self.dests[id(outer)]
        self.dests = inner_dest
        for i, n in enumerate(nodes):
            self.lower(n, nodes[i + 1:])
        # results that are group inputs, constants or a value returned twice: copy
        written: set = set()
        for inner, outer in results:
            buf = self.dests.get(id(inner))
            target_buf = self.outer_dests[id(outer)] if id(outer) in self.outer_dests else None
            if target_buf is None:
                continue
            if buf is target_buf and id(inner) not in written and \
                    (inner.producer is not None and inner.producer in nodes):
                written.add(id(inner))
                continue
            self.stmts.append(compute_nest(target_buf, self.refs[id(inner)], self.target,
                                           self.block_name("copy")))
        return seq(*self.stmts)

    def block_name(self, op: str) -> str:
        self._n += 1
        return f"{self.func}_{op.lower()}{self._n}"

    # ---- one node ------------------------------------------------------------------------------
    def inputs_of(self, n) -> list:
        return [None if v is None else self.refs[id(v)] for v in n.inputs]

    def lower(self, n, rest: list) -> None:
        if n.op in COMPUTE_RULES:
            for k, out in enumerate(n.outputs):
                if id(out) in self.done:
                    continue
                ref = self.compute_ref(n, k, self.refs)
                self.refs[id(out)] = ref
                dest = self.dests.get(id(out))
                if dest is not None:
                    self.stmts.append(compute_nest(dest, ref, self.target,
                                                   self.block_name(n.op)))
                    self.refs[id(out)] = self.mb.buffer_ref(dest)
            return
        if n.op not in KERNEL_RULES:
            raise LoweringError(f"{node_label(n)}: no lowering rule for op {n.op}")
        outputs = []
        epi = self.epilogue(n, rest) if len(n.outputs) == 1 else None
        for k, out in enumerate(n.outputs):
            if epi is not None:
                dest, fn = epi
                outputs.append(OutputRef(dest, out.shape, out.dtype, fn))
                continue
            dest = self.dests.get(id(out))
            if dest is None:
                dest = self.mb.scratch(f"{self.func}_{n.op.lower()}_t", out.dtype, out.shape)
            outputs.append(OutputRef(dest, out.shape, out.dtype))
            self.refs[id(out)] = self.mb.buffer_ref(dest)
        kc = KernelCtx(n, self.inputs_of(n), outputs, self.target, self.mb, self.func)
        KERNEL_RULES[n.op](kc)
        self.stmts.append(kc.b.get())

    def compute_ref(self, n, k: int, refs: dict) -> ComputeRef:
        rule, out = COMPUTE_RULES[n.op], n.outputs[k]
        inputs = [None if v is None else refs[id(v)] for v in n.inputs]
        cc = ComputeCtx(n, inputs, self.target, out.type, k)
        return ComputeRef(out.shape, out.dtype, lambda idx: rule(cc, idx), n.op)

    # ---- epilogue ----------------------------------------------------------------------------
    def epilogue(self, anchor, rest: list):
        """(dest buffer, fn(idx, value)) when the anchor's downstream is a fusable epilogue."""
        a = anchor.outputs[0]
        if id(a) in self.dests or not rest:
            return None
        chain, reach = [], {id(a)}
        for n in rest:
            if any(v is not None and id(v) in reach for v in n.inputs):
                chain.append(n)
                reach.update(id(o) for o in n.outputs)
        if not chain:
            return None
        for n in chain:
            if n.op not in COMPUTE_RULES or len(n.outputs) != 1 \
                    or get_op(n.op).kind > OpKind.BROADCAST or n.outputs[0].shape != a.shape:
                return None
            for v in n.inputs:
                if v is not None and id(v) not in reach and id(v) not in self.refs:
                    return None       # needs a value produced after the anchor
        ends = [n.outputs[0] for n in chain if id(n.outputs[0]) in self.dests]
        if len(ends) != 1 or ends[0] is not chain[-1].outputs[0]:
            return None
        end = ends[0]
        hole = HoleRef(a.shape, a.dtype)
        erefs = dict(self.refs)
        erefs[id(a)] = hole
        for n in chain:
            erefs[id(n.outputs[0])] = self.compute_ref(n, 0, erefs)
        end_ref = erefs[id(end)]

        def apply(idx, value):
            hole.current = value
            return end_ref[idx]

        self.done.update(id(n.outputs[0]) for n in chain)
        return self.dests[id(end)], apply
