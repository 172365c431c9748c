"""fuse: operator fusion by op-pattern kind on the post-dominator tree (after TVM's FuseOps).

Every op has a kind, ELEMWISE < BROADCAST < INJECTIVE < REDUCTION < OUT_ELEMWISE_FUSABLE < OPAQUE.
REDUCTION and OUT_ELEMWISE_FUSABLE ops are *anchors*: a group holds at most one. A group is legal
when it is convex (no path leaves it and comes back), has at most `max-depth` ops, no OPAQUE op,
no edge into a shape operand (Reshape's shape, Slice's starts, ...), and

  - without an anchor: every op is ELEMWISE, BROADCAST or INJECTIVE (chains, diamonds);
  - with an anchor, every op downstream of it (its *epilogue*) is ELEMWISE or BROADCAST and
    produces the anchor's shape (conv + bias add + relu, matmul + add + gelu, reduce + sqrt);
    an OUT_ELEMWISE_FUSABLE anchor has no producers inside the group; a REDUCTION anchor may have
    INJECTIVE (or, with fuse-injective-into-reduce=false, BROADCAST) producers; ops on side
    branches feeding the epilogue are ELEMWISE or BROADCAST.

Groups grow in three sweeps over the nodes in execution order. Sweeps 1 and 2 are TVM's: a node
joins its immediate post-dominator together with every node on the paths between them, so a
diamond fuses only when all of its branches can; INJECTIVE nodes wait for sweep 2 so anchors
take their epilogues first. Sweep 3 (multi-output=true) also merges a consumer into its
producer's group when the producer's value is used elsewhere too; that value becomes an extra
result of the group (as does any graph output computed inside a group).

Each group of two or more ops becomes one `FusedGroup` node whose `body` is a graph built from
the grouped nodes (names and locs kept) and whose `kind` is the largest kind in it. Weights
(float constants with more than one distinct element) and every other external value are
operands of the group, so the lowering can pack weights; other constants (shape and axes
vectors, scalars, splats: what the printer writes inline) are captured in the body, where shape
rules can read them."""
from __future__ import annotations

import heapq
from typing import Optional

from compiler.errors import AiccError
from compiler.ir.graph import Graph, Node
from compiler.ir.printer import is_elided
from compiler.ops import OPS, OpKind
from compiler.transform import Pass, option, register_pass

from ._dominators import immediate_post_dominators, paths_between

ANCHORS = (OpKind.REDUCTION, OpKind.OUT_ELEMWISE_FUSABLE)
_REDUCE_AXES = {f"Reduce{k}": {1} for k in ("L1", "L2", "LogSum", "LogSumExp", "Max", "Mean",
                                            "Min", "Prod", "Sum", "SumSquare")}
# Operands that hold shapes, axes or indices of the op's *iteration space* rather than data:
# a group never computes them, so the lowering sees them as constants or operands.
SHAPE_OPERANDS = {"Reshape": {1}, "Expand": {1}, "Tile": {1}, "Slice": {1, 2, 3, 4},
                  "Pad": {1, 3}, "Squeeze": {1}, "Unsqueeze": {1}, "Split": {1}, "Trilu": {1},
                  **_REDUCE_AXES}


def op_kind(node: Node) -> OpKind:
    op = OPS.get(node.op)
    return OpKind.OPAQUE if op is None or node.op == "FusedGroup" else op.kind


