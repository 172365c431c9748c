"""split, fuse, reorder and tile: primitives that change the loop structure.

split and fuse keep the order of iterations, so they are always legal; a split by a factor
that does not divide the extent guards the body (a block `where` predicate when every memory
access is inside blocks, else an `if`) so nothing runs out of range. reorder must keep every
pair of accesses that may touch the same element in the same order: it needs a perfect nest,
must keep the relative order of loops bound into reduce variables (a float reduction summed in
another order gives other bits) and every other loop it moves must not carry a dependence."""
from __future__ import annotations

from compiler.loop.expr import Binary, Expr, IntImm, Load, Var
from compiler.loop.stmt import Block, CallFunc, Evaluate, For, IfThenElse, Store
from compiler.loop.verifier import MAX_UNROLL
from compiler.loop.visitor import map_children, substitute, walk

from ._access import collect_at, reduce_loops
from ._dependence import first_conflict
from ._errors import ScheduleError
from ._tree import child_stmts, conjoin, index_in, loops_on


def _check_extent(prim: str, f: For) -> None:
    if f.extent == 0:
        raise ScheduleError(prim, f"%{f.var.name}", "the loop has no iterations")


def split(sch, loop: str, factor) -> tuple:
    f = sch.loop(loop, "split")
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ScheduleError("split", f"%{loop}", f"the factor must be a positive integer, got "
                            f"{factor!r}")
    _check_extent("split", f)
    factor = min(factor, f.extent)
    outer_ext = -(-f.extent // factor)
    o, i = Var(sch.fresh_name(f"{loop}_o")), Var(sch.fresh_name(f"{loop}_i"))
    value = o * factor + i
    body = substitute(f.body, {f.var: value})
    if f.extent % factor:
        body = guard(body, value.lt(f.extent))
    outer_kind = f.kind if f.kind == "parallel" else "serial"
    inner_kind = f.kind if f.kind in ("vectorized", "unrolled") else "serial"
    sch.replace(f, For(o, outer_ext, For(i, factor, body, inner_kind), outer_kind))
    return o.name, i.name


def guard(body, cond: Expr):
    """`body` run only where `cond` holds: as the `where` predicate of the outermost blocks
    when nothing outside blocks could fail or touch memory (loads, stores, calls, division
    by a variable), else as an `if` around it."""
    if not _unsafe_outside_blocks(body):
        return _predicate_blocks(body, cond)
    return IfThenElse(cond, body)


def _unsafe_expr(e: Expr) -> bool:
    return any(isinstance(n, Load) or (isinstance(n, Binary) and n.op in "/%"
                                       and not isinstance(n.b, IntImm)) for n in walk(e))


def _unsafe_outside_blocks(s) -> bool:
    if isinstance(s, Block):        # the predicate is tested before the bindings are computed
        return s.predicate is not None and _unsafe_expr(s.predicate)
    if isinstance(s, (Store, Evaluate, CallFunc)):
        return True
    for name in s._children:
        v = getattr(s, name)
        if any(isinstance(c, Expr) and _unsafe_expr(c) for c in (v if isinstance(v, tuple)
                                                                   else (v,))):
            return True
    return any(_unsafe_outside_blocks(c) for c in child_stmts(s))


def _predicate_blocks(s, cond):
    if isinstance(s, Block):
        return Block(s.name, s.iter_vars, s.bindings, s.body, s.init,
                     conjoin(s.predicate, cond))
    return map_children(s, lambda c: c if isinstance(c, Expr) else _predicate_blocks(c, cond))


def fuse(sch, outer: str, inner: str) -> str:
    o, i = sch.loop(outer, "fuse"), sch.loop(inner, "fuse")
    target = f"%{outer}, %{inner}"
    if o is i:
        raise ScheduleError("fuse", target, "a loop does not fuse with itself")
    if o.body is not i:
        raise ScheduleError("fuse", target, f"loop %{inner} is not the whole body of loop "
                            f"%{outer}; only adjacent, perfectly nested loops fuse")
    if o.kind != i.kind:
        raise ScheduleError("fuse", target, f"the loops are {o.kind} and {i.kind}; fuse loops "
                            "of one kind (annotate after fusing)")
    _check_extent("fuse", o)
    _check_extent("fuse", i)
    n = o.extent * i.extent
    if o.kind == "unrolled" and n > MAX_UNROLL:
        raise ScheduleError("fuse", target, f"the fused unrolled loop would have {n} iterations "
                            f"(at most {MAX_UNROLL})")
    v = Var(sch.fresh_name(f"{outer}_{inner}_fused"))
    body = substitute(i.body, {o.var: v // i.extent, i.var: v % i.extent})
    sch.replace(o, For(v, n, body, o.kind))
    return v.name


def reorder(sch, names: list) -> None:
    target = ", ".join(f"%{x}" for x in names)
    if not names:
        raise ScheduleError("reorder", "", "needs at least one loop")
    if len(set(names)) != len(names):
        raise ScheduleError("reorder", target, "a loop is named twice")
    loops = [sch.loop(n, "reorder") for n in names]
    paths = sorted((sch.path(f) for f in loops), key=len)
    top = paths[0][-1]
    for p in paths[1:]:
        if not any(s is top for s in p):
            raise ScheduleError("reorder", target, f"loops %{top.var.name} and "
                                f"%{p[-1].var.name} are not nested in one another")
    deepest = paths[-1]
    band = loops_on(deepest[index_in(deepest, top):])
    for a, b in zip(band, band[1:]):
        if a.body is not b:
            raise ScheduleError("reorder", target, f"the loops are not perfectly nested: the "
                                f"body of %{a.var.name} is not just loop %{b.var.name}")
    for p in paths:
        if not any(f is p[-1] for f in band):
            raise ScheduleError("reorder", target, f"loop %{p[-1].var.name} is not in the nest "
                                f"from %{top.var.name} down to %{band[-1].var.name}")
    chosen = iter(loops)
    picked = {id(f) for f in loops}
    new = [next(chosen) if id(f) in picked else f for f in band]
    if all(a is b for a, b in zip(new, band)):
        return
    vec = next((f for f in new[:-1] if f.kind == "vectorized"), None)
    if vec is not None:
        raise ScheduleError("reorder", target, f"vectorized loop %{vec.var.name} would no "
                            "longer be innermost")
    _check_reorder(band, new, sch, target)
    body = band[-1].body
    for f in reversed(new):
        body = For(f.var, f.extent, body, f.kind)
    sch.replace(top, body)


def _check_reorder(band: list, new: list, sch, target: str) -> None:
    col = collect_at(sch.path(band[0]))
    red = reduce_loops(col)
    old_red = [f.var for f in band if f.var in red]
    new_red = [f.var for f in new if f.var in red]
    if old_red != new_red:
        block, _ = red[old_red[0]]
        raise ScheduleError("reorder", target, f"it would change the order of the reduction "
                            f"loops {', '.join('%' + v.name for v in old_red)} of block "
                            f'"{block.name}" (a float reduction summed in another order gives '
                            "different results)")
    targets = [f.var for f in band if f.var not in red]
    shared = {f.var for f in loops_on(sch.path(band[0])[:-1])}
    why = first_conflict(col, targets, shared)
    if why is not None:
        raise ScheduleError("reorder", target, f"the nest carries a dependence: {why}")


def tile(sch, l1: str, l2: str, f1, f2) -> tuple:
    try:
        o1, i1 = sch.split(l1, f1)
        o2, i2 = sch.split(l2, f2)
        sch.reorder(o1, o2, i1, i2)
    except ScheduleError as e:
        raise ScheduleError("tile", f"%{l1}, %{l2}", str(e)) from None
    return o1, o2, i1, i2
