"""unroll, vectorize and parallel: primitives that change how a loop runs, not its order.

unroll is always legal up to MAX_UNROLL iterations. vectorize (innermost loops only) and
parallel run iterations at once, so the loop must not be bound into a block's reduce variable
and must carry no dependence: any two accesses that may touch the same element (one of them a
write) must do so in the same iteration of the loop. Buffers allocated inside the loop are
private to an iteration."""
from __future__ import annotations

from compiler.loop.stmt import For
from compiler.loop.verifier import MAX_UNROLL
from compiler.loop.visitor import walk

from ._access import collect_at, reduce_loops
from ._dependence import first_conflict
from ._errors import ScheduleError
from ._tree import loops_on

KINDS = {"unroll": "unrolled", "vectorize": "vectorized", "parallel": "parallel"}


def annotate(sch, prim: str, loop: str) -> None:
    f = sch.loop(loop, prim)
    target = f"%{loop}"
    if prim == "unroll" and f.extent > MAX_UNROLL:
        raise ScheduleError(prim, target, f"the loop has {f.extent} iterations; at most "
                            f"{MAX_UNROLL} unroll (split it first)")
    if prim == "vectorize":
        inner = next((n for n in walk(f.body) if isinstance(n, For)), None)
        if inner is not None:
            raise ScheduleError(prim, target, f"the loop is not innermost (loop "
                                f"%{inner.var.name} is inside it); only innermost loops "
                                "vectorize")
    if prim in ("vectorize", "parallel"):
        why = concurrency_problem(sch, f)
        if why is not None:
            raise ScheduleError(prim, target, why)
    sch.replace(f, For(f.var, f.extent, f.body, KINDS[prim]))


def concurrency_problem(sch, f: For):
    """Why the iterations of loop `f` may not run at once (None when they may)."""
    path = sch.path(f)
    col = collect_at(path)
    red = reduce_loops(col)
    if f.var in red:
        block, iv = red[f.var]
        return (f"loop %{f.var.name} is bound into reduce variable %{iv.var.name} of block "
                f'"{block.name}" (the steps of a reduction must run in order)')
    shared = {g.var for g in loops_on(path[:-1])}
    why = first_conflict(col, [f.var], shared)
    if why is not None:
        return f"loop %{f.var.name} carries a dependence: {why}"
    return None


def recheck_concurrent_loops(sch, prim: str, target: str, node) -> None:
    """After a primitive put new statements at `node`: the parallel and vectorized loops
    around it must still be free of dependences."""
    for f in loops_on(sch.path(node)):
        if f.kind in ("parallel", "vectorized"):
            why = concurrency_problem(sch, f)
            if why is not None:
                raise ScheduleError(prim, target, f"under {f.kind} loop %{f.var.name}: {why}")
