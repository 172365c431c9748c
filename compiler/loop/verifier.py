"""The loop IR verifier: checks every invariant and names the function, loop/block and buffer
that breaks it.

  1. module buffers are `const` (with data of the declared dtype and shape) or `arena` (aligned,
     inside `arena_size`); parameters are `param`, `alloc`s are `local`; names are unique in a
     function's scope; function names are C identifiers and unique; calls name an existing
     function with matching, non-overlapping buffers, and there is no recursion;
  2. every variable is defined by an enclosing loop, block or let (a block's body sees only its
     own iteration variables) and no definition shadows an enclosing one;
  3. loads/stores index every dimension of a visible buffer with integers; consts are not
     written;
  4. dtypes and lanes agree: binary operands, store values, select arms, let values, intrinsic
     arguments (float-only intrinsics take floats), conditions are bool, ramps/broadcasts are
     built from scalars;
  5. affine indices stay inside their buffer's shape over the loop ranges (accesses whose index
     variables an enclosing `if` tests are skipped: the test may guard them), and block bindings
     stay inside their iteration variables' extents;
  6. legality: a parallel or vectorized loop is not bound into a reduce iteration variable of a
     block inside it; a vectorized loop holds no loop; an init needs a reduce variable; unrolled
     loops have at most MAX_UNROLL iterations."""
from __future__ import annotations

import re

from ..errors import VerificationError
from ..ir import dtypes
from .expr import Var
from .printer import format_node
from .stmt import (Allocate, Block, CallFunc, Evaluate, For, IfThenElse, LetStmt, Seq, Store)
from .verify_expr import ExprChecks, type_text
from .visitor import substitute, walk

MAX_UNROLL = 1024
_C_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def verify(ir) -> None:
    """Verify a LoopModule (or a single LoopFunc); raise VerificationError on the first problem."""
    from .module import LoopFunc
    if isinstance(ir, LoopFunc):
        _FuncVerifier(ir, None).run()
    else:
        verify_module(ir)


def verify_module(m) -> None:
    where = f"module @{m.name}"
    names = set()
    for b in m.buffers:
        if b.name in names:
            raise VerificationError(f"{where}: buffer %{b.name} is declared twice")
        names.add(b.name)
        if b.scope == "const":
            if b.data is None:
                raise VerificationError(f"{where}: const buffer %{b.name} has no data")
            if tuple(b.data.shape) != b.shape or b.data.dtype != b.dtype.np_dtype:
                raise VerificationError(f"{where}: const buffer %{b.name} is declared "
                                        f"{b.type_str} but its data is {b.data.dtype}"
                                        f"{list(b.data.shape)}")
        elif b.scope == "arena":
            if b.offset < 0 or b.offset % b.dtype.itemsize:
                raise VerificationError(f"{where}: arena buffer %{b.name} has offset {b.offset}, "
                                        f"not a non-negative multiple of {b.dtype.itemsize}")
            if b.offset + b.nbytes > m.arena_size:
                raise VerificationError(f"{where}: arena buffer %{b.name} spans bytes "
                                        f"[{b.offset}, {b.offset + b.nbytes}) but the arena has "
                                        f"{m.arena_size} bytes")
        else:
            raise VerificationError(f"{where}: module buffer %{b.name} has scope '{b.scope}'; "
                                    "module buffers are const or arena")
    funcs = {}
    for f in m.funcs:
        if f.name in funcs:
            raise VerificationError(f"{where}: function @{f.name} is defined twice")
        funcs[f.name] = f
    for f in m.funcs:
        _FuncVerifier(f, m).run()
    _check_no_recursion(m, funcs)


def _check_no_recursion(m, funcs) -> None:
    callees = {f.name: [n.func for n in walk(f.body) if isinstance(n, CallFunc)] for f in m.funcs}
    state: dict = {}

    def visit(name, path):
        if state.get(name) == "done":
            return
        if state.get(name) == "active":
            raise VerificationError(f"module @{m.name}: recursive calls: "
                                    + " -> ".join("@" + p for p in path + [name]))
        state[name] = "active"
        for c in callees.get(name, ()):
            visit(c, path + [name])
        state[name] = "done"

    for f in m.funcs:
        visit(f.name, [])


