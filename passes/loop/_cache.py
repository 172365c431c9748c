"""cache_read and cache_write: stage the region of a buffer that one block touches under a
loop in a new contiguous buffer (scope `local`: an `alloc`; or `arena`: a slice of the module
arena), as TVM's primitives of the same names.

    cache_read("C", "B", "k"):                cache_write("C", "C", "k"):
      alloc %B_local: f32[K,16]                 alloc %C_local: f32[4,16]
      for %ax0, %ax1 { block "B_local" }        [a copy-in nest, when needed]
      for %k { ... %B_local[..] ... }           for %k { ... %C_local[..] = ... }
                                                for %ax0, %ax1 { block "C_local" }

The region comes from _region (a box per iteration of the loops outside `loop`). The block
indexes the new buffer with the offset inside the region; because a block body sees only its
own variables, an offset that is not an existing block variable (plus a constant) becomes a
new spatial block variable bound to it. Copies of a region that can leave the buffer (a
non-dividing split) carry an in-bounds `where` predicate.

Legality. cache_read: nothing under `loop` writes the buffer (the copy would go stale).
cache_write: nothing but the block touches the buffer under `loop`; the region is first copied
in unless the block provably writes every element of it before reading any (no predicate, one
unconditional store whose offsets are distinct loop variables spanning the region, and for a
read-modify-write block an init whose reduce loops all lie under `loop`)."""
from __future__ import annotations

from compiler.loop.arith import bounds, from_linear, linear
from compiler.loop.buffer import Buffer
from compiler.loop.expr import Broadcast, IntImm, Load, Ramp, Var
from compiler.loop.simplify import simplify
from compiler.loop.stmt import Allocate, Block, For, IfThenElse, IterVar, Seq, Store, seq
from compiler.loop.visitor import free_vars, map_children, substitute, walk

from ._access import collect_at
from ._annotate import recheck_concurrent_loops
from ._errors import ScheduleError
from ._region import in_bounds, region
from ._tree import index_in, loops_on, replace

SCOPES = ("local", "arena")


