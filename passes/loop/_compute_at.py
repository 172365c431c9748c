"""compute_at: move a producer block, with the loops that are its own, to the start of a
consumer loop's body, computing only the region of its output read under that loop in each
iteration (TVM's compute_at).

    for %i { for %j { block "B" ... } }           for %i2 {
    for %i2 { for %j2 {                     ->      for %ax0 { for %ax1 { block "B" } }
      block "C" ... %B[..] } }                      for %j2 { block "C" } }

Legality (each refusal says which rule):
  * the producer writes one buffer at one index, each dimension a distinct spatial variable
    plus a constant (so a region of the buffer is a box of its iteration space); it reads its
    output only there and then has an init (a reduction), so recomputing an element is safe;
  * it sits before the loop in one statement list, with loops of its own; nothing between
    them, nor anything in the loop's statement outside the loop, touches the output or writes
    what the producer reads;
  * when anything else can see the output (a parameter or arena buffer, or a read outside the
    loop), the regions computed over all iterations must cover everything the producer wrote."""
from __future__ import annotations

from compiler.loop.arith import linear
from compiler.loop.expr import IntImm, Load, Var
from compiler.loop.simplify import simplify
from compiler.loop.stmt import Block, CallFunc, For, Seq, Store, seq
from compiler.loop.visitor import free_vars, walk

from ._access import collect_at
from ._annotate import recheck_concurrent_loops
from ._errors import ScheduleError
from ._region import in_bounds, region
from ._tree import conjuncts, index_in, loops_on, replace


def compute_at(sch, block: str, loop: str) -> list:
    target = f'block "{block}"'

    def fail(reason):
        raise ScheduleError("compute_at", target, reason)

    P, L = sch.block(block, "compute_at"), sch.loop(loop, "compute_at")
    ppath, lpath = sch.path(P), sch.path(L)
    if any(s is L for s in ppath):
        fail(f"the block is already inside loop %{loop}")
    k = len(ppath) - 1
    while k > 0 and isinstance(ppath[k - 1], For) and ppath[k - 1].body is ppath[k]:
        k -= 1
    root, parent = ppath[k], (ppath[k - 1] if k > 0 else None)
    if not isinstance(parent, Seq) or any(isinstance(s, Block) for s in ppath[:k]):
        fail("the block does not have loops of its own (they hold other statements, or the "
             "block is nested in another block)")
    if not any(s is parent for s in lpath):
        fail(f"loop %{loop} is not in the statement list that holds the block's loops")
    if any(isinstance(s, Block) for s in lpath):
        fail(f"loop %{loop} is inside a block")
    anchor = lpath[index_in(lpath, parent) + 1]
    i_root, i_anchor = index_in(parent.stmts, root), index_in(parent.stmts, anchor)
    if i_anchor < i_root:
        fail(f"loop %{loop} runs before the block")
    prod = _Producer(P, fail)
    buf = prod.buf

    # what reads the output under the loop, and the region it needs
    col = collect_at(lpath + [L.body])
    uses = [a for a in col.accesses if a.buffer is buf]
    if any(a.write for a in uses):
        fail(f"%{buf.name} is also {next(a for a in uses if a.write).where()} under loop %{loop}")
    if not uses:
        fail(f"nothing under loop %{loop} reads %{buf.name}")
    outer = {f.var for f in loops_on(lpath)}
    reg = region(uses, buf.shape, {v for v in col.ranges if v not in outer}, col.ranges)

    # nothing in between may touch the output or overwrite the producer's inputs
    ctx = ppath[:k]
    others = list(parent.stmts[i_root + 1:i_anchor]) + [replace(anchor, L, Seq(()))]
    for st in others:
        for a in collect_at(ctx + [st]).accesses:
            if a.buffer is buf:
                fail(f"%{buf.name} is {a.where()} between the block and loop %{loop}")
            if a.write and a.buffer in prod.inputs:
                fail(f"%{a.buffer.name}, which the block reads, is {a.where()} between the "
                     f"block and loop %{loop}")
    for a in col.accesses:
        if a.write and a.buffer in prod.inputs:
            fail(f"%{a.buffer.name}, which the block reads, is {a.where()} under loop %{loop}")

    rest = replace(replace(sch.func.body, root, Seq(())), L, Seq(()))
    seen_elsewhere = any(b is buf for n in walk(rest) for b in _buffers_of(n))
    if buf.scope != "local" or seen_elsewhere:
        union_loops = loops_on(lpath[index_in(lpath, anchor):])
        why = prod.coverage_gap(ppath[k:], reg, union_loops, col.ranges)
        if why is not None:
            who = "the function's caller" if buf.scope == "param" else "other code"
            fail(f"the regions of %{buf.name} computed under loop %{loop} would not cover "
                 f"everything the block wrote, which {who} can read: {why}")

    nest, names = prod.nest(sch, reg, {v: r for v, r in col.ranges.items() if v in outer})
    new_l = For(L.var, L.extent, seq(nest, L.body), L.kind)
    sch.set_body(replace(replace(sch.func.body, root, Seq(())), L, new_l))
    recheck_concurrent_loops(sch, "compute_at", target, sch.block(block, "compute_at"))
    return names


