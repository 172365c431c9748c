"""Parallel loops: a `for %i in 0..N parallel` is outlined into an internal function
`void aicc_<func>.par<k>(ptr data)` that receives the values it captures (enclosing variables,
buffer pointers, the arena, a status slot) in a struct, and is run by

    GOMP_parallel(outlined, &struct, __aicc_num_threads, 0)

The iterations are cut into `threads` chunks of ceil(N / threads) (as a static schedule would),
but threads claim chunks from a shared atomic counter until none are left: on a shared machine
a thread that starts late finds its chunk already done by one that did not, instead of the
region waiting for it to do the work. (Smaller chunks balance no better here and cost up to
15% on a 2-thread conv when the chunk count does not divide evenly.) No Python runs between
iterations. A thread that fails a runtime check stores its status in the slot; the caller
returns it after the parallel region. Parallel loops nested inside an outlined region run
serially."""
from __future__ import annotations

import llvmlite.ir as ir

from compiler.loop.visitor import buffers_used, free_vars

from .intrinsics import I32, I64

PTR = ir.PointerType()
VOID = ir.VoidType()


def _declare(mod, name, ret, args):
    fn = mod.globals.get(name)
    if fn is None:
        fn = ir.Function(mod, ir.FunctionType(ret, args), name)
    return fn


def emit_parallel(em, s) -> None:
    from .codegen import FunctionEmitter, alloca
    cg = em.cg
    mod = cg.mod
    cap_vars = [v for v in free_vars(s) if v in em.vars]
    cap_bufs = [b for b in buffers_used(s) if b.scope in ("param", "local") and b in em.bufs]
    status = alloca(em.entry_b, I32, "par.status")
    next_chunk = alloca(em.entry_b, I64, "par.next")
    values = ([em.vars[v] for v in cap_vars] + [em.bufs[b] for b in cap_bufs] +
              [em.arena, status, next_chunk])
    struct_ty = ir.LiteralStructType([v.type for v in values])
    data = alloca(em.entry_b, struct_ty, "par.data")
    zero = ir.Constant(I32, 0)
    b = em.b
    b.store(ir.Constant(I32, 0), status)
    b.store(ir.Constant(I64, 0), next_chunk)
    for k, v in enumerate(values):
        b.store(v, b.gep(data, [zero, ir.Constant(I32, k)], source_etype=struct_ty))

    cg.n_outlined += 1
    name = f"{em.fn.name}.par{cg.n_outlined}"
    # the thread entry loads the captures and calls the body, whose pointer parameters are
    # `noalias` (as the kernel's own are), so LLVM can hoist and vectorise inside it
    body_fn = ir.Function(mod, ir.FunctionType(VOID, [v.type for v in values]), name + ".body")
    body_fn.linkage = "internal"
    body_fn.attributes.add("nounwind")
    for a in body_fn.args[len(cap_vars):-1]:     # not the counter all threads update
        a.add_attribute("noalias")
    fn = ir.Function(mod, ir.FunctionType(VOID, [PTR]), name)
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    eb = ir.IRBuilder(fn.append_basic_block("entry"))
    loaded = [eb.load(eb.gep(fn.args[0], [zero, ir.Constant(I32, k)], source_etype=struct_ty),
                      typ=v.type) for k, v in enumerate(values)]
    eb.call(body_fn, loaded)
    eb.ret_void()
    sub = FunctionEmitter(cg, body_fn, em.func_name, em.func_id, outlined=True)
    loaded = list(body_fn.args)
    for v, val in zip(cap_vars, loaded):
        sub.vars[v] = val
    for buf, val in zip(cap_bufs, loaded[len(cap_vars):]):
        sub.bufs[buf] = val
    sub.arena, sub.status_ptr, counter = loaded[-3], loaded[-2], loaded[-1]
    sub.ranges = dict(em.ranges)
    sub.ranges[s.var] = (0, s.extent - 1)

    tb = sub.b
    nthr = tb.sext(tb.call(_declare(mod, "omp_get_num_threads", I32, []), []), I64)
    n = ir.Constant(I64, s.extent)
    chunk = tb.sdiv(tb.add(n, tb.sub(nthr, ir.Constant(I64, 1))), nthr)
    grab, done = sub.new_block("par.grab"), sub.new_block("par.done")
    tb.branch(grab)
    tb.position_at_end(grab)
    begin = tb.atomic_rmw("add", counter, chunk, "monotonic")
    work = sub.new_block("par.work")
    tb.cbranch(tb.icmp_signed("<", begin, n), work, done)
    tb.position_at_end(work)
    end = tb.add(begin, chunk)
    end = tb.select(tb.icmp_signed("<", end, n), end, n)
    sub.counted_loop(s.var, begin, end, lambda: sub.stmt(s.body), known_nonempty=True)
    sub.b.branch(grab)
    sub.b.position_at_end(done)
    sub.finish()

    gomp = _declare(mod, "GOMP_parallel", VOID, [PTR, PTR, I32, I32])
    b.call(gomp, [fn, data, b.load(cg.num_threads, typ=I32), ir.Constant(I32, 0)])
    rc = b.load(status, typ=I32)
    em.guard(b.icmp_unsigned("==", rc, ir.Constant(I32, 0)), lambda: rc, "par")
