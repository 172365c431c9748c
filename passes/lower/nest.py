"""The default schedule of a compute rule: one loop per output dimension around a TensorIR
block, the first loop with more than one iteration `parallel` when the tensor is big enough to
pay for a thread team, the innermost `vectorized`."""
from __future__ import annotations

from contextlib import ExitStack

from compiler.loop import IRBuilder, Stmt

from .target import LowerTarget
from .tensor import TensorRef

PARALLEL_MIN_ELEMENTS = 1 << 15      # below this a thread team costs more than it saves


def loop_kinds(shape, target: LowerTarget) -> list:
    kinds = ["serial"] * len(shape)
    if not shape:
        return kinds
    size = 1
    for d in shape:
        size *= d
    if target.parallel and target.num_threads != 1 and size >= PARALLEL_MIN_ELEMENTS:
        for k, d in enumerate(shape[:-1] if len(shape) > 1 else shape):
            if d > 1:
                kinds[k] = "parallel"
                break
    if shape[-1] > 1 and kinds[-1] == "serial":
        kinds[-1] = "vectorized"
    return kinds


def compute_nest(dest, ref: TensorRef, target: LowerTarget, name: str, store=None) -> Stmt:
    """Loops over dest's shape storing ref's element (through `store(idx, value)` if given)."""
    shape = dest.shape if store is None else ref.shape
    put = store or (lambda idx, v: dest.store(idx, v))
    if any(d == 0 for d in shape):
        from compiler.loop import seq
        return seq()
    if not shape:
        return put((), ref[()])
    b = IRBuilder()
    kinds = loop_kinds(shape, target)
    with ExitStack() as stack:
        loops = [stack.enter_context(b.for_(f"i{k}", d, kind=kinds[k]))
                 for k, d in enumerate(shape)]
        ivs = [(f"v{k}", d, "spatial", lv) for k, (d, lv) in enumerate(zip(shape, loops))]
        with b.block(name, ivs) as vs:
            vs = vs if isinstance(vs, tuple) else (vs,)
            b.emit(put(vs, ref[vs]))
    return b.get()
