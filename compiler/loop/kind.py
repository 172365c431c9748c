"""Registers the loop IR as IRKind "loop", so passes with `ir = "loop"` run under PassManager
with every instrument (print-IR, timing, statistics, verify-after-each-pass)."""
from __future__ import annotations

from collections import Counter

from ..transform.pass_base import IRKind, register_ir_kind
from .expr import Load
from .module import LoopFunc, LoopModule
from .stmt import For
from .visitor import walk

_NAMES = {"Store": "store", "Block": "block", "IfThenElse": "if", "LetStmt": "let",
          "Allocate": "alloc", "Evaluate": "eval", "CallFunc": "call"}


def op_counts(ir) -> dict:
    """Statements by kind (`for.serial`, `for.parallel`, `block`, `store`, ...) and loads."""
    funcs = [ir] if isinstance(ir, LoopFunc) else ir.funcs
    c: Counter = Counter()
    for f in funcs:
        for n in walk(f.body):
            if isinstance(n, For):
                c[f"for.{n.kind}"] += 1
            elif isinstance(n, Load):
                c["load"] += 1
            elif type(n).__name__ in _NAMES:
                c[_NAMES[type(n).__name__]] += 1
    return dict(sorted(c.items()))


def _print(ir, elide_large: bool) -> str:
    from .printer import print_func, print_module
    if isinstance(ir, LoopFunc):
        return print_func(ir)
    return print_module(ir, elide_large=elide_large)


def _verify(ir) -> None:
    from .verifier import verify
    verify(ir)


def _fingerprint(ir):
    consts = tuple(id(b.data) for b in getattr(ir, "buffers", ()) if b.scope == "const")
    return _print(ir, True), consts


LOOP_IR = register_ir_kind(IRKind("loop", lambda x: isinstance(x, (LoopModule, LoopFunc)),
                                  _print, _verify, op_counts, _fingerprint))
