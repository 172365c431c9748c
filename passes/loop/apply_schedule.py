"""apply-schedule: replay a schedule trace (a JSON file written by Trace.save) on a function."""
from __future__ import annotations

from compiler.errors import PassError
from compiler.loop.module import LoopFunc
from compiler.transform import Pass, option, register_pass

from .trace import Trace


@register_pass
class ApplySchedule(Pass):
    """Replay the schedule trace in a JSON file on one function of the loop module."""
    name = "apply-schedule"
    ir = "loop"
    trace: str = option("", "path of the JSON trace (a list of {prim, args} records)")
    func: str = option("", "function to schedule (default: the module's only function)")

    def run(self, ir, ctx) -> bool:
        if not self.trace:
            raise PassError("apply-schedule needs a trace file: apply-schedule{trace=PATH}")
        trace = Trace.load(self.trace)
        func = self.func or None
        if isinstance(ir, LoopFunc) and func is None:
            func = ir.name
        trace.replay(ir, func)
        if trace:
            ctx.log(f"applied {len(trace)} schedule primitives", self.name)
        return len(trace) > 0
