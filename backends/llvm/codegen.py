"""Loop IR -> LLVM IR (llvmlite.ir): one LLVM function per LoopFunc, statements in this file,
expressions and memory accesses in exprs.py, parallel loops in parallel.py, math in
intrinsics.py. The ABI it produces is described in backends/llvm/__init__.py.

    text = emit_llvm_ir(loop_module, options)     # the LLVM IR, before optimisation

Loops are emitted in rotated (do-while) form with an i64 phi. `unrolled` loops are replicated
here; `vectorized` loops are left to LLVM's loop vectorizer (explicit vectors come from
ramp/broadcast expressions); `parallel` loops are outlined and run through GOMP_parallel. A
block binds its iteration variables, tests its predicate, runs `init` when every reduce
variable is 0, then its body. Every function returns an i32 status (0 = ok)."""
from __future__ import annotations

import re

import llvmlite.ir as ir

from compiler.loop.arith import bounds
from compiler.loop.stmt import (Allocate, Block, CallFunc, Evaluate, For, IfThenElse, LetStmt, Seq,
                                Store)
from compiler.loop.verifier import verify

from .exprs import ExprEmitter, mem_type
from .intrinsics import I32, I64, MathLib
from .target import CompileOptions, as_options, cpu_and_features, create_target_machine

PTR = ir.PointerType()
VOID = ir.VoidType()
STATUS_OK, STATUS_OUT_OF_BOUNDS, STATUS_DIV_BY_ZERO = 0, 1, 2
ERROR_SYMBOL, NUM_THREADS_SYMBOL = "__aicc_error", "__aicc_num_threads"
ERROR_FIELDS = ("status", "func", "buffer", "dim", "index", "extent")


def func_symbol(name: str) -> str:
    return "aicc_" + name


def const_symbol(name: str, taken: set) -> str:
    base = "__aicc_const_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
    sym, k = base, 0
    while sym in taken:
        k += 1
        sym = f"{base}_{k}"
    taken.add(sym)
    return sym


def global_var(mod: ir.Module, ty, name: str, init) -> ir.GlobalVariable:
    """A global whose value has the opaque `ptr` type (llvmlite types globals as T*)."""
    gv = ir.GlobalVariable(mod, ty, name)
    gv.initializer = init
    gv.type = PTR
    return gv


class ModuleCodegen:
    def __init__(self, lm, options: CompileOptions):
        self.lm, self.opts = lm, options
        self.mod = ir.Module(name=lm.name)
        tm = create_target_machine(options)
        self.mod.triple = tm.triple
        self.mod.data_layout = str(tm.target_data)
        self.math = MathLib(self.mod, options.math)
        self.flags = ("fast",) if options.fast_math else ()
        self.buffer_table: list = []          # [{"func", "buffer"}] for error reports
        self._buffer_ids: dict = {}
        self._loop_ids = 0
        self.n_outlined = 0
        err_ty = ir.ArrayType(I64, len(ERROR_FIELDS))
        self.error = global_var(self.mod, err_ty, ERROR_SYMBOL, ir.Constant(err_ty, None))
        self.num_threads = global_var(self.mod, I32, NUM_THREADS_SYMBOL,
                                      ir.Constant(I32, options.num_threads))
        taken: set = set()
        self.const_globals = {}
        self.const_symbols = {}
        for b in lm.consts:
            sym = const_symbol(b.name, taken)
            self.const_globals[b] = global_var(self.mod, PTR, sym, ir.Constant(PTR, None))
            self.const_symbols[b.name] = sym
        self.funcs = {}
        self.offset_cache: dict = {}          # (offset expr, ranges) -> simplified offset
        self.simplifiers: dict = {}           # frozenset of ranges -> Simplifier
        for f in lm.funcs:
            fnty = ir.FunctionType(I32, [PTR] * (len(f.params) + 1))
            fn = ir.Function(self.mod, fnty, func_symbol(f.name))
            for a in fn.args:
                a.add_attribute("noalias")
            fn.attributes.add("nounwind")
            self.funcs[f.name] = fn

    def buffer_id(self, func_name: str, buf) -> int:
        key = (func_name, id(buf))
        if key not in self._buffer_ids:
            self._buffer_ids[key] = len(self.buffer_table)
            self.buffer_table.append({"func": func_name, "buffer": buf.name})
        return self._buffer_ids[key]

    def loop_metadata(self, *props):
        """A distinct self-referential llvm.loop node (patched in by finalize_text)."""
        self._loop_ids += 1
        ops = [ir.MetaDataString(self.mod, f"aicc.loopid.{self._loop_ids}")]
        for name, value in props:
            ops.append(self.mod.add_metadata([ir.MetaDataString(self.mod, name), value]))
        return self.mod.add_metadata(ops)

    def build(self) -> ir.Module:
        for k, f in enumerate(self.lm.funcs):
            fn = self.funcs[f.name]
            em = FunctionEmitter(self, fn, f.name, k)
            for p, arg in zip(f.params, fn.args):
                em.bufs[p] = arg
            em.arena = fn.args[-1]
            em.stmt(f.body)
            em.finish()
        return self.mod

    def finalize_text(self) -> str:
        text = str(self.mod)
        text = re.sub(r'^(!\d+) = !\{ !"aicc\.loopid\.\d+"', r"\1 = distinct !{ \1", text,
                      flags=re.M)
        text = re.sub(r"^(define [^\n]*)$", r"\1 #0", text, flags=re.M)
        cpu, feats = cpu_and_features(self.opts)
        attrs = f'"target-cpu"="{cpu}" "target-features"="{feats}"'
        return text + f"\nattributes #0 = {{ {attrs} }}\n"


