"""The pass base class, its typed options, and the IR kinds passes work on.

A pass is a small dataclass (as in xDSL): class attributes say what it is, dataclass fields are
its options, the docstring is its help text.

    @register_pass
    @dataclass
    class Fuse(Pass):
        '''Fuse elementwise chains into their producers.'''
        name = "fuse"
        opt_level = 2
        max_depth: int = option(8, "longest chain to fuse")

        def run(self, graph, ctx) -> bool:
            ...
            return changed

`run` mutates the IR in place and returns whether it changed anything (instruments rely on the
answer). A pass that cannot handle some input leaves it unchanged and says why with `ctx.log`."""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Optional

OPTION_TYPES: dict[Any, str] = {int: "int", float: "float", bool: "bool", str: "str",
                                list[int]: "list[int]", list[float]: "list[float]",
                                list[str]: "list[str]"}


def option(default, help: str = ""):
    """A pass option with help text: `max_depth: int = option(8, "longest chain to fuse")`.
    List defaults are copied per instance."""
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda d=tuple(default): list(d),
                                 metadata={"help": help})
    return dataclasses.field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class OptionInfo:
    """One option as the pipeline syntax and `--list-passes` see it."""
    name: str            # kebab-case, as written in pipelines
    field: str           # snake_case dataclass field
    type: Any            # int, float, bool, str, list[int], list[float] or list[str]
    default: Any
    help: str = ""

    @property
    def type_name(self) -> str:
        return OPTION_TYPES[self.type]

    @property
    def default_text(self) -> str:
        from .pipeline import format_value
        return format_value(self.default, self.type)


def kebab(field_name: str) -> str:
    return field_name.replace("_", "-")


def pass_options(cls) -> list[OptionInfo]:
    """The typed options of pass class `cls` (its dataclass fields), in declaration order."""
    if not dataclasses.is_dataclass(cls):
        return []           # an unregistered plain subclass: no options
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        typ = hints.get(f.name, f.type)
        if typ not in OPTION_TYPES:
            raise TypeError(f"pass '{cls.name}': option '{f.name}' has type {typ!r}; options must "
                            f"be one of {', '.join(OPTION_TYPES.values())}")
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            raise TypeError(f"pass '{cls.name}': option '{f.name}' needs a default")
        out.append(OptionInfo(kebab(f.name), f.name, typ, default, f.metadata.get("help", "")))
    return out


class Pass:
    """Base of every pass. Subclasses set `name`, `opt_level`, `ir` and a docstring, declare
    options as dataclass fields and implement `run`."""
    name: ClassVar[str] = ""
    opt_level: ClassVar[int] = 0      # runs by default when PassContext.opt_level >= this
    ir: ClassVar[str] = "graph"       # the IR kind it transforms (see IR_KINDS)

    def run(self, ir, ctx) -> bool:
        """Transform `ir` in place; return True iff anything changed."""
        raise TypeError(f"pass class {type(self).__name__} ('{self.name}') must override run()")

    @classmethod
    def options(cls) -> list[OptionInfo]:
        return pass_options(cls)

    @classmethod
    def help_text(cls) -> str:
        """The docstring (not the signature that @dataclass puts there when there is none)."""
        doc = (cls.__doc__ or "").strip()
        return "" if doc.startswith(cls.__name__ + "(") else doc

    @classmethod
    def summary(cls) -> str:
        doc = cls.help_text()
        return doc.splitlines()[0] if doc else ""

    def option_values(self) -> dict[str, Any]:
        """{kebab-case option name: current value}."""
        return {o.name: getattr(self, o.field) for o in self.options()}

    def __str__(self) -> str:
        from .pipeline import format_pipeline
        return format_pipeline([self])


# ---- IR kinds ------------------------------------------------------------------------------
@dataclass(frozen=True)
class IRKind:
    """What the pass manager and instruments need to know about one IR: how to check that an
    object is of it, print it, verify it and count its ops. The loop IR registers its own."""
    name: str
    is_instance: Callable[[Any], bool]
    print: Callable[[Any, bool], str]          # (ir, elide_large) -> text
    verify: Callable[[Any], None]              # raises VerificationError
    op_counts: Callable[[Any], dict]           # {op name: count}
    # something that differs whenever the IR does (for the changed-flag check); default: text
    fingerprint: Optional[Callable[[Any], Any]] = None

    def fingerprint_of(self, ir) -> Any:
        return self.fingerprint(ir) if self.fingerprint else self.print(ir, False)


IR_KINDS: dict[str, IRKind] = {}


def register_ir_kind(kind: IRKind) -> IRKind:
    IR_KINDS[kind.name] = kind
    return kind


def get_ir_kind(name: str) -> IRKind:
    try:
        return IR_KINDS[name]
    except KeyError:
        raise ValueError(f"unknown IR kind '{name}' (known: {', '.join(sorted(IR_KINDS))})") \
            from None


def _graph_print(g, elide_large: bool) -> str:
    from ..ir.printer import print_graph
    return print_graph(g, elide_large=elide_large)


def _graph_verify(g) -> None:
    from ..ir.verifier import verify
    verify(g)


def _is_graph(x) -> bool:
    from ..ir.graph import Graph
    return isinstance(x, Graph)


def _graph_fingerprint(g):
    # constants are read-only, so a changed constant is a new array: compare by identity
    return _graph_print(g, True), tuple(id(c.data) for c in g.constants)


register_ir_kind(IRKind("graph", _is_graph, _graph_print, _graph_verify,
                        lambda g: g.op_counts(), _graph_fingerprint))


def pass_label(p: Optional[Pass]) -> str:
    """How headers and tables name a pass instance: its name, plus options that differ from the
    defaults (so `tile{sizes=32,32}` and `tile{sizes=8,8}` stay apart)."""
    return str(p) if p is not None else "<none>"
