"""The error every schedule primitive raises when it refuses a transformation."""
from __future__ import annotations

from compiler.errors import AiccError


class ScheduleError(AiccError):
    """A schedule primitive refused: the message names the primitive, its target (a loop or
    block) and the reason, e.g. `parallel %k: loop %k is bound into reduce variable %vk ...`."""

    def __init__(self, prim: str, target: str, reason: str):
        self.prim, self.target, self.reason = prim, target, reason
        super().__init__(f"{prim} {target}: {reason}" if target else f"{prim}: {reason}")
