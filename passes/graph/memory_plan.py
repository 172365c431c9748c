"""memory-plan: give every intermediate value an offset in one arena, reusing memory between values
whose lifetimes do not overlap.

Liveness runs over the graph's execution order (after fusion a FusedGroup is one step; its body's
temporaries are the lowering's business). Graph inputs, constants and graph outputs are not in the
arena. In-place reuse (inplace=true): when a node may overwrite an operand element for element
(an elementwise or broadcast op, a reshape-like op, or an elementwise parameter of a one-result
FusedGroup, see _liveness.inplace_operands), that operand dies at the node and has the result's
byte size, the result takes the operand's offset. Such chains of values share one *storage*,
and storages are placed by

  - greedy-by-size (default): largest first, each at the lowest aligned offset that overlaps no
    placed storage whose lifetime overlaps its own;
  - best-fit: in allocation order (as a runtime allocator would), each into the smallest free gap
    among the storages live at the same time, else above them;
  - naive: one after the other, no reuse.

The plan is part of the IR: `graph.attrs["memory_plan"]`, keyed by value name:

    {algorithm = "greedy-by-size", alignment = 64, arena_bytes = 8192, inplace = {r = "a"},
     naive_peak_bytes = 8192, offsets = {a = 0, "3" = 4096, ...}, sizes = {a = 4096, ...},
     total_bytes = 12288}

`total_bytes` sums every intermediate's size; `naive_peak_bytes` is the most bytes live at one
step (after in-place sharing): a lower bound for any arena of this schedule. Graphs with symbolic
shapes are left unchanged."""
from __future__ import annotations

from compiler.errors import VerificationError
from compiler.ir.graph import Graph
from compiler.transform import Pass, option, register_pass

from ._liveness import inplace_operands, intermediates, lifetimes

ALGORITHMS = ("greedy-by-size", "best-fit", "naive")


