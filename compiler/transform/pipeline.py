"""Pipeline strings (MLIR's textual pass pipeline syntax):

    fold-constants,cse,fuse{max-depth=8},tile{sizes=32,32 unroll=4 name="a b"}

Passes are separated by commas; options go in braces, separated by spaces, as `name=value`
(kebab-case names; a bare `name` sets a bool option to true). List values are comma separated;
a value with spaces, braces, quotes or (in a list element) commas is written as a JSON string.
`format_pipeline` prints pass instances back in a form that re-parses equal."""
from __future__ import annotations

import json
import math
import re
from typing import Any, Sequence

from ..errors import PassError
from .pass_base import OPTION_TYPES, Pass
from .registry import did_you_mean, get_pass_class

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_OPT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_PLAIN_RE = re.compile(r"^[A-Za-z0-9_.+\-/:@%*=]+$")

EXPECTED = {int: "an integer", float: "a number", bool: "true, false, 1 or 0", str: "a string",
            list[int]: "comma-separated integers", list[float]: "comma-separated numbers",
            list[str]: "comma-separated strings"}


def _malformed(text: str, pos: int, message: str) -> PassError:
    return PassError(f"malformed pass pipeline at column {pos + 1}: {message}\n"
                     f"  {text}\n  {' ' * pos}^")


class _Scanner:
    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def name(self, regex, what: str) -> tuple[str, int]:
        m = regex.match(self.text, self.pos)
        if not m:
            found = repr(self.peek()) if self.peek() else "end of pipeline"
            raise _malformed(self.text, self.pos, f"expected {what}, found {found}")
        self.pos = m.end()
        return m.group(), m.start()

    def value(self) -> str:
        """Raw value text: up to whitespace or '}' outside of "quoted" strings."""
        start = self.pos
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch.isspace() or ch == "}":
                break
            if ch == "{":
                raise _malformed(self.text, self.pos, "unexpected '{' in an option value "
                                 "(quote the value if it contains braces)")
            if ch == '"':
                end = self.pos + 1
                while end < len(self.text) and self.text[end] != '"':
                    end += 2 if self.text[end] == "\\" else 1
                if end >= len(self.text):
                    raise _malformed(self.text, self.pos, "unterminated string")
                self.pos = end
            self.pos += 1
        return self.text[start:self.pos]


def _split_list(raw: str) -> list[str]:
    """Split at commas outside of quoted strings."""
    items, cur, in_str, esc = [], [], False, False
    for ch in raw:
        if in_str:
            cur.append(ch)
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
            cur.append(ch)
        elif ch == ",":
            items.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    items.append("".join(cur))
    return items


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return json.loads(raw)
    if '"' in raw:
        raise ValueError("stray quote")
    return raw


def _scalar(raw: str, typ):
    if typ is bool:
        low = raw.lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        raise ValueError(raw)
    if typ is int:
        return int(raw, 10)
    if typ is float:
        return float(raw)
    return _unquote(raw)


def parse_value(raw: str, typ) -> Any:
    """Convert option text to `typ`; ValueError if it does not fit."""
    if typ in (int, float, bool, str):
        return _scalar(raw, typ)
    elem = typing_arg(typ)
    if raw == "":
        return []
    return [_scalar(x, elem) for x in _split_list(raw)]


def typing_arg(typ):
    return typ.__args__[0]


def _format_scalar(v, typ, in_list: bool) -> str:
    if typ is bool:
        return "true" if v else "false"
    if typ is int:
        return str(int(v))
    if typ is float:
        f = float(v)
        return repr(f) if math.isfinite(f) else str(f)
    s = str(v)
    if _PLAIN_RE.match(s) and not (in_list and "," in s):
        return s
    return json.dumps(s)


def format_value(value, typ) -> str:
    if typ in (int, float, bool, str):
        return _format_scalar(value, typ, False)
    elem = typing_arg(typ)
    return ",".join(_format_scalar(v, elem, True) for v in value)