class _Planner:
    """Union-find over node indices, grown by the three sweeps; `groups()` reads the result."""

    def __init__(self, graph: Graph, max_depth: int, injective_into_reduce: bool,
                 multi_output: bool):
        self.nodes = list(graph.nodes)
        self.max_depth = max_depth
        self.prologue_limit = OpKind.INJECTIVE if injective_into_reduce else OpKind.BROADCAST
        self.multi_output = multi_output
        index = {id(n): i for i, n in enumerate(self.nodes)}
        n = len(self.nodes)
        self.kind = [op_kind(x) for x in self.nodes]
        self.succ: list[list[int]] = [[] for _ in range(n)]
        self.pred: list[list[int]] = [[] for _ in range(n)]
        self.shape_edges: set[tuple[int, int]] = set()
        for i, node in enumerate(self.nodes):
            shape_ops = SHAPE_OPERANDS.get(node.op, ())
            for k, v in enumerate(node.inputs):
                if v is None or v.producer is None or id(v.producer) not in index:
                    continue
                p = index[id(v.producer)]
                if p not in self.pred[i]:
                    self.pred[i].append(p)
                    self.succ[p].append(i)
                if k in shape_ops:
                    self.shape_edges.add((p, i))
        self.parent = list(range(n))
        self.members: dict[int, list[int]] = {i: [i] for i in range(n)}

    # ---- union-find -----------------------------------------------------------------------
    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def _union(self, roots: set[int]) -> None:
        root = min(roots)
        for r in roots - {root}:
            self.parent[r] = root
            self.members[root] += self.members.pop(r)

    def _try_merge(self, nodes: set[int]) -> bool:
        roots = {self.find(i) for i in nodes}
        if len(roots) < 2:
            return False
        cand = {m for r in roots for m in self.members[r]}
        if not self.legal(cand):
            return False
        self._union(roots)
        return True

    # ---- legality ------------------------------------------------------------------------
    def legal(self, m: set[int]) -> bool:
        if len(m) > self.max_depth:
            return False
        kinds = [self.kind[i] for i in m]
        if OpKind.OPAQUE in kinds:
            return False
        anchors = [i for i in m if self.kind[i] in ANCHORS]
        if len(anchors) > 1:
            return False
        if any((p, c) in self.shape_edges for c in m for p in self.pred[c] if p in m):
            return False
        if not self._convex(m):
            return False
        if not anchors:
            return max(kinds) <= OpKind.INJECTIVE
        a = anchors[0]
        after, before = self._reach(a, m, self.succ), self._reach(a, m, self.pred)
        shape = self.nodes[a].outputs[0].type.shape
        for i in after:
            if self.kind[i] > OpKind.BROADCAST or any(o.type.shape != shape
                                                       for o in self.nodes[i].outputs):
                return False
        if before and (self.kind[a] == OpKind.OUT_ELEMWISE_FUSABLE
                       or any(self.kind[i] > self.prologue_limit for i in before)):
            return False
        return all(self.kind[i] <= OpKind.BROADCAST for i in m - after - before - {a})

    @staticmethod
    def _reach(start: int, m: set[int], edges) -> set[int]:
        seen, stack = set(), list(edges[start])
        while stack:
            i = stack.pop()
            if i in m and i not in seen:
                seen.add(i)
                stack.extend(edges[i])
        return seen

    def _convex(self, m: set[int]) -> bool:
        """No path from `m` through other groups back into `m`: merging must keep the graph of
        groups acyclic (each group, once fused, runs as one node)."""
        seen: set[int] = set()
        stack = [self.find(s) for i in m for s in self.succ[i] if s not in m]
        while stack:
            r = stack.pop()
            if r in seen:
                continue
            seen.add(r)
            for x in self.members[r]:
                for s in self.succ[x]:
                    if s in m:
                        return False
                    stack.append(self.find(s))
        return True

    def _pattern(self, root: int) -> OpKind:
        return max(self.kind[i] for i in self.members[root])

    # ---- the sweeps ------------------------------------------------------------------------
    def run(self) -> "_Planner":
        n = len(self.nodes)
        succ = {i: self.succ[i] for i in range(n)}
        ipdom = immediate_post_dominators(range(n), succ)
        for sweep in (0, 1):
            for i in range(n):
                d = ipdom[i]
                root = self.find(i)
                if d is None or self.find(d) == root:
                    continue
                pattern = self._pattern(root)
                if pattern == OpKind.OPAQUE or (sweep == 0 and pattern == OpKind.INJECTIVE):
                    continue
                self._try_merge(set(self.members[root]) | paths_between(i, d, succ))
        if self.multi_output:
            for c in range(n):
                for p in self.pred[c]:
                    self._try_merge({p, c})
        return self

    def groups(self, min_size: int = 2) -> list[list[int]]:
        out = [sorted(ms) for ms in self.members.values() if len(ms) >= min_size]
        return sorted(out, key=lambda g: g[-1])


def fusion_groups(graph: Graph, max_depth: int = 8, fuse_injective_into_reduce: bool = True,
                  multi_output: bool = True) -> list[list[Node]]:
    """The groups the fuse pass would form (two or more nodes each, in execution order),
    without changing the graph."""
    plan = _Planner(graph, max_depth, fuse_injective_into_reduce, multi_output).run()
    return [[plan.nodes[i] for i in g] for g in plan.groups()]


# ---- rewriting a group into a FusedGroup node ---------------------------------------------------
def captured(value) -> bool:
    """Is this constant copied into a group body (True) or passed in as an operand (a weight)?"""
    data = value.data
    if is_elided(data):
        return False
    is_weight = data.dtype.kind in "fc" and data.size > 1 and not (data == data.flat[0]).all()
    return not is_weight


def _body_name(members: list[Node], k: int) -> str:
    ops = [m.op.lower() for m in members]
    if len(ops) > 5:
        ops = ops[:5] + ["etc"]
    return "fused_" + "_".join(ops) + f"_{k}"


def group_results(graph: Graph, members: list[Node]) -> list:
    """The members' results used outside the group or returned by the graph, in order."""
    inside = {id(m) for m in members}
    outs = {id(v) for v in graph.outputs}
    res = [o for m in members for o in m.outputs
           if id(o) in outs or any(id(u) not in inside for u, _ in o.uses)]
    return res or list(members[-1].outputs)