class _Site:
    """One cache_read / cache_write request, resolved: the block, its buffer, the statement
    the copies go around (`anchor`), the accesses and the region."""

    def __init__(self, sch, prim: str, block: str, buffer: str, loop, scope: str, write: bool):
        self.sch, self.prim, self.target = sch, prim, f'block "{block}"'
        self.blk = sch.block(block, prim)
        if scope not in SCOPES:
            self.fail(f"unknown scope '{scope}' (known: {', '.join(SCOPES)})")
        if scope == "arena" and sch.module is None:
            self.fail("scope arena needs a LoopModule (the schedule was made from a function)")
        self.scope = scope
        path = sch.path(self.blk)
        if any(isinstance(s, Block) for s in path[:-1]):
            self.fail("the block is nested inside another block")
        if loop is None:
            self.anchor = next((s for s in path if isinstance(s, For)), self.blk)
        else:
            self.anchor = sch.loop(loop, prim)
            if not any(s is self.anchor for s in path):
                self.fail(f"the block is not inside loop %{loop}")
        self.where = (f"loop %{self.anchor.var.name}" if isinstance(self.anchor, For)
                      else "the block")
        self.apath = path[:index_in(path, self.anchor) + 1]
        self.between = path[len(self.apath):-1]
        if scope == "arena" and any(f.kind == "parallel" for f in loops_on(self.apath[:-1])):
            self.fail("an arena buffer under a parallel loop would be shared by its threads "
                      "(use scope local)")
        self.col = collect_at(self.apath)
        site = next(s for s in self.col.blocks if s.block is self.blk)
        self.bindings = {iv.var: b for iv, b in zip(self.blk.iter_vars, site.bindings)}
        self.site_bindings = site.bindings
        self.buf = self._find_buffer(buffer, write)
        self.outer = {f.var for f in loops_on(self.apath[:-1])}
        self.mine = [a for a in self.col.accesses
                     if a.buffer is self.buf and a.blocks and a.blocks[-1] is self.blk]
        if not self.mine:
            self.fail(f"only blocks nested in the block access %{buffer}")
        own = set(self.bindings)
        for a in self.mine:
            if not a.known or not all(v in own for i in a.raw for v in free_vars(i)):
                self.fail(f"%{buffer} is indexed by data or by variables defined inside the "
                          "block; its region is unknown")
        inner = {v for v in self.col.ranges if v not in self.outer}
        self.region = region(self.mine, self.buf.shape, inner, self.col.ranges)
        self.outer_ranges = {v: r for v, r in self.col.ranges.items() if v in self.outer}

    def fail(self, reason: str):
        raise ScheduleError(self.prim, self.target, reason)

    def _find_buffer(self, name: str, write: bool):
        for body in (self.blk.init, self.blk.body):
            for n in (walk(body) if body is not None else ()):
                if isinstance(n, (Store if write else Load)) and n.buffer.name == name:
                    return n.buffer
        self.fail(f"the block does not {'write' if write else 'read'} a buffer %{name}")

    # ---- building ------------------------------------------------------------------------------
    def make_cache(self) -> Buffer:
        name = self.sch.fresh_name(f"{self.buf.name}_{self.scope}")
        shape = tuple(r.extent for r in self.region)
        if self.scope == "local":
            return Buffer(name, self.buf.dtype, shape, scope="local")
        m = self.sch.module
        offset = -(-m.arena_size // 64) * 64
        return m.add_arena_buffer(name, self.buf.dtype, shape, offset)

    def retarget(self, cache: Buffer, stores: bool) -> Block:
        """The block with its accesses of the buffer redirected to `cache`."""
        blk, extras, extra_bindings = self.blk, {}, []

        def offset(e, d):
            r = simplify(substitute(e, self.bindings) - self.region[d].start, self.col.ranges)
            if isinstance(r, IntImm):
                return r
            ext = self.region[d].extent
            for iv, b in zip(blk.iter_vars, self.site_bindings):
                c = simplify(r - b, self.col.ranges)
                if isinstance(c, IntImm) and c.value >= 0 and c.value + iv.extent <= ext:
                    return iv.var + c.value if c.value else iv.var
            # one new variable per offset up to a constant (x[i], x[i + 1] share one)
            terms, c = linear(r)
            base = from_linear(terms, 0)
            lo, hi = bounds(base, self.col.ranges)
            if lo is None or hi is None or lo < 0 or c < 0 or c + hi >= ext:
                base, c, hi = r, 0, ext - 1
            if base not in extras:
                v = Var(self.sch.fresh_name(f"v{cache.name}_{d}"))
                extras[base] = IterVar(v, hi + 1, "spatial")
                extra_bindings.append(base)
            return extras[base].var + c if c else extras[base].var

        def index(e, d):
            if isinstance(e, Ramp):
                return Ramp(offset(e.base, d), e.stride, e.lanes)
            if isinstance(e, Broadcast):
                return Broadcast(offset(e.value, d), e.lanes)
            return offset(e, d)

        def rec(n):
            if isinstance(n, Block):
                return n
            n = map_children(n, rec)
            if isinstance(n, Load) and n.buffer is self.buf:
                return Load(cache, tuple(index(i, d) for d, i in enumerate(n.indices)))
            if stores and isinstance(n, Store) and n.buffer is self.buf:
                return Store(cache, tuple(index(i, d) for d, i in enumerate(n.indices)), n.value)
            return n

        init = None if blk.init is None else rec(blk.init)
        body = rec(blk.body)
        return Block(blk.name, blk.iter_vars + tuple(extras.values()),
                     blk.bindings + tuple(extra_bindings), body, init, blk.predicate)

    def copy_nest(self, cache: Buffer, name: str, into_cache: bool):
        """Loops copying the region between the buffer and `cache`, in either direction."""
        ivs, binds, src, dst, loops, ranges = [], [], [], [], [], dict(self.outer_ranges)
        values = []
        for d, r in enumerate(self.region):
            ax = Var(self.sch.fresh_name(f"ax{d}"))
            loops.append((ax, r.extent))
            ranges[ax] = (0, r.extent - 1)
            start = r.start
            values.append(start + ax)
            vs = Var(self.sch.fresh_name(f"v{d}"))
            if isinstance(start, IntImm) and start.value == 0:
                vd = vs
                ivs.append(IterVar(vs, r.extent, "spatial"))
                binds.append(ax)
                src.append(vs)
            else:
                vd = Var(self.sch.fresh_name(f"c{d}"))
                ivs += [IterVar(vs, self.buf.shape[d], "spatial"), IterVar(vd, r.extent)]
                binds += [start + ax, ax]
                src.append(vs)
            dst.append(vd)
        pred = in_bounds(values, self.buf.shape, ranges)
        body = (cache.store(tuple(dst), Load(self.buf, tuple(src))) if into_cache
                else self.buf.store(tuple(src), Load(cache, tuple(dst))))
        stmt = Block(name, ivs, binds, body, None, pred)
        for ax, ext in reversed(loops):
            stmt = For(ax, ext, stmt)
        return stmt

    def install(self, cache: Buffer, new_blk: Block, before, after) -> None:
        new_anchor = replace(self.anchor, self.blk, new_blk)
        stmt = seq(*[s for s in (before, new_anchor, after) if s is not None])
        if self.scope == "local":
            stmt = Allocate(cache, stmt)
        self.sch.replace(self.anchor, stmt)


def cache_read(sch, block: str, buffer: str, loop, scope: str) -> str:
    s = _Site(sch, "cache_read", block, buffer, loop, scope, write=False)
    stale = next((a for a in s.col.accesses if a.buffer is s.buf and a.write), None)
    if stale is not None:
        s.fail(f"%{buffer} is {stale.where()} under {s.where}; a copy made before it would "
               "go stale")
    cache = s.make_cache()
    name = sch.fresh_block_name(cache.name)
    s.install(cache, s.retarget(cache, stores=False), s.copy_nest(cache, name, True), None)
    recheck_concurrent_loops(sch, "cache_read", s.target, sch.block(name, "cache_read"))
    return name


def cache_write(sch, block: str, buffer: str, loop, scope: str) -> str:
    s = _Site(sch, "cache_write", block, buffer, loop, scope, write=True)
    other = next((a for a in s.col.accesses
                  if a.buffer is s.buf and not any(a is m for m in s.mine)), None)
    if other is not None:
        s.fail(f"%{buffer} is also {other.where()} under {s.where}; only the block may touch "
               "a buffer it caches")
    cache = s.make_cache()
    name = sch.fresh_block_name(cache.name)
    copy_in = None
    if _needs_copy_in(s):
        copy_in = s.copy_nest(cache, sch.fresh_block_name(cache.name + "_in"), True)
    s.install(cache, s.retarget(cache, stores=True), copy_in, s.copy_nest(cache, name, False))
    recheck_concurrent_loops(sch, "cache_write", s.target, sch.block(name, "cache_write"))
    return name


def _top_stores(stmt, buf) -> list:
    parts = stmt.stmts if isinstance(stmt, Seq) else (stmt,)
    return [x for x in parts if isinstance(x, Store) and x.buffer is buf]


def _needs_copy_in(s: _Site) -> bool:
    """Whether the cache must start as a copy of the region: unless every element of it is
    written by the block before the block reads it."""
    blk = s.blk
    if blk.predicate is not None or any(isinstance(x, IfThenElse) for x in s.between):
        return True
    stores = _top_stores(blk.body, s.buf)
    writes = [a for a in s.mine if a.write]
    if not stores or any(a.raw != writes[0].raw for a in writes):
        return True
    used = set()
    for d, (e, r) in enumerate(zip(writes[0].indices, s.region)):
        off = simplify(e - r.start, s.col.ranges)
        if isinstance(off, IntImm):
            if r.extent != 1:
                return True
        elif (not isinstance(off, Var) or off in used or off in s.outer
              or s.col.ranges.get(off) != (0, r.extent - 1)):
            return True
        else:
            used.add(off)
    reads = [a for a in s.mine if not a.write]
    if reads:
        if blk.init is None or not _top_stores(blk.init, s.buf):
            return True
        if any(a.raw != writes[0].raw for a in reads):
            return True
        for iv, b in zip(blk.iter_vars, s.site_bindings):
            if iv.kind == "reduce" and any(v in s.outer for v in free_vars(b)):
                return True
    return False
