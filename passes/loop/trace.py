"""Schedule traces: the primitives applied to a function, in order, as JSON-able records that
replay on a fresh copy of the function (what the auto-tuner searches over and stores).

    sch = Schedule(module); sch.split("i", 8); sch.parallel("i_o")
    text = sch.trace.to_json()      # '[{"prim": "split", "args": {"loop": "i", "factor": 8}}, ...]'
    Trace.from_json(text).replay(fresh_module)     # -> the Schedule; same printed IR

Records name loops and blocks by name: primitives give new loops deterministic names, so a
name recorded after one primitive means the same loop when the trace replays."""
from __future__ import annotations

import json

from ._errors import ScheduleError


class Trace(list):
    """A list of records {"prim": name, "args": {...}}."""

    def append_record(self, prim: str, args: dict) -> None:
        self.append({"prim": prim, "args": _jsonable(args)})

    def to_json(self, indent=None) -> str:
        return json.dumps(list(self), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> "Trace":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ScheduleError("trace", "", f"not valid JSON: {e}") from None
        if not isinstance(data, list):
            raise ScheduleError("trace", "", f"expected a JSON list of records, got "
                                f"{type(data).__name__}")
        for k, r in enumerate(data):
            if (not isinstance(r, dict) or set(r) != {"prim", "args"}
                    or not isinstance(r["prim"], str) or not isinstance(r["args"], dict)):
                raise ScheduleError("trace", "", f"record {k} is not "
                                    f'{{"prim": name, "args": {{...}}}}: {r!r}')
        return cls(data)

    def save(self, path: str) -> None:
        with open(path, "w") as f:
            f.write(self.to_json(indent=1) + "\n")

    @classmethod
    def load(cls, path: str) -> "Trace":
        try:
            with open(path) as f:
                return cls.from_json(f.read())
        except OSError as e:
            raise ScheduleError("trace", "", f"cannot read {path}: {e.strerror}") from None

    def replay(self, ir, func_name=None):
        """Apply every record to `ir` (a LoopModule or LoopFunc, mutated in place); returns
        the Schedule, whose own trace equals this one."""
        from .schedule import Schedule
        sch = Schedule(ir, func_name)
        for r in self:
            sch.apply(r)
        return sch


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise TypeError(f"a trace argument must be JSON-able, got {type(v).__name__}: {v!r}")