def _buffers_of(n):
    if isinstance(n, (Load, Store)):
        return (n.buffer,)
    if isinstance(n, CallFunc):
        return n.args
    return ()


class _Producer:
    """The producer block's output, its write index and its inputs, checked."""

    def __init__(self, P: Block, fail):
        self.P, self.fail = P, fail
        nodes = [n for body in (P.init, P.body) if body is not None for n in walk(body)]
        if any(isinstance(n, (Block, CallFunc)) for n in nodes):
            fail("the block holds nested blocks or calls")
        stores = [n for n in nodes if isinstance(n, Store)]
        written = {id(s.buffer): s.buffer for s in stores}
        if len(written) != 1:
            fail(f"the block writes {len(written)} buffers; compute_at moves a block that "
                 "writes one")
        self.buf = stores[0].buffer
        self.index = stores[0].indices
        if any(s.indices != self.index for s in stores):
            fail(f"the block writes %{self.buf.name} at more than one index")
        spatial = {iv.var: iv for iv in P.iter_vars if iv.kind == "spatial"}
        self.dim_of = {}                       # spatial Var -> (dimension, constant offset)
        for d, e in enumerate(self.index):
            terms, c = linear(e) if e.lanes == 1 else ({e: 1}, 0)
            if not terms:
                continue
            v, coef = next(iter(terms.items()))
            if len(terms) != 1 or coef != 1 or v not in spatial or v in self.dim_of:
                fail(f"the block writes %{self.buf.name} at index {d} with something other "
                     "than a spatial variable plus a constant")
            self.dim_of[v] = (d, c)
        missing = [v for v in spatial if v not in self.dim_of]
        if missing:
            fail(f"spatial variable %{missing[0].name} does not appear in the index of "
                 f"%{self.buf.name} (the block overwrites elements)")
        loads = [n for n in nodes if isinstance(n, Load)]
        if any(ld.buffer is self.buf and ld.indices != self.index for ld in loads):
            fail(f"the block reads %{self.buf.name} where it does not write it")
        if any(ld.buffer is self.buf for ld in loads) and P.init is None:
            fail(f"the block reads %{self.buf.name} without an init; recomputing an element "
                 "would accumulate twice")
        self.inputs = {ld.buffer for ld in loads if ld.buffer is not self.buf}
        self._check_predicate()

    def _check_predicate(self) -> None:
        """Only `binding < extent` guards (from non-dividing splits) may go: the new loops
        carry their own bounds."""
        if self.P.predicate is None:
            return
        binds = {(simplify(b), iv.extent) for iv, b in zip(self.P.iter_vars, self.P.bindings)}
        for c in conjuncts(self.P.predicate):
            ok = (getattr(c, "op", None) == "<" and isinstance(c.b, IntImm)
                  and (simplify(c.a), c.b.value) in binds)
            if not ok:
                self.fail("the block has a `where` predicate other than the bounds of a split; "
                          "apply compute_at before such splits")

    def coverage_gap(self, nest_path, reg, union_loops, ranges):
        """None if the union of the regions over `union_loops` covers every element the block
        wrote in its old place; else why not."""
        own = {f.var: (0, f.extent - 1) for f in loops_on(nest_path)}
        union = {f.var: f.extent for f in union_loops}
        for iv, b in zip(self.P.iter_vars, self.P.bindings):
            if iv.kind == "spatial" and not _covers(b, own, 0, iv.extent - 1, (0, 0)):
                return f"cannot tell which elements the block wrote (%{iv.var.name} = {b})"
        for v, (d, c) in self.dim_of.items():
            r = reg[d]
            ext = {a: union.get(a) for a in r.terms}
            if any(e is None for e in ext.values()):
                return f"the region of dimension {d} depends on loops outside the consumer nest"
            iv_ext = next(iv.extent for iv in self.P.iter_vars if iv.var is v)
            if not _covers_terms(r.terms, ext, (r.lo, r.hi), c, c + iv_ext - 1):
                return f"dimension {d} is not covered"
        return None

    def nest(self, sch, reg, outer_ranges):
        """The producer's new loops over the region: spatial loops in dimension order, then
        its reduce loops over their whole extents."""
        order = sorted(self.dim_of.items(), key=lambda kv: kv[1][0])
        loops, binds, ranges = [], {}, dict(outer_ranges)
        for v, (d, c) in order:
            ax = Var(sch.fresh_name(f"ax{len(loops)}"))
            loops.append((ax, reg[d].extent))
            ranges[ax] = (0, reg[d].extent - 1)
            binds[v] = simplify(reg[d].start - c + ax, ranges)
        for iv in self.P.iter_vars:
            if iv.kind == "reduce":
                ax = Var(sch.fresh_name(f"ax{len(loops)}"))
                loops.append((ax, iv.extent))
                binds[iv.var] = ax
        ivs = self.P.iter_vars
        spatial = [binds[iv.var] for iv in ivs if iv.kind == "spatial"]
        pred = in_bounds(spatial, [iv.extent for iv in ivs if iv.kind == "spatial"], ranges)
        stmt = Block(self.P.name, ivs, tuple(binds[iv.var] for iv in ivs), self.P.body,
                     self.P.init, pred)
        for ax, ext in reversed(loops):
            stmt = For(ax, ext, stmt)
        return stmt, [ax.name for ax, _ in loops]


def _covers(e, ranges, need_lo, need_hi, window) -> bool:
    """Does affine `e` over `ranges` (each (0, E-1)) take every value in [need_lo, need_hi]?"""
    if any(v not in ranges for v in free_vars(e)):
        return False
    terms, c = linear(simplify(e, ranges))
    if any(not isinstance(a, Var) for a in terms):
        return False
    ext = {a: ranges[a][1] + 1 for a in terms}
    return _covers_terms(terms, ext, (c + window[0], c + window[1]), need_lo, need_hi)


def _covers_terms(terms, ext, window, need_lo, need_hi) -> bool:
    """Is the union over the variables of [sum + window] a superset of [need_lo, need_hi]?
    Translates by growing positive coefficients keep it contiguous while each is at most the
    width covered so far."""
    lo, hi = window
    for a, coef in sorted(terms.items(), key=lambda kv: kv[1]):
        if ext[a] <= 1:
            continue
        if coef <= 0 or coef > hi - lo + 1:
            return False
        hi += coef * (ext[a] - 1)
    return lo <= need_lo and hi >= need_hi
