"""Schedules: legal loop transformations of one function of the loop IR, recorded as a trace.

    from passes.loop.schedule import Schedule
    sch = Schedule(module)                      # or Schedule(module, "matmul"), Schedule(func)
    io, jo, ii, ji = sch.tile("i", "j", 32, 32)
    ko, ki = sch.split("k", 4)
    sch.reorder(io, jo, ko, ii, ki, ji)
    sch.vectorize(ji); sch.parallel(io)
    sch.cache_read("C", "B", ko)                # pack the B panel read under %ko
    print(sch.trace.to_json())

Loops are named by their variable (unique in the function), blocks by their name. Every
primitive checks that the function computes exactly what it computed before and otherwise
raises ScheduleError naming the primitive, the loop or block, and the reason; the function is
then left as it was. Each applied primitive appends {"prim", "args"} to `sch.trace`. The
primitives live in _loop_prims (split fuse reorder tile), _annotate (unroll vectorize
parallel), _cache (cache_read cache_write) and _compute_at."""
from __future__ import annotations

from compiler.errors import VerificationError
from compiler.loop.module import LoopFunc, LoopModule
from compiler.loop.printer import print_func
from compiler.loop.stmt import Block, For
from compiler.loop.verifier import verify

from . import _annotate, _cache, _compute_at, _loop_prims
from ._errors import ScheduleError
from ._tree import (block_names_in, canonicalize_names, fresh, loops_on, names_in, path_to,
                    paths_to, printed_names, replace, simplify_bindings)
from .trace import Trace

__all__ = ["Schedule", "ScheduleError", "Trace"]


