"""The pass registry: passes register themselves by name with `@register_pass`; pipeline strings,
PassContext's required/disabled lists and `aicc opt --list-passes` look them up here.

The registry lives in the core; the outer `passes/` package fills it when imported, which
`load_builtin_passes` does on demand (through compiler.plugins, the core's one late import)."""
from __future__ import annotations

import dataclasses
import difflib
import importlib.util
from dataclasses import dataclass
from typing import Optional

from ..errors import PassError
from .pass_base import IR_KINDS, OptionInfo, Pass

_PASSES: dict[str, type] = {}
_builtins_loaded = False


def register_pass(cls):
    """Class decorator: make `cls` a dataclass (if it is not one already) and register it under
    `cls.name`. Raises TypeError for a malformed pass (a bug in the pass, not a user error)."""
    if not (isinstance(cls, type) and issubclass(cls, Pass)):
        raise TypeError(f"@register_pass needs a subclass of Pass, got {cls!r}")
    if "__dataclass_fields__" not in cls.__dict__:
        cls = dataclass(cls)
    name = cls.__dict__.get("name")
    if not isinstance(name, str) or not name:
        raise TypeError(f"pass class {cls.__qualname__} must set a class attribute `name`")
    if any(f.name in ("name", "opt_level", "ir") for f in dataclasses.fields(cls)):
        raise TypeError(f"pass '{name}': name/opt_level/ir must be plain class attributes "
                        "(without a type annotation), not dataclass fields")
    if not isinstance(cls.opt_level, int) or cls.opt_level < 0:
        raise TypeError(f"pass '{name}': opt_level must be a non-negative int")
    if cls.ir not in IR_KINDS:
        raise TypeError(f"pass '{name}': unknown ir '{cls.ir}' (known: {', '.join(IR_KINDS)})")
    cls.options()          # validates option types and defaults
    old = _PASSES.get(name)
    if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
        raise TypeError(f"pass name '{name}' is registered twice: by {old.__module__}."
                        f"{old.__qualname__} and by {cls.__module__}.{cls.__qualname__}")
    _PASSES[name] = cls
    return cls


def load_builtin_passes() -> bool:
    """Import the outer `passes` package (if present) so its passes register. Returns whether
    it was found. Import errors inside the package propagate: a broken pass library must not
    look like an empty one."""
    global _builtins_loaded
    if _builtins_loaded:
        return True
    if importlib.util.find_spec("passes") is None:
        return False
    from .. import plugins
    plugins.load_passes()
    _builtins_loaded = True
    return True


def known_pass_names() -> list[str]:
    return sorted(_PASSES)


def did_you_mean(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_pass_error(name: str, what: str = "unknown pass") -> PassError:
    known = known_pass_names()
    listing = ", ".join(known) if known else "(none registered)"
    return PassError(f"{what} '{name}'{did_you_mean(name, known)}; known passes: {listing}")


def get_pass_class(name: str) -> type:
    """The pass class registered as `name`; PassError listing the known passes otherwise."""
    cls = _PASSES.get(name)
    if cls is None:
        load_builtin_passes()
        cls = _PASSES.get(name)
    if cls is None:
        raise unknown_pass_error(name)
    return cls


def check_pass_names(names, role: str) -> None:
    """Raise PassError if any of `names` (e.g. PassContext's disabled list) is not a pass."""
    for n in names:
        if not isinstance(n, str):
            raise PassError(f"{role} pass names must be strings, got {n!r}")
        if n not in _PASSES:
            load_builtin_passes()
        if n not in _PASSES:
            raise unknown_pass_error(n, f"unknown {role} pass")


@dataclass(frozen=True)
class PassInfo:
    """What `aicc opt --list-passes` shows about one pass."""
    name: str
    opt_level: int
    ir: str
    summary: str
    doc: str
    options: tuple[OptionInfo, ...]
    cls: Optional[type] = None


def pass_info(cls) -> PassInfo:
    return PassInfo(cls.name, cls.opt_level, cls.ir, cls.summary(), cls.help_text(),
                    tuple(cls.options()), cls)


def list_passes(load_builtins: bool = True) -> list[PassInfo]:
    """Every registered pass, sorted by name."""
    if load_builtins:
        load_builtin_passes()
    return [pass_info(_PASSES[n]) for n in known_pass_names()]
