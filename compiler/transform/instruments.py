"""Pass instruments: hooks around every pass run (as TVM's PassInstrument / MLIR's
PassInstrumentation), and the shipped ones behind --time-passes, --print-ir-*, --stats and
--crash-reproducer."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional, Sequence, TextIO, Union

from .pass_base import get_ir_kind, pass_label
from .registry import check_pass_names

_RULE = "===" + "-" * 73 + "==="


def _banner(title: str) -> str:
    return f"{_RULE}\n{('... ' + title + ' ...').center(len(_RULE)).rstrip()}\n{_RULE}"


class PassInstrument:
    """Base class: override the hooks you need. The manager calls, per pass that passes the
    opt-level rule: should_run; then run_before_pass, the pass, run_after_pass (after hooks run
    in reverse instrument order, so the first instrument is the outermost); then verification.
    If the pass raises, or verification fails, on_failure is called instead of/after
    run_after_pass; it may return a note (one line) that the PassError message will carry."""

    def enter(self, ctx) -> None:
        """The PassContext holding this instrument became active."""

    def exit(self, ctx) -> None:
        """That PassContext was left."""

    def should_run(self, p) -> bool:
        return True

    def run_before_pass(self, p, ir) -> None:
        pass

    def run_after_pass(self, p, ir, changed: bool) -> None:
        pass

    def on_failure(self, p, ir, exc: BaseException) -> Optional[str]:
        return None


def _selection(sel, role: str):
    if sel is None:
        return frozenset()
    if sel == "all":
        return "all"
    names = [sel] if isinstance(sel, str) else list(sel)
    if "all" in names:
        return "all"
    check_pass_names(names, f"--print-ir-{role}")
    return frozenset(names)


def _selected(sel, p) -> bool:
    return sel == "all" or p.name in sel


class PrintIRInstrument(PassInstrument):
    """Print the IR before and/or after the selected passes, with MLIR's dump headers."""

    def __init__(self, before: Union[Sequence[str], str, None] = None,
                 after: Union[Sequence[str], str, None] = None, only_if_changed: bool = False,
                 stream: Optional[TextIO] = None, elide_large: bool = True):
        self.before = _selection(before, "before")
        self.after = _selection(after, "after")
        self.only_if_changed = only_if_changed
        self.stream = stream
        self.elide_large = elide_large
        self._dumped_after = None

    def _dump(self, title: str, p, ir) -> None:
        out = self.stream or sys.stderr
        try:
            text = get_ir_kind(p.ir).print(ir, self.elide_large)
        except Exception as e:  # never let a debugging aid hide the real failure
            text = f"<cannot print the IR: {type(e).__name__}: {e}>\n"
        out.write(f"// -----// IR Dump {title} //----- //\n{text}")
        if not text.endswith("\n"):
            out.write("\n")
        out.write("\n")
        out.flush()

    def run_before_pass(self, p, ir) -> None:
        self._dumped_after = None
        if _selected(self.before, p):
            self._dump(f"Before {pass_label(p)}", p, ir)

    def run_after_pass(self, p, ir, changed: bool) -> None:
        if _selected(self.after, p) and (changed or not self.only_if_changed):
            self._dump(f"After {pass_label(p)}", p, ir)
            self._dumped_after = p

    def on_failure(self, p, ir, exc) -> None:
        # a pass whose output failed verification was already dumped by run_after_pass
        if _selected(self.after, p) and self._dumped_after is not p:
            self._dump(f"After {pass_label(p)} Failed", p, ir)