def _align(n: int, a: int) -> int:
    return -(-n // a) * a


class _Storage:
    __slots__ = ("values", "start", "end", "size", "offset")

    def __init__(self, value, life):
        self.values = [value]
        self.start, self.end = life
        self.size = value.type.nbytes
        self.offset = 0

    def overlaps(self, other: "_Storage") -> bool:
        return self.start <= other.end and other.start <= self.end


def _storages(graph: Graph, use_inplace: bool):
    """Group the intermediates into storages (in-place chains); returns (storages, {out: in})."""
    life = lifetimes(graph)
    arena = {id(v) for v in intermediates(graph)}
    owner: dict[int, _Storage] = {}
    storages, pairs = [], {}
    for t, node in enumerate(graph.nodes):
        if use_inplace and len(node.outputs) == 1 and id(node.outputs[0]) in arena:
            out = node.outputs[0]
            for k in inplace_operands(node):
                u = node.inputs[k]
                s = owner.get(id(u))
                if s is not None and life[id(u)][1] == t and s.values[-1] is u \
                        and u.type.nbytes == out.type.nbytes:
                    s.values.append(out)
                    s.end = life[id(out)][1]
                    owner[id(out)] = s
                    pairs[out.name] = u.name
                    break
        for o in node.outputs:
            if id(o) in arena and id(o) not in owner:
                s = owner[id(o)] = _Storage(o, life[id(o)])
                storages.append(s)
    return storages, pairs


def _place(storages, alignment: int, algorithm: str) -> int:
    """Set each storage's offset; returns the arena size."""
    size = {id(s): _align(s.size, alignment) for s in storages}
    if algorithm == "naive":
        top = 0
        for s in storages:
            s.offset, top = top, top + size[id(s)]
        return top
    if algorithm == "greedy-by-size":
        order = sorted(range(len(storages)), key=lambda i: (-size[id(storages[i])], i))
    else:
        order = range(len(storages))          # allocation order: storages are in start order
    placed: list[_Storage] = []
    top = 0
    for i in order:
        s, need = storages[i], size[id(storages[i])]
        busy = sorted((p.offset, p.offset + size[id(p)]) for p in placed if p.overlaps(s))
        gaps, cursor = [], 0                  # free (offset, length) holes below the busy top
        for lo, hi in busy:
            if lo > cursor:
                gaps.append((cursor, lo - cursor))
            cursor = max(cursor, hi)
        fits = [g for g in gaps if g[1] >= need]
        if algorithm == "greedy-by-size":
            s.offset = fits[0][0] if fits else cursor
        else:
            s.offset = min(fits, key=lambda g: (g[1], g[0]))[0] if fits else cursor
        placed.append(s)
        top = max(top, s.offset + need)
    return top


def make_plan(graph: Graph, alignment: int = 64, algorithm: str = "greedy-by-size",
              inplace: bool = True) -> dict:
    """The memory plan of a graph whose intermediates are all statically shaped."""
    storages, pairs = _storages(graph, inplace)
    arena = _place(storages, alignment, algorithm)
    steps = len(graph.nodes)
    live = [0] * (steps + 1)
    for s in storages:
        live[s.start] += s.size
        live[s.end + 1] -= s.size
    peak = run = 0
    for d in live:
        run += d
        peak = max(peak, run)
    values = intermediates(graph)
    offsets = {v.name: s.offset for s in storages for v in s.values}
    return {"algorithm": algorithm, "alignment": alignment, "arena_bytes": arena,
            "inplace": pairs, "naive_peak_bytes": peak,
            "offsets": {v.name: offsets[v.name] for v in values},
            "sizes": {v.name: v.type.nbytes for v in values},
            "total_bytes": sum(v.type.nbytes for v in values)}


@register_pass
class MemoryPlan(Pass):
    """Assign every intermediate value an offset in one arena (liveness + greedy placement).

    The plan is stored in the graph's `memory_plan` attribute (offsets and sizes by value name,
    in-place pairs, arena size and statistics), so it prints, parses and reaches the backend."""
    name = "memory-plan"
    opt_level = 2
    alignment: int = option(64, "byte alignment of every offset")
    algorithm: str = option("greedy-by-size", "greedy-by-size | best-fit | naive")
    inplace: bool = option(True, "let a result overwrite an operand that dies at its node")

    def run(self, graph, ctx) -> bool:
        from compiler.errors import PassError
        if self.algorithm not in ALGORITHMS:
            raise PassError(f"memory-plan: unknown algorithm '{self.algorithm}' "
                            f"(known: {', '.join(ALGORITHMS)})")
        if self.alignment < 1:
            raise PassError(f"memory-plan: alignment must be positive, got {self.alignment}")
        symbolic = [v for v in intermediates(graph) if not v.type.is_static]
        if symbolic:
            ctx.log(f"not planning memory: {len(symbolic)} intermediate values have symbolic "
                    f"shapes (first: %{symbolic[0].name}: {symbolic[0].type})", self.name)
            return False
        plan = make_plan(graph, self.alignment, self.algorithm, self.inplace)
        ctx.log(summary(plan), self.name)
        if graph.attrs.get("memory_plan") == plan:
            return False
        graph.attrs["memory_plan"] = plan
        return True


def summary(plan: dict) -> str:
    """One line: arena bytes, the sum of all intermediates, the peak of live bytes."""
    total, arena = plan["total_bytes"], plan["arena_bytes"]
    ratio = f"{100 * arena / total:.1f}% of " if total else ""
    return (f"arena {arena} bytes ({ratio}{total} bytes in {len(plan['offsets'])} "
            f"intermediates); peak live {plan['naive_peak_bytes']} bytes; "
            f"{len(plan['inplace'])} in place; {plan['algorithm']}, alignment {plan['alignment']}")


def plan_report(graph: Graph) -> str:
    """A human-readable table of the graph's memory plan."""
    plan = graph.attrs.get("memory_plan")
    if plan is None:
        return f"graph @{graph.name} has no memory plan (run memory-plan)"
    life = lifetimes(graph)
    lines = [f"memory plan of @{graph.name}: {summary(plan)}",
             f"  {'value':<24} {'bytes':>12} {'offset':>12}  steps"]
    for v in intermediates(graph):
        if v.name in plan["offsets"]:
            s, e = life[id(v)]
            src = plan["inplace"].get(v.name)
            note = f"  (in place of %{src})" if src else ""
            lines.append(f"  %{v.name:<23} {plan['sizes'][v.name]:>12} "
                         f"{plan['offsets'][v.name]:>12}  {s}..{e}{note}")
    return "\n".join(lines)


def verify_memory_plan(graph: Graph) -> None:
    """Check the graph's memory plan against the graph itself: exactly the intermediates are
    planned with their true sizes, offsets are aligned and inside the arena, in-place pairs are
    legal, and no two values live at the same step share a byte (except in-place pairs)."""
    def fail(msg):
        raise VerificationError(f"memory plan of @{graph.name}: {msg}")
    plan = graph.attrs.get("memory_plan")
    if not isinstance(plan, dict):
        fail("missing (graph.attrs['memory_plan'])")
    offsets, sizes, align = plan["offsets"], plan["sizes"], plan["alignment"]
    values = intermediates(graph)
    if set(offsets) != {v.name for v in values} or set(sizes) != set(offsets):
        fail(f"plans {sorted(offsets)} but the intermediates are {sorted(v.name for v in values)}")
    step = {id(n): t for t, n in enumerate(graph.nodes)}
    life = {}
    for v in values:
        if sizes[v.name] != v.type.nbytes:
            fail(f"%{v.name} is {v.type.nbytes} bytes, planned {sizes[v.name]}")
        if offsets[v.name] % align or offsets[v.name] + sizes[v.name] > plan["arena_bytes"]:
            fail(f"%{v.name} at offset {offsets[v.name]} is unaligned or outside the arena")
        born = step[id(v.producer)]
        life[v.name] = (born, max([step[id(u)] for u, _ in v.uses], default=born))
    by_name = {v.name: v for v in values}
    for out, src in plan["inplace"].items():
        o, s = by_name.get(out), by_name.get(src)
        if o is None or s is None or life[src][1] != life[out][0] \
                or all(o.producer.inputs[k] is not s for k in inplace_operands(o.producer)) \
                or offsets[out] != offsets[src] or sizes[out] != sizes[src]:
            fail(f"in-place pair %{out} <- %{src} is not legal")
    names = sorted(by_name, key=lambda n: offsets[n])
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if offsets[b] >= offsets[a] + sizes[a]:
                break
            if sizes[b] == 0 or sizes[a] == 0:
                continue
            la, lb = life[a], life[b]
            if la[0] <= lb[1] and lb[0] <= la[1] and plan["inplace"].get(a) != b \
                    and plan["inplace"].get(b) != a:
                fail(f"%{a} [{offsets[a]}, {offsets[a] + sizes[a]}) steps {la} and %{b} "
                     f"[{offsets[b]}, {offsets[b] + sizes[b]}) steps {lb} overlap")
