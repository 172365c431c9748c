"""Concat as a kernel rule: one loop nest per input copies it into its slice of the result.

As a compute rule every element would be a select chain over the inputs, evaluating (clamped)
loads of all of them; here each nest is a plain strided copy, vectorised along the innermost
axis and parallel when big (nest.compute_nest's schedule), with no select in the inner loop.
The fused epilogue is applied by the result's store, so Concat + Relu is still one pass."""
from __future__ import annotations

from ..nest import compute_nest
from ..registry import kernel


@kernel("Concat")
def concat(kc):
    out = kc.outputs[0]
    rank = len(out.shape)
    axis = kc.attr("axis")
    if not -rank <= axis < rank:
        raise kc.error(f"axis {axis} is out of range for rank {rank}")
    axis = axis + rank if axis < 0 else axis
    start = 0
    for ref in kc.inputs:
        size = ref.shape[axis]
        if ref.size:
            def store(idx, value, start=start):
                dst = list(idx)
                dst[axis] = dst[axis] + start if start else dst[axis]
                return out.store(tuple(dst), value)
            kc.b.emit(compute_nest(out.buffer, ref, kc.target, kc.fresh("concat"), store=store))
        start += size