def _build(name: str, options: list[tuple[str, Any, int]]) -> Pass:
    cls = get_pass_class(name)
    known = {o.name: o for o in cls.options()}
    kwargs: dict[str, Any] = {}
    for opt_name, raw, _col in options:
        info = known.get(opt_name)
        if info is None:
            if not known:
                raise PassError(f"pass '{name}' takes no options (got '{opt_name}')")
            raise PassError(f"pass '{name}' has no option '{opt_name}'"
                            f"{did_you_mean(opt_name, known)}; known options: "
                            + ", ".join(f"{o.name} ({o.type_name})" for o in known.values()))
        if info.field in kwargs:
            raise PassError(f"pass '{name}': option '{opt_name}' is given twice")
        if raw is None:
            if info.type is not bool:
                raise PassError(f"pass '{name}': option '{opt_name}' needs a value "
                                f"({opt_name}=<{info.type_name}>)")
            kwargs[info.field] = True
            continue
        try:
            kwargs[info.field] = parse_value(raw, info.type)
        except ValueError:
            raise PassError(f"pass '{name}': option '{opt_name}' expects {info.type_name} "
                            f"({EXPECTED[info.type]}), got '{raw}'") from None
    return cls(**kwargs)


def parse_pipeline(text: str) -> list[Pass]:
    """Parse a pipeline string into pass instances (PassError on any mistake)."""
    if not isinstance(text, str):
        raise PassError(f"a pass pipeline must be a string, got {type(text).__name__}")
    s = _Scanner(text)
    passes: list[Pass] = []
    s.skip_ws()
    if s.peek() == "":
        return passes
    while True:
        name, _ = s.name(_NAME_RE, "a pass name")
        options: list[tuple[str, Any, int]] = []
        s.skip_ws()
        if s.peek() == "{":
            open_pos = s.pos
            s.pos += 1
            while True:
                s.skip_ws()
                if s.peek() == "}":
                    s.pos += 1
                    break
                if s.peek() == "":
                    raise _malformed(text, open_pos, "unclosed '{' (missing '}')")
                opt, col = s.name(_OPT_RE, f"an option name or '}}' in the options of '{name}'")
                raw = None
                if s.peek() == "=":
                    s.pos += 1
                    raw = s.value()
                elif s.peek() not in ("", "}") and not s.peek().isspace():
                    raise _malformed(text, s.pos, f"expected '=', a space or '}}' after option "
                                     f"'{opt}', found {s.peek()!r}")
                options.append((opt, raw, col))
            s.skip_ws()
        passes.append(_build(name, options))
        if s.peek() == "":
            return passes
        if s.peek() != ",":
            raise _malformed(text, s.pos, f"expected ',' or end of pipeline after pass '{name}', "
                             f"found {s.peek()!r}")
        s.pos += 1
        s.skip_ws()


def format_pass(p: Pass, include_defaults: bool = False) -> str:
    parts = []
    for o in p.options():
        v = getattr(p, o.field)
        if include_defaults or v != o.default:
            parts.append(f"{o.name}={format_value(v, o.type)}")
    return p.name + ("{" + " ".join(parts) + "}" if parts else "")


def format_pipeline(passes: Sequence[Pass], include_defaults: bool = False) -> str:
    """The canonical pipeline string of `passes` (re-parses to equal pass instances). By default
    only options that differ from their defaults are written."""
    return ",".join(format_pass(p, include_defaults) for p in passes)


def as_pass_list(spec) -> list[Pass]:
    """A pipeline string, a Pass, or a sequence of passes and pipeline strings -> pass list."""
    if isinstance(spec, str):
        return parse_pipeline(spec)
    if isinstance(spec, Pass):
        return [spec]
    out: list[Pass] = []
    for item in spec:
        if isinstance(item, str):
            out += parse_pipeline(item)
        elif isinstance(item, Pass):
            out.append(item)
        elif isinstance(item, type) and issubclass(item, Pass):
            raise PassError(f"got the pass class {item.__name__}; pass an instance "
                            f"({item.__name__}()) or the name '{item.name}'")
        else:
            raise PassError(f"not a pass: {item!r}")
    return out


assert set(EXPECTED) == set(OPTION_TYPES)