class Schedule:
    """The schedule of one function: `Schedule(module, func_name=None)` (the module's only
    function by default) or `Schedule(func)`. Primitives mutate the function in place."""

    def __init__(self, ir, func_name: str | None = None):
        if isinstance(ir, LoopModule):
            self.module = ir
            if func_name is None:
                if len(ir.funcs) != 1:
                    raise ScheduleError("schedule", f"module @{ir.name}",
                                        f"it has {len(ir.funcs)} functions; name the one to "
                                        "schedule")
                self.func = ir.funcs[0]
            else:
                try:
                    self.func = ir.get_func(func_name)
                except KeyError as e:
                    raise ScheduleError("schedule", f"@{func_name}", e.args[0]) from None
        elif isinstance(ir, LoopFunc):
            if func_name is not None and func_name != ir.name:
                raise ScheduleError("schedule", f"@{func_name}", f"got function @{ir.name}")
            self.module, self.func = None, ir
        else:
            raise TypeError(f"Schedule needs a LoopModule or LoopFunc, got {type(ir).__name__}")
        self.trace = Trace()
        self._depth = 0
        self._handed_out: set = set()          # names given out during one primitive
        self._handed_blocks: set = set()
        self._printed: set | None = None
        verify(self.ir)
        canonicalize_names(self.func, self.module)

    @property
    def ir(self):
        return self.module if self.module is not None else self.func

    def __str__(self) -> str:
        return print_func(self.func, self.module)

    # ---- lookups ---------------------------------------------------------------------------------
    def loop(self, name: str, prim: str) -> For:
        if not isinstance(name, str):
            raise ScheduleError(prim, repr(name), "loops are named by their variable (a string)")
        found = [p[-1] for p in paths_to(self.func.body,
                                         lambda s: isinstance(s, For) and s.var.name == name)]
        if len(found) != 1:
            why = "no loop has" if not found else f"{len(found)} loops have"
            raise ScheduleError(prim, f"%{name}", f"{why} this variable name in "
                                f"@{self.func.name}")
        return found[0]

    def block(self, name: str, prim: str) -> Block:
        found = [p[-1] for p in paths_to(self.func.body,
                                         lambda s: isinstance(s, Block) and s.name == name)]
        if len(found) != 1:
            why = "no block has" if not found else f"{len(found)} blocks have"
            raise ScheduleError(prim, f'block "{name}"', f"{why} this name in @{self.func.name}")
        return found[0]

    def path(self, node) -> list:
        return path_to(self.func.body, node)

    def get_loops(self, block: str) -> list:
        """Names of the loops around a block, outermost first."""
        return [f.var.name for f in loops_on(self.path(self.block(block, "get_loops")))]

    def get_blocks(self) -> list:
        return [p[-1].name for p in paths_to(self.func.body, lambda s: isinstance(s, Block))]

    # ---- editing (for the primitives) ------------------------------------------------------------
    def fresh_name(self, base: str) -> str:
        """A variable/buffer name used nowhere in the function (nor handed out before)."""
        if self._printed is None:
            self._printed = printed_names(self.func, self.module)
        name = fresh(base, names_in(self.func, self.module) | self._printed | self._handed_out)
        self._handed_out.add(name)
        return name

    def fresh_block_name(self, base: str) -> str:
        name = fresh(base, block_names_in(self.func.body) | self._handed_blocks)
        self._handed_blocks.add(name)
        return name

    def replace(self, old, new) -> None:
        self.set_body(replace(self.func.body, old, new))

    def set_body(self, body) -> None:
        self.func.body = simplify_bindings(body)

    # ---- running primitives ----------------------------------------------------------------------
    def _run(self, prim: str, target: str, args: dict, fn):
        saved = (self.func.body, list(self.module.buffers) if self.module else None,
                 self.module.arena_size if self.module else 0)
        if self._depth == 0:
            self._handed_out, self._handed_blocks, self._printed = set(), set(), None
        self._depth += 1
        try:
            result = fn()
            if self._depth == 1:
                try:
                    verify(self.ir)
                except VerificationError as e:
                    raise ScheduleError(prim, target, f"the result would be invalid IR: {e}") \
                        from None
        except BaseException:
            self.func.body = saved[0]
            if self.module is not None:
                self.module.buffers[:] = saved[1]
                self.module.arena_size = saved[2]
            raise
        finally:
            self._depth -= 1
        if self._depth == 0:
            self.trace.append_record(prim, args)
        return result

    def apply(self, record: dict):
        """Apply one trace record {"prim": name, "args": {...}}."""
        prim, args = record.get("prim"), record.get("args", {})
        if prim not in PRIMITIVES:
            raise ScheduleError("replay", repr(prim), "unknown primitive (known: "
                                + ", ".join(PRIMITIVES) + ")")
        try:
            if prim == "reorder":
                return self.reorder(*args["loops"])
            return getattr(self, prim)(**args)
        except (TypeError, KeyError) as e:
            raise ScheduleError("replay", prim, f"bad arguments {args!r}: {e}") from None

    # ---- primitives ----------------------------------------------------------------------------
    def split(self, loop: str, factor: int) -> tuple:
        """Split `loop` into (outer, inner) with inner extent `factor`; returns their names."""
        return self._run("split", f"%{loop}", {"loop": loop, "factor": factor},
                         lambda: _loop_prims.split(self, loop, factor))

    def fuse(self, outer: str, inner: str) -> str:
        """Fuse two directly nested loops into one; returns its name."""
        return self._run("fuse", f"%{outer}, %{inner}", {"outer": outer, "inner": inner},
                         lambda: _loop_prims.fuse(self, outer, inner))

    def reorder(self, *loops: str) -> None:
        """Put the given loops of one perfect nest in this order (others keep their place)."""
        return self._run("reorder", ", ".join(f"%{x}" for x in loops), {"loops": list(loops)},
                         lambda: _loop_prims.reorder(self, list(loops)))

    def tile(self, l1: str, l2: str, f1: int, f2: int) -> tuple:
        """Split l1 by f1 and l2 by f2 and order the loops (l1o, l2o, l1i, l2i)."""
        return self._run("tile", f"%{l1}, %{l2}", {"l1": l1, "l2": l2, "f1": f1, "f2": f2},
                         lambda: _loop_prims.tile(self, l1, l2, f1, f2))

    def unroll(self, loop: str) -> None:
        return self._run("unroll", f"%{loop}", {"loop": loop},
                         lambda: _annotate.annotate(self, "unroll", loop))

    def vectorize(self, loop: str) -> None:
        return self._run("vectorize", f"%{loop}", {"loop": loop},
                         lambda: _annotate.annotate(self, "vectorize", loop))

    def parallel(self, loop: str) -> None:
        return self._run("parallel", f"%{loop}", {"loop": loop},
                         lambda: _annotate.annotate(self, "parallel", loop))

    def cache_read(self, block: str, buffer: str, loop: str | None = None,
                   scope: str = "local") -> str:
        """Copy the region of `buffer` that `block` reads under `loop` into a new contiguous
        buffer just before `loop` (before the block's outermost statement when None) and make
        the block read the copy; returns the name of the copy block (= the new buffer)."""
        return self._run("cache_read", f'block "{block}"',
                         {"block": block, "buffer": buffer, "loop": loop, "scope": scope},
                         lambda: _cache.cache_read(self, block, buffer, loop, scope))

    def cache_write(self, block: str, buffer: str, loop: str | None = None,
                    scope: str = "local") -> str:
        """Make `block` write (and read) a new contiguous buffer holding the region of `buffer`
        it writes under `loop`, copied back after `loop`; returns the copy-back block name."""
        return self._run("cache_write", f'block "{block}"',
                         {"block": block, "buffer": buffer, "loop": loop, "scope": scope},
                         lambda: _cache.cache_write(self, block, buffer, loop, scope))

    def compute_at(self, block: str, loop: str) -> list:
        """Move producer `block` (with its own loops) to the start of `loop`'s body, computing
        only the region its consumers there read; returns the names of the new loops."""
        return self._run("compute_at", f'block "{block}"', {"block": block, "loop": loop},
                         lambda: _compute_at.compute_at(self, block, loop))


PRIMITIVES = ("split", "fuse", "reorder", "tile", "unroll", "vectorize", "parallel",
              "cache_read", "cache_write", "compute_at")