def alloca(builder: ir.IRBuilder, ty, name: str = "", align=None):
    """An alloca whose value has the opaque `ptr` type (llvmlite types allocas as T*)."""
    a = builder.alloca(ty, name=name)
    a.type = PTR
    if align:
        a.align = align
    return a


class FunctionEmitter(ExprEmitter):
    def __init__(self, cg: ModuleCodegen, fn: ir.Function, func_name: str, func_id: int,
                 outlined: bool = False):
        self.cg, self.fn, self.func_name, self.func_id = cg, fn, func_name, func_id
        self.outlined = outlined
        self.entry = fn.append_basic_block("entry")
        self.entry_b = ir.IRBuilder(self.entry)
        self.start = fn.append_basic_block("start")
        self.b = ir.IRBuilder(self.start)
        self.vars: dict = {}
        self.bufs: dict = {}
        self.ranges: dict = {}
        self.arena = None
        self.status_ptr = None              # outlined functions: where to report a failure
        self._status_slot = None
        self._err_block = None
        self.in_parallel = outlined

    # ---- function skeleton ---------------------------------------------------------------------
    def finish(self) -> None:
        self.entry_b.branch(self.start)
        if not self.b.block.is_terminated:
            if self.outlined:
                self.b.ret_void()
            else:
                self.b.ret(ir.Constant(I32, STATUS_OK))

    def new_block(self, name: str):
        return self.fn.append_basic_block(name)

    def status_slot(self):
        if self._status_slot is None:
            self._status_slot = alloca(self.entry_b, I32, "status")
            self.entry_b.store(ir.Constant(I32, 0), self._status_slot)
        return self._status_slot

    def goto_error(self, status) -> None:
        """Leave the function with `status` (an i32 value) from the current block."""
        slot = self.status_slot()
        self.b.store(status, slot)
        if self._err_block is None:
            self._err_block = self.new_block("error")
            eb = ir.IRBuilder(self._err_block)
            rc = eb.load(slot, typ=I32)
            if self.outlined:
                eb.atomic_rmw("xchg", self.status_ptr, rc, "monotonic")
                eb.ret_void()
            else:
                eb.ret(rc)
        self.b.branch(self._err_block)

    def guard(self, ok, on_fail, name: str = "check") -> None:
        """Continue if i1 `ok`; otherwise run on_fail() and leave with its status."""
        ok_bb, bad_bb = self.new_block(name + ".ok"), self.new_block(name + ".fail")
        self.b.cbranch(ok, ok_bb, bad_bb)
        self.b.position_at_end(bad_bb)
        self.goto_error(on_fail())
        self.b.position_at_end(ok_bb)

    def record_error(self, status: int, values: dict):
        rec = {"status": ir.Constant(I64, status), "func": ir.Constant(I64, self.func_id)}
        rec.update(values)
        for k, field in enumerate(ERROR_FIELDS):
            v = rec.get(field, ir.Constant(I64, -1))
            p = self.b.gep(self.cg.error, [ir.Constant(I32, 0), ir.Constant(I32, k)],
                           source_etype=self.cg.error.value_type)
            self.b.store(v, p)
        return ir.Constant(I32, status)

    def check_index(self, buf, dim: int, v) -> None:
        extent = buf.shape[dim]
        ok = self.bool_all(self.b.icmp_unsigned("<", v, self.const(v.type, extent)))

        def fail():
            bad = self.first_bad_lane(self.b.icmp_unsigned("<", v, self.const(v.type, extent)),
                                      v)
            return self.record_error(STATUS_OUT_OF_BOUNDS, {
                "buffer": ir.Constant(I64, self.cg.buffer_id(self.func_name, buf)),
                "dim": ir.Constant(I64, dim), "index": bad,
                "extent": ir.Constant(I64, extent)})
        self.guard(ok, fail, "bounds")

    def check_nonzero(self, v, e) -> None:
        nz = self.bool_all(self.b.icmp_unsigned("!=", v, self.const(v.type, 0)))
        self.guard(nz, lambda: self.record_error(STATUS_DIV_BY_ZERO, {}), "divzero")

    # ---- buffers -------------------------------------------------------------------------------
    def buffer_ptr(self, buf):
        p = self.bufs.get(buf)
        if p is not None:
            return p
        if buf.scope == "arena":
            p = self.entry_b.gep(self.arena, [ir.Constant(I64, buf.offset)],
                                 source_etype=ir.IntType(8), name=f"arena.{buf.name}")
        elif buf.scope == "const":
            p = self.entry_b.load(self.cg.const_globals[buf], typ=PTR, name=f"const.{buf.name}")
        else:
            raise RuntimeError(f"codegen: buffer %{buf.name} ({buf.scope}) has no pointer here")
        self.bufs[buf] = p
        return p

    # ---- statements ----------------------------------------------------------------------------
    def stmt(self, s) -> None:
        if isinstance(s, Seq):
            for x in s.stmts:
                self.stmt(x)
        elif isinstance(s, Store):
            self.store(s)
        elif isinstance(s, For):
            self.loop(s)
        elif isinstance(s, Block):
            self.block(s)
        elif isinstance(s, IfThenElse):
            self.if_then_else(self.expr(s.cond), lambda: self.stmt(s.then_body),
                              None if s.else_body is None else lambda: self.stmt(s.else_body))
        elif isinstance(s, LetStmt):
            self.vars[s.var] = self.expr(s.value)
            if s.value.dtype.is_int and s.value.lanes == 1:
                self.ranges[s.var] = bounds(s.value, self.ranges)
            self.stmt(s.body)
        elif isinstance(s, Allocate):
            buf = s.buffer
            slot = alloca(self.entry_b, ir.ArrayType(mem_type(buf.dtype), max(buf.span, 1)),
                          f"local.{buf.name}", align=64)
            self.bufs[buf] = slot
            self.stmt(s.body)
        elif isinstance(s, Evaluate):
            self.expr(s.value)
        elif isinstance(s, CallFunc):
            callee = self.cg.funcs[s.func]
            args = [self.buffer_ptr(b) for b in s.args] + [self.arena]
            rc = self.b.call(callee, args)
            self.guard(self.b.icmp_unsigned("==", rc, ir.Constant(I32, 0)), lambda: rc, "call")
        else:
            raise TypeError(f"codegen: unknown statement {s!r}")

    def if_then_else(self, cond, then_fn, else_fn=None) -> None:
        then_bb, end_bb = self.new_block("then"), self.new_block("endif")
        else_bb = self.new_block("else") if else_fn is not None else end_bb
        self.b.cbranch(cond, then_bb, else_bb)
        for bb, fn in ((then_bb, then_fn), (else_bb if else_fn else None, else_fn)):
            if bb is None:
                continue
            self.b.position_at_end(bb)
            fn()
            if not self.b.block.is_terminated:
                self.b.branch(end_bb)
        self.b.position_at_end(end_bb)

    def loop(self, s: For) -> None:
        if s.extent == 0:
            return
        self.ranges[s.var] = (0, s.extent - 1)
        if s.kind == "unrolled":
            for k in range(s.extent):
                self.vars[s.var] = ir.Constant(I64, k)
                self.ranges[s.var] = (k, k)
                self.stmt(s.body)
            self.ranges[s.var] = (0, s.extent - 1)
            return
        if s.kind == "parallel" and not self.in_parallel and self.cg.opts.parallel:
            from .parallel import emit_parallel
            emit_parallel(self, s)
            return
        # `vectorized` loops are left to LLVM's loop vectorizer without forcing it: forced
        # vectorization that LLVM cannot do prints "loop not vectorized" warnings on stderr
        # (explicit vectors come from ramp/broadcast expressions)
        md = None
        self.counted_loop(s.var, ir.Constant(I64, 0), ir.Constant(I64, s.extent),
                          lambda: self.stmt(s.body), md, known_nonempty=True)

    def counted_loop(self, var, begin, end, body_fn, md=None, known_nonempty=False) -> None:
        """for var in [begin, end): body — rotated, with an i64 phi."""
        name = var.name
        header, exit_bb = self.new_block(f"for.{name}"), self.new_block(f"for.{name}.end")
        if known_nonempty:
            self.b.branch(header)
        else:
            self.b.cbranch(self.b.icmp_signed("<", begin, end), header, exit_bb)
        pre = self.b.block
        self.b.position_at_end(header)
        phi = self.b.phi(I64, name=name)
        phi.add_incoming(begin, pre)
        self.vars[var] = phi
        body_fn()
        nxt = self.b.add(phi, ir.Constant(I64, 1), name=f"{name}.next")
        br = self.b.cbranch(self.b.icmp_signed("<", nxt, end), header, exit_bb)
        if md is not None:
            br.set_metadata("llvm.loop", md)
        phi.add_incoming(nxt, self.b.block)
        self.b.position_at_end(exit_bb)

    def block(self, s: Block) -> None:
        def run():
            for iv, binding in zip(s.iter_vars, s.bindings):
                self.vars[iv.var] = self.index64(binding)
                self.ranges[iv.var] = (0, iv.extent - 1)
            if s.init is not None:
                first = None
                for iv in s.reduce_vars:
                    z = self.b.icmp_signed("==", self.vars[iv.var], ir.Constant(I64, 0))
                    first = z if first is None else self.b.and_(first, z)
                self.if_then_else(first, lambda: self.stmt(s.init))
            self.stmt(s.body)
        if s.predicate is not None:
            self.if_then_else(self.expr(s.predicate), run)
        else:
            run()


def build_llvm_module(lm, options=None) -> ModuleCodegen:
    """Verify `lm` and generate its LLVM IR (unoptimised); returns the codegen holding the
    llvmlite module, the const symbols and the buffer table of error reports."""
    options = as_options(options)
    verify(lm)
    cg = ModuleCodegen(lm, options)
    cg.build()
    return cg


def emit_llvm_ir(lm, options=None, optimized: bool = False) -> str:
    """The LLVM IR text of a loop module (with `optimized`, after the O-level pipeline)."""
    cg = build_llvm_module(lm, options)
    text = cg.finalize_text()
    if not optimized:
        return text
    from .jit import optimize_text
    return str(optimize_text(text, cg.opts))

