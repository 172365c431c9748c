"""PassContext: the settings every pass run happens under (as TVM's PassContext).

    with PassContext(opt_level=3, disabled=["fuse"], instruments=[PassTimingInstrument()]):
        graph = PassManager("fold-constants,cse,fuse").run(graph)

A pass runs iff it is not disabled and (it is required or pass.opt_level <= ctx.opt_level),
and every instrument's `should_run` agrees."""
from __future__ import annotations

import contextvars
import sys
from dataclasses import dataclass
from typing import Any, Iterable, Optional, TextIO

from ..errors import PassError
from .registry import check_pass_names

_STACK: contextvars.ContextVar[tuple] = contextvars.ContextVar("aicc_pass_context", default=())


@dataclass(frozen=True)
class LogRecord:
    pass_name: Optional[str]
    message: str

    def __str__(self) -> str:
        return f"[{self.pass_name}] {self.message}" if self.pass_name else self.message


def _names(arg, role: str) -> tuple[str, ...]:
    if isinstance(arg, str):        # disabled="cse" means one pass, not three letters
        arg = [arg]
    names = tuple(arg or ())
    check_pass_names(names, role)
    return names


class PassContext:
    def __init__(self, opt_level: int = 2, required: Iterable[str] = (),
                 disabled: Iterable[str] = (), instruments: Iterable = (),
                 config: Optional[dict] = None, verify: bool = True, debug: bool = False,
                 check_changed: Optional[bool] = None, log_stream: Optional[TextIO] = None):
        """`check_changed` (default: on with `debug`) makes the manager compare the IR before
        and after every pass and fail a pass that changed it while reporting no change."""
        if isinstance(opt_level, bool) or not isinstance(opt_level, int) or opt_level < 0:
            raise PassError(f"opt_level must be a non-negative integer, got {opt_level!r}")
        self.opt_level = opt_level
        self.required = _names(required, "required")
        self.disabled = _names(disabled, "disabled")
        both = sorted(set(self.required) & set(self.disabled))
        if both:
            raise PassError(f"pass '{both[0]}' is both required and disabled")
        self.instruments = list(instruments)
        from .instruments import PassInstrument
        for inst in self.instruments:
            if not isinstance(inst, PassInstrument):
                raise PassError(f"instrument {inst!r} is not a PassInstrument")
        self.config: dict[str, Any] = dict(config or {})
        self.verify = bool(verify)
        self.debug = bool(debug)
        self.check_changed = self.debug if check_changed is None else bool(check_changed)
        self.log_stream = log_stream
        self.logs: list[LogRecord] = []
        self.current_pass: Optional[str] = None     # set by the manager while a pass runs
        self._depth = 0

    # ---- the current context ---------------------------------------------------------------
    def __enter__(self) -> "PassContext":
        _STACK.set(_STACK.get() + (self,))
        if self._depth == 0:
            for inst in self.instruments:
                inst.enter(self)
        self._depth += 1
        return self

    def __exit__(self, *exc) -> None:
        stack = _STACK.get()
        if not stack or stack[-1] is not self:
            raise RuntimeError("PassContext exited out of order")
        _STACK.set(stack[:-1])
        self._depth -= 1
        if self._depth == 0:
            for inst in reversed(self.instruments):
                inst.exit(self)

    @property
    def active(self) -> bool:
        return self._depth > 0

    @staticmethod
    def current() -> "PassContext":
        """The innermost active context, or a fresh default one."""
        stack = _STACK.get()
        return stack[-1] if stack else PassContext()

    # ---- decisions ---------------------------------------------------------------------------
    def is_enabled(self, p) -> bool:
        """The opt-level rule alone: not disabled and (required or opt_level high enough)."""
        if p.name in self.disabled:
            return False
        return p.name in self.required or p.opt_level <= self.opt_level

    def skip_reason(self, p) -> Optional[str]:
        if p.name in self.disabled:
            return "disabled"
        if not self.is_enabled(p):
            return f"needs opt level {p.opt_level}, context has {self.opt_level}"
        for inst in self.instruments:
            if not inst.should_run(p):
                return f"skipped by {type(inst).__name__}"
        return None

    def should_run(self, p) -> bool:
        return self.skip_reason(p) is None

    # ---- logging -----------------------------------------------------------------------------
    def log(self, message: str, pass_name: Optional[str] = None) -> None:
        """Record a debug message (printed to stderr when debug=True). `pass_name` defaults to
        the pass that is running."""
        rec = LogRecord(pass_name or self.current_pass, str(message))
        self.logs.append(rec)
        if self.debug:
            print(f"aicc: {rec}", file=self.log_stream or sys.stderr)

    def get_config(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    def __repr__(self) -> str:
        return (f"PassContext(opt_level={self.opt_level}, required={list(self.required)}, "
                f"disabled={list(self.disabled)}, instruments={self.instruments}, "
                f"verify={self.verify}, debug={self.debug})")