def build_body(graph: Graph, members: list[Node], name: str):
    """(body graph, operands, results) for a group of nodes of `graph`."""
    inside = {id(m) for m in members}
    body = Graph(name)
    vmap: dict[int, object] = {}
    operands = []
    for m in members:
        for v in m.inputs:
            if v is None or id(v) in vmap or (v.producer is not None and id(v.producer) in inside):
                continue
            if v.is_constant and captured(v):
                vmap[id(v)] = body.add_constant(v.data, v.name)
            else:
                vmap[id(v)] = body.add_input(v.name, v.type)
                operands.append(v)
    for m in members:
        new = body.create_node(m.op, [vmap[id(v)] if v is not None else None for v in m.inputs],
                               dict(m.attrs), [o.type for o in m.outputs], name=m.name,
                               output_names=[o.name for o in m.outputs])
        vmap.update((id(o), no) for o, no in zip(m.outputs, new.outputs))
    results = group_results(graph, members)
    body.set_outputs([vmap[id(r)] for r in results])
    return body, operands, results


def _reorder(graph: Graph, position: dict[int, int]) -> None:
    """Topologically sort graph.nodes, keeping each node as close to `position` as possible."""
    nodes = list(graph.nodes)
    index = {id(n): i for i, n in enumerate(nodes)}
    deps: dict[int, set[int]] = {i: set() for i in range(len(nodes))}
    users: dict[int, list[int]] = {i: [] for i in range(len(nodes))}
    for i, n in enumerate(nodes):
        for v in n.inputs:
            if v is not None and v.producer is not None and id(v.producer) in index:
                p = index[id(v.producer)]
                if p not in deps[i]:
                    deps[i].add(p)
                    users[p].append(i)
    heap = [(position[id(n)], i) for i, n in enumerate(nodes) if not deps[i]]
    heapq.heapify(heap)
    order = []
    while heap:
        _, i = heapq.heappop(heap)
        order.append(nodes[i])
        for u in users[i]:
            deps[u].discard(i)
            if not deps[u]:
                heapq.heappush(heap, (position[id(nodes[u])], u))
    assert len(order) == len(nodes), "fuse: the fused graph has a cycle"
    graph.nodes[:] = order


def _commit(graph: Graph, members: list[Node], k: int) -> Optional[Node]:
    from compiler.ir.verifier import verify
    body, operands, results = build_body(graph, members, _body_name(members, k))
    try:
        verify(body)
    except AiccError:
        return None
    kind = max(op_kind(m) for m in members).name.lower()
    node = graph.create_node("FusedGroup", operands, {"body": body, "kind": kind},
                             [r.type for r in results], name=body.name,
                             output_names=[r.name + "_fused" for r in results])
    names = [r.name for r in results]
    for r, o in zip(results, node.outputs):
        graph.replace_all_uses_with(r, o)
    for m in reversed(members):
        graph.erase_node(m)
    for o, name in zip(node.outputs, names):
        graph.rename(o, name)
    for c in body.constants:      # constants now captured in the body and used nowhere else
        outer = next((v for v in graph.constants if v.name == c.name), None)
        if outer is not None and not outer.uses and all(o is not outer for o in graph.outputs):
            graph.erase_constant(outer)
    return node


@register_pass
class Fuse(Pass):
    """Fuse ops into FusedGroup nodes by op-pattern kind (post-dominator tree, as TVM's FuseOps).

    Elementwise/broadcast/injective chains and diamonds fuse; elementwise epilogues fuse into a
    conv/matmul/gemm or a reduction (one anchor a group); injective producers fuse into a
    reduction. Each group becomes one FusedGroup node whose body is the grouped subgraph."""
    name = "fuse"
    opt_level = 2
    max_depth: int = option(8, "most ops in one group")
    fuse_injective_into_reduce: bool = option(True, "let injective ops (transpose, slice, ...) "
                                                    "fuse into a consuming reduction")
    multi_output: bool = option(True, "fuse a consumer into its producer's group even when the "
                                      "producer's value is used elsewhere (it becomes a result)")

    def run(self, graph, ctx) -> bool:
        if self.max_depth < 2:
            ctx.log(f"max-depth={self.max_depth}: nothing can fuse", self.name)
            return False
        plan = _Planner(graph, self.max_depth, self.fuse_injective_into_reduce,
                        self.multi_output).run()
        groups = [[plan.nodes[i] for i in g] for g in plan.groups()]
        if not groups:
            return False
        position = {id(n): i for i, n in enumerate(plan.nodes)}
        fused = ops = multi = 0
        for k, members in enumerate(groups):
            node = _commit(graph, members, k)
            if node is None:
                ctx.log(f"not fusing {', '.join(m.describe() for m in members)}: its body does "
                        "not verify", self.name)
                continue
            position[id(node)] = max(position[id(m)] for m in members)
            fused += 1
            ops += len(members)
            multi += len(node.outputs) > 1
        if not fused:
            return False
        _reorder(graph, position)
        ctx.log(f"fused {ops} of {len(plan.nodes)} ops into {fused} groups ({multi} with several "
                f"results); {len(graph.nodes)} nodes remain", self.name)
        return True