class PassTimingInstrument(PassInstrument):
    """Wall time of every pass run; `.table()` renders it like --time-passes in MLIR/LLVM."""

    def __init__(self):
        self.records: list[tuple[str, float]] = []     # (pass label, seconds), in run order
        self._start: list[float] = []

    def run_before_pass(self, p, ir) -> None:
        self._start.append(time.perf_counter())

    def run_after_pass(self, p, ir, changed: bool) -> None:
        self.records.append((pass_label(p), time.perf_counter() - self._start.pop()))

    def on_failure(self, p, ir, exc) -> None:
        if self._start:      # a pass that raised has not reached run_after_pass
            self.records.append((pass_label(p) + " (failed)", time.perf_counter() - self._start.pop()))

    @property
    def total(self) -> float:
        return sum(t for _, t in self.records)

    def summary(self) -> dict[str, tuple[float, int]]:
        """{pass label: (total seconds, number of runs)}."""
        acc: dict[str, tuple[float, int]] = {}
        for name, t in self.records:
            s, n = acc.get(name, (0.0, 0))
            acc[name] = (s + t, n + 1)
        return acc

    def table(self) -> str:
        total = self.total
        rows = sorted(self.summary().items(), key=lambda kv: (-kv[1][0], kv[0]))

        def line(seconds: float, runs: str, name: str) -> str:
            pct = 100.0 * seconds / total if total > 0 else 0.0
            return f"  {seconds:10.4f} ({pct:5.1f}%)  {runs:>5}  {name}"
        out = [_banner("Pass execution timing report"),
               f"  Total Execution Time: {total:.4f} seconds", "",
               f"  {'---Wall Time---':>19}  {'-Runs':>5}  ---Name---"]
        out += [line(t, str(n), name) for name, (t, n) in rows]
        out.append(line(total, str(len(self.records)), "Total"))
        return "\n".join(out)


class PassStatisticsInstrument(PassInstrument):
    """Node counts per op before and after each pass (--stats); `.report()` renders them."""

    def __init__(self):
        self.records: list[tuple[str, dict, dict]] = []   # (pass label, before, after)
        self._before: list[dict] = []

    def run_before_pass(self, p, ir) -> None:
        self._before.append(get_ir_kind(p.ir).op_counts(ir))

    def run_after_pass(self, p, ir, changed: bool) -> None:
        self.records.append((pass_label(p), self._before.pop(), get_ir_kind(p.ir).op_counts(ir)))

    def on_failure(self, p, ir, exc) -> None:
        if self._before:
            self._before.pop()

    def report(self) -> str:
        out = [_banner("Pass statistics report")]
        if not self.records:
            return "\n".join(out + ["  (no pass ran)"])
        counts = [f"{sum(b.values())} -> {sum(a.values())}" for _, b, a in self.records]
        w1 = max(len(name) for name in [r[0] for r in self.records] + ["pass"])
        w2 = max(len(c) for c in counts + ["nodes"])
        out.append(f"  {'pass':<{w1}}  {'nodes':<{w2}}  ops changed")
        for (name, before, after), count in zip(self.records, counts):
            deltas = [f"{op} {before.get(op, 0)}->{after.get(op, 0)}"
                      for op in sorted(set(before) | set(after))
                      if before.get(op, 0) != after.get(op, 0)]
            out.append(f"  {name:<{w1}}  {count:<{w2}}  {', '.join(deltas) or '(no change)'}")
        return "\n".join(out)


class CrashReproducerInstrument(PassInstrument):
    """On a failing pass, write a file that reproduces it: a `// configuration: --passes "..."`
    line naming the failing pass with all its options, then the pass's input IR in full."""

    def __init__(self, path):
        self.path = Path(path)
        self._snapshot: Optional[str] = None

    def run_before_pass(self, p, ir) -> None:
        # printed before every pass, as only this instrument needs it (that is its whole cost)
        self._snapshot = get_ir_kind(p.ir).print(ir, False)

    def run_after_pass(self, p, ir, changed: bool) -> None:
        pass        # keep the snapshot: verification after the pass may still fail

    def on_failure(self, p, ir, exc) -> Optional[str]:
        from .pipeline import format_pipeline
        if self._snapshot is None:
            return None
        pipeline = format_pipeline([p], include_defaults=True)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        text = (f'// configuration: --passes "{pipeline}"\n'
                f"// note: pass '{p.name}' failed on this IR: {first}\n"
                f"{self._snapshot}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(text)
        except OSError as e:
            return f"could not write the crash reproducer {self.path}: {e.strerror}"
        return f"crash reproducer written to {self.path}"