class _FuncVerifier(ExprChecks):
    def __init__(self, func, module):
        self.f, self.m = func, module
        self.ctx: list = []                 # "loop %i", 'block "C"' for messages
        self.visible: set = set()           # variables usable here
        self.defined: set = set()           # variables defined by an enclosing statement
        self.ranges: dict = {}              # Var -> (lo, hi) for bounds checks
        self.lets: dict = {}                # let Var -> value (substituted before analysis)
        self.guard_vars: set = set()        # variables tested by enclosing ifs
        self.special: list = []             # enclosing parallel / vectorized loops
        self.buffers: dict = {}             # name -> Buffer in scope
        self.in_vectorized = None

    def fail(self, msg: str):
        where = ", ".join([f"func @{self.f.name}"] + self.ctx)
        raise VerificationError(f"{where}: {msg}")

    def run(self) -> None:
        if not _C_IDENT.match(self.f.name):
            self.fail("function names must be C identifiers ([A-Za-z_][A-Za-z0-9_]*)")
        for b in (self.m.buffers if self.m is not None else ()):
            self.buffers[b.name] = b
        for p in self.f.params:
            if p.scope != "param":
                self.fail(f"parameter %{p.name} has scope '{p.scope}' (expected param)")
            self.declare(p)
        self.stmt(self.f.body)

    def declare(self, b) -> None:
        if b.name in self.buffers:
            self.fail(f"buffer name %{b.name} is used twice")
        self.buffers[b.name] = b

    def buffer(self, b, use: str):
        if self.buffers.get(b.name) is not b:
            self.fail(f"{use} buffer %{b.name}, which is not a parameter, module buffer or "
                      "enclosing alloc")

    # ---- variables ----------------------------------------------------------------------------
    def define(self, v: Var, kind: str):
        if not isinstance(v, Var) or v.dtype is not dtypes.i64 or v.lanes != 1:
            if kind != "let":
                self.fail(f"{kind} variable %{getattr(v, 'name', v)} must be an i64 scalar Var")
        if v in self.defined:
            self.fail(f"variable %{v.name} is defined again inside its own scope")

    def scoped(self, new_vars, fn, **state):
        saved = (set(self.visible), set(self.defined), dict(self.ranges), dict(self.lets),
                 set(self.guard_vars))
        saved_state = {k: getattr(self, k) for k in state}
        self.visible |= set(new_vars)
        self.defined |= set(new_vars)
        for k, v in state.items():
            setattr(self, k, v)
        try:
            fn()
        finally:
            (self.visible, self.defined, self.ranges, self.lets, self.guard_vars) = saved
            for k, v in saved_state.items():
                setattr(self, k, v)

    # ---- statements ---------------------------------------------------------------------------
    def stmt(self, s) -> None:
        if isinstance(s, Seq):
            for x in s.stmts:
                self.stmt(x)
        elif isinstance(s, Store):
            self.buffer(s.buffer, "store to")
            if s.buffer.scope == "const":
                self.fail(f"store to const buffer %{s.buffer.name}")
            lanes = self.access(s.buffer, s.indices, "store to")
            self.expr(s.value)
            if s.value.dtype != s.buffer.dtype or s.value.lanes != lanes:
                self.fail(f"store to %{s.buffer.name} ({type_text(s.buffer.dtype, lanes)}) of a "
                          f"{type_text(s.value.dtype, s.value.lanes)} value: {format_node(s.value)}")
        elif isinstance(s, For):
            self.loop(s)
        elif isinstance(s, Block):
            self.block(s)
        elif isinstance(s, IfThenElse):
            self.cond(s.cond, "if")
            tested = self.deps(s.cond)
            for body in (s.then_body, s.else_body):
                if body is not None:
                    self.scoped((), lambda b=body: self.stmt(b),
                                guard_vars=self.guard_vars | tested)
        elif isinstance(s, LetStmt):
            self.expr(s.value)
            self.define(s.var, "let")
            if s.var.dtype != s.value.dtype or s.var.lanes != s.value.lanes:
                self.fail(f"let %{s.var.name} is {type_text(s.var.dtype, s.var.lanes)} but its value is "
                          f"{type_text(s.value.dtype, s.value.lanes)}")

            def body():
                self.lets[s.var] = substitute(s.value, self.lets)
                self.stmt(s.body)
            self.scoped((s.var,), body)
        elif isinstance(s, Allocate):
            if s.buffer.scope != "local":
                self.fail(f"alloc of %{s.buffer.name} with scope '{s.buffer.scope}' "
                          "(expected local)")
            saved = dict(self.buffers)
            self.declare(s.buffer)
            try:
                self.stmt(s.body)
            finally:
                self.buffers = saved
        elif isinstance(s, Evaluate):
            self.expr(s.value)
        elif isinstance(s, CallFunc):
            self.call(s)
        else:
            self.fail(f"not a statement: {s!r}")

    def loop(self, s: For) -> None:
        self.define(s.var, "loop")
        if s.extent < 0:
            self.fail(f"loop %{s.var.name} has negative extent {s.extent}")
        if self.in_vectorized is not None:
            self.fail(f"loop %{s.var.name} is inside vectorized loop %{self.in_vectorized.name}"
                      " (a vectorized loop must be innermost)")
        if s.kind == "unrolled" and s.extent > MAX_UNROLL:
            self.fail(f"unrolled loop %{s.var.name} has {s.extent} iterations (at most "
                      f"{MAX_UNROLL})")
        self.ctx.append(f"loop %{s.var.name}")
        state = {}
        if s.kind in ("parallel", "vectorized"):
            state["special"] = self.special + [s]
        if s.kind == "vectorized":
            state["in_vectorized"] = s.var

        def body():
            self.ranges[s.var] = (0, s.extent - 1)
            self.stmt(s.body)
        self.scoped((s.var,), body, **state)
        self.ctx.pop()

    def block(self, s: Block) -> None:
        self.ctx.append(f"block {s.name!r}".replace("'", '"'))
        if len(s.bindings) != len(s.iter_vars):
            self.fail(f"{len(s.iter_vars)} iteration variables but {len(s.bindings)} bindings")
        if s.predicate is not None:
            self.cond(s.predicate, "block predicate")
        guarded = self.guard_vars | (self.deps(s.predicate) if s.predicate is not None else set())
        for iv, b in zip(s.iter_vars, s.bindings):
            self.define(iv.var, "block")
            self.expr(b)
            if not b.dtype.is_int or b.lanes != 1:
                self.fail(f"%{iv.var.name} is bound to a {type_text(b.dtype, b.lanes)} value; bindings "
                          "are integer scalars")
            rng = self.affine_range(b, guarded)
            if rng is not None and (rng[0] < 0 or rng[1] >= iv.extent):
                self.fail(f"%{iv.var.name} is bound to {format_node(b)}, which ranges over "
                          f"[{rng[0]}, {rng[1]}], outside its extent [0, {iv.extent - 1}]")
            if iv.kind == "reduce":
                used = self.deps(b)
                for lp in self.special:
                    if lp.var in used:
                        self.fail(f"{lp.kind} loop %{lp.var.name} is bound into reduce "
                                  f"variable %{iv.var.name}; only spatial variables may be "
                                  f"bound to {lp.kind} loops")
        if s.init is not None and not s.reduce_vars:
            self.fail("has an init but no reduce iteration variable")
        ivars = [iv.var for iv in s.iter_vars]

        def body():
            self.visible = set(ivars)
            self.lets, self.guard_vars = {}, set()
            for iv in s.iter_vars:
                self.ranges[iv.var] = (0, iv.extent - 1)
            if s.init is not None:
                self.stmt(s.init)
            self.stmt(s.body)
        self.scoped(ivars, body)
        self.ctx.pop()

    def call(self, s: CallFunc) -> None:
        for k, b in enumerate(s.args):
            self.buffer(b, "call passes")
            for c in s.args[:k]:
                overlap = c is b or (b.scope == c.scope == "arena" and
                                     b.offset < c.offset + c.nbytes and
                                     c.offset < b.offset + b.nbytes)
                if overlap:
                    self.fail(f"call @{s.func} passes %{c.name} and %{b.name}, which overlap "
                              "(parameters must not alias)")
        if self.m is None:
            return
        try:
            callee = self.m.get_func(s.func)
        except KeyError as e:
            self.fail(f"call: {e.args[0]}")
        if len(callee.params) != len(s.args):
            self.fail(f"call @{s.func} passes {len(s.args)} buffers; it takes "
                      f"{len(callee.params)}")
        for a, p in zip(s.args, callee.params):
            if (a.dtype, a.shape, a.strides) != (p.dtype, p.shape, p.strides):
                self.fail(f"call @{s.func} passes %{a.name} ({a.type_str}) for parameter "
                          f"%{p.name} ({p.type_str})")
