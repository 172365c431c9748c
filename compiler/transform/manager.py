"""PassManager: run a pass list over an IR under a PassContext.

    pm = PassManager("fold-constants,cse,fuse{max-depth=8}")
    graph = pm.run(graph)                        # under PassContext.current()

For every pass: skip it per the context's rule (logged at debug), run the instruments' before
hooks, the pass, the after hooks, then the verifier (when ctx.verify). Any failure calls every
instrument's on_failure and raises PassError naming the pass (chained to the original error).
Passes mutate the IR in place; run() returns it for convenience. The manager is generic: default
pipelines per opt level belong to the pass library."""
from __future__ import annotations

from contextlib import nullcontext
from typing import Optional, Sequence, Union

import numpy as np

from ..errors import AiccError, PassError, VerificationError
from .context import PassContext
from .pass_base import Pass, get_ir_kind
from .pipeline import as_pass_list, format_pipeline


def _text(exc: BaseException) -> str:
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")


class PassManager:
    def __init__(self, passes: Union[str, Pass, Sequence[Union[Pass, str]]] = ()):
        self.passes: list[Pass] = as_pass_list(passes)
        kinds = {p.ir for p in self.passes}
        if len(kinds) > 1:
            groups = "; ".join(f"{k}: " + ", ".join(p.name for p in self.passes if p.ir == k)
                               for k in sorted(kinds))
            raise PassError(f"a pass manager runs passes of one IR kind, got {groups}")
        self.ir = kinds.pop() if kinds else "graph"

    @property
    def pipeline(self) -> str:
        return format_pipeline(self.passes)

    def __len__(self) -> int:
        return len(self.passes)

    def __iter__(self):
        return iter(self.passes)

    def __str__(self) -> str:
        return self.pipeline

    def __repr__(self) -> str:
        return f"PassManager({self.pipeline!r})"

    # ---- running -----------------------------------------------------------------------------
    def run(self, ir, ctx: Optional[PassContext] = None):
        ctx = ctx if ctx is not None else PassContext.current()
        kind = get_ir_kind(self.ir)
        if not kind.is_instance(ir):
            raise PassError(f"pipeline '{self.pipeline}' transforms {self.ir} IR, but was given "
                            f"{type(ir).__name__}")
        with (nullcontext() if ctx.active else ctx):
            if ctx.verify and self.passes:
                try:
                    kind.verify(ir)
                except VerificationError as e:
                    raise VerificationError(f"the input IR is invalid (before any pass ran): "
                                            f"{e}") from e
            for p in self.passes:
                self._run_pass(p, ir, ctx, kind)
        return ir

    def _run_pass(self, p: Pass, ir, ctx: PassContext, kind) -> bool:
        reason = ctx.skip_reason(p)
        if reason is not None:
            ctx.log(f"skipped: {reason}", p.name)
            return False
        saved, ctx.current_pass = ctx.current_pass, p.name
        phase, culprit = "before", None
        try:
            for inst in ctx.instruments:
                culprit = inst
                inst.run_before_pass(p, ir)
            phase, culprit = "run", None
            before = kind.fingerprint_of(ir) if ctx.check_changed else None
            changed = p.run(ir, ctx)
            if not isinstance(changed, (bool, np.bool_)):
                raise _PassBug(f"pass '{p.name}' returned {changed!r} from run(); it must "
                               "return True or False (whether it changed the IR)")
            changed = bool(changed)
            if ctx.check_changed and not changed and kind.fingerprint_of(ir) != before:
                raise _PassBug(f"pass '{p.name}' changed the IR but reported no change "
                               "(run() returned False)")
            phase = "after"
            for inst in reversed(ctx.instruments):
                culprit = inst
                inst.run_after_pass(p, ir, changed)
            phase, culprit = "verify", None
            if ctx.verify:
                kind.verify(ir)
        except Exception as exc:
            notes = []
            for inst in ctx.instruments:
                try:
                    note = inst.on_failure(p, ir, exc)
                except Exception as e2:  # report, but keep the original failure in front
                    note = f"{type(inst).__name__}.on_failure also failed: {type(e2).__name__}: {e2}"
                if note:
                    notes.append(note)
            raise PassError(self._message(p, phase, culprit, exc, notes)) from exc
        finally:
            ctx.current_pass = saved
        if changed:
            ctx.log("changed the IR", p.name)
        return changed

    @staticmethod
    def _message(p: Pass, phase: str, culprit, exc: Exception, notes: list) -> str:
        if isinstance(exc, _PassBug):
            msg = str(exc)
        elif culprit is not None:
            msg = f"instrument {type(culprit).__name__} failed {phase} pass '{p.name}': {_text(exc)}"
        elif phase == "verify":
            msg = f"pass '{p.name}' produced invalid IR: {exc}"
        elif isinstance(exc, AiccError):
            msg = f"pass '{p.name}' failed: {exc}"       # a user-level error keeps its message
        else:
            msg = f"pass '{p.name}' failed: {_text(exc)}"
        return "\n".join([msg] + [f"note: {n}" for n in notes])


class _PassBug(PassError):
    """A pass broke the pass contract (non-bool result, dishonest changed flag)."""
