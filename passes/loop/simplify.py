"""loop-simplify: run the loop IR's rule-table simplifier over every function."""
from __future__ import annotations

from compiler.loop.module import LoopFunc
from compiler.loop.simplify import simplify_stmt
from compiler.transform import Pass, register_pass


@register_pass
class LoopSimplify(Pass):
    """Simplify every expression of every loop function (constant folding, affine forms,
    floor division by ranges, decided conditions)."""
    name = "loop-simplify"
    ir = "loop"
    opt_level = 1

    def run(self, ir, ctx) -> bool:
        changed = False
        for f in ([ir] if isinstance(ir, LoopFunc) else ir.funcs):
            body = simplify_stmt(f.body)
            if body is not f.body and body != f.body:
                f.body = body
                changed = True
        return changed
