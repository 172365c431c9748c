"""Text form of the loop IR (MLIR-ish, like the graph IR's; parser.py reads it back):

    module @m {
      arena_size = 256
      const %w: f32[8] = dense<0.5>
      arena %t: f32[4,8] at 0
      func @add_relu(%x: f32[4,8], %out: f32[4,8]) {
        for %i in 0..4 parallel {
          for %j in 0..8 vectorized {
            block "add_relu"(%vi: spatial[4] = %i, %vj: spatial[8] = %j) {
              %out[%vi, %vj] = max(%x[%vi, %vj] + %w[%vj], 0.0f32)
            }
          }
        }
      }
    }

Literals carry their type unless they are i64 (`8`, `3i32`, `0.5f32`, `true`, `f32.inf`,
`-f32.inf`, `f32.nan`); vector types are `f32x8`. `let` and `alloc` scope over the statements
after them in the same braces. Every variable and buffer of a function prints under a name of
its own (a suffix `_1`, `_2` ... tells apart distinct objects that share a name), so
`print(parse(print(m))) == print(m)`."""
from __future__ import annotations

import json
import math

from ..ir.printer import format_dense, format_name, format_scalar, is_elided
from .expr import (Binary, Broadcast, Call, Cast, Expr, FloatImm, IntImm, Load, Not, Ramp,
                   Select, Var, type_str)
from .stmt import (Allocate, Block, CallFunc, Evaluate, For, IfThenElse, LetStmt, Seq, Store)

PREC = {"||": 1, "&&": 2, "<": 3, "<=": 3, ">": 3, ">=": 3, "==": 3, "!=": 3,
        "+": 4, "-": 4, "*": 5, "/": 5, "%": 5}
UNARY_PREC, PRIMARY_PREC = 6, 7


class Namer:
    """Names for Var/Buffer objects, scoped like the braces: a definition takes the object's
    name unless an enclosing definition is using it (then a `_1`, `_2` ... suffix), so the
    text never shadows and names depend only on the text's structure."""

    def __init__(self, reserved=()):
        self.cur: dict = {}            # id(obj) -> stack of names of its live definitions
        self.active: set = set()
        self.keep = []                 # keep objects alive so ids stay unique
        for obj in reserved:
            self.define(obj)

    def define(self, obj) -> str:
        base = obj.name or "v"
        name, k = base, 0
        while name in self.active:
            k += 1
            name = f"{base}_{k}"
        self.active.add(name)
        self.cur.setdefault(id(obj), []).append(name)
        self.keep.append(obj)
        return format_name("%", name)

    def undefine(self, obj) -> None:
        self.active.discard(self.cur[id(obj)].pop())

    def ref(self, obj) -> str:
        stack = self.cur.get(id(obj))
        if stack:
            return format_name("%", stack[-1])
        return self.define(obj)        # a use outside any definition (invalid IR): still print


def format_float(value: float, dtype) -> str:
    if math.isnan(value):
        return f"{dtype}.nan"
    if math.isinf(value):
        return f"{'-' if value < 0 else ''}{dtype}.inf"
    return format_scalar(dtype.np_dtype.type(value)) + dtype.name


def format_const(e) -> str:
    if isinstance(e, FloatImm):
        return format_float(e.value, e.dtype)
    if e.dtype.name == "bool":
        return "true" if e.value else "false"
    return str(e.value) if e.dtype.name == "i64" else f"{e.value}{e.dtype}"


def _expr(e: Expr, nm: Namer) -> tuple[str, int]:
    """(text, precedence) of an expression."""
    if isinstance(e, (IntImm, FloatImm)):
        return format_const(e), PRIMARY_PREC
    if isinstance(e, Var):
        return nm.ref(e), PRIMARY_PREC
    if isinstance(e, Binary):
        if e.op in ("min", "max"):
            return f"{e.op}({fmt(e.a, nm)}, {fmt(e.b, nm)})", PRIMARY_PREC
        p = PREC[e.op]
        (ta, pa), (tb, pb) = _expr(e.a, nm), _expr(e.b, nm)
        left_ok = pa > p if p == 3 else pa >= p
        ta = ta if left_ok else f"({ta})"
        tb = tb if pb > p else f"({tb})"
        return f"{ta} {e.op} {tb}", p
    if isinstance(e, Not):
        t, p = _expr(e.a, nm)
        return "!" + (t if p >= UNARY_PREC else f"({t})"), UNARY_PREC
    if isinstance(e, Load):
        return f"{nm.ref(e.buffer)}[{', '.join(fmt(i, nm) for i in e.indices)}]", PRIMARY_PREC
    if isinstance(e, Select):
        return f"select({fmt(e.cond, nm)}, {fmt(e.t, nm)}, {fmt(e.f, nm)})", PRIMARY_PREC
    if isinstance(e, Cast):
        return f"cast<{e.dtype}>({fmt(e.value, nm)})", PRIMARY_PREC
    if isinstance(e, Call):
        return f"{e.name}({', '.join(fmt(a, nm) for a in e.args)})", PRIMARY_PREC
    if isinstance(e, Ramp):
        return f"ramp({fmt(e.base, nm)}, {fmt(e.stride, nm)}, {e.lanes})", PRIMARY_PREC
    if isinstance(e, Broadcast):
        return f"broadcast({fmt(e.value, nm)}, {e.lanes})", PRIMARY_PREC
    raise TypeError(f"not a loop IR expression: {e!r}")


def fmt(e: Expr, nm: Namer) -> str:
    return _expr(e, nm)[0]


def buffer_decl(b, nm: Namer, define: bool = False) -> str:
    text = f"{nm.define(b) if define else nm.ref(b)}: {b.type_str}"
    if not b.is_row_major:
        text += f" strides [{', '.join(str(s) for s in b.strides)}]"
    return text


def _stmts(st, nm: Namer, indent: str, out: list) -> None:
    if isinstance(st, Seq):
        for s in st.stmts:
            _stmts(s, nm, indent, out)
    elif isinstance(st, Store):
        idx = ", ".join(fmt(i, nm) for i in st.indices)
        out.append(f"{indent}{nm.ref(st.buffer)}[{idx}] = {fmt(st.value, nm)}")
    elif isinstance(st, For):
        kind = "" if st.kind == "serial" else " " + st.kind
        out.append(f"{indent}for {nm.define(st.var)} in 0..{st.extent}{kind} {{")
        _stmts(st.body, nm, indent + "  ", out)
        nm.undefine(st.var)
        out.append(indent + "}")
    elif isinstance(st, Block):
        bound = [fmt(b, nm) for b in st.bindings]
        where = "" if st.predicate is None else f" where {fmt(st.predicate, nm)}"
        ivs = ", ".join(f"{nm.define(iv.var)}: {iv.kind}[{iv.extent}] = {b}"
                        for iv, b in zip(st.iter_vars, bound))
        out.append(f"{indent}block {json.dumps(st.name)}({ivs}){where} {{")
        if st.init is not None:
            out.append(indent + "  init {")
            _stmts(st.init, nm, indent + "    ", out)
            out.append(indent + "  }")
        _stmts(st.body, nm, indent + "  ", out)
        for iv in st.iter_vars:
            nm.undefine(iv.var)
        out.append(indent + "}")
    elif isinstance(st, IfThenElse):
        out.append(f"{indent}if {fmt(st.cond, nm)} {{")
        _stmts(st.then_body, nm, indent + "  ", out)
        if st.else_body is not None:
            out.append(indent + "} else {")
            _stmts(st.else_body, nm, indent + "  ", out)
        out.append(indent + "}")
    elif isinstance(st, LetStmt):
        value = fmt(st.value, nm)
        out.append(f"{indent}let {nm.define(st.var)} = {value}")
        _stmts(st.body, nm, indent, out)
        nm.undefine(st.var)
    elif isinstance(st, Allocate):
        out.append(f"{indent}alloc {buffer_decl(st.buffer, nm, define=True)}")
        _stmts(st.body, nm, indent, out)
        nm.undefine(st.buffer)
    elif isinstance(st, Evaluate):
        out.append(f"{indent}eval {fmt(st.value, nm)}")
    elif isinstance(st, CallFunc):
        out.append(f"{indent}call {format_name('@', st.func)}"
                   f"({', '.join(nm.ref(b) for b in st.args)})")
    else:
        raise TypeError(f"not a loop IR statement: {st!r}")


def print_func(func, module=None, indent: str = "") -> str:
    nm = Namer(module.buffers if module is not None else ())
    params = ", ".join(buffer_decl(p, nm, define=True) for p in func.params)
    lines = [f"{indent}func {format_name('@', func.name)}({params}) {{"]
    _stmts(func.body, nm, indent + "  ", lines)
    lines.append(indent + "}")
    for p in func.params:
        nm.undefine(p)
    return "\n".join(lines) + "\n"


def _module_buffer_line(b, nm: Namer, elide: bool) -> str:
    decl = buffer_decl(b, nm)
    if b.scope == "arena":
        return f"arena {decl} at {b.offset}"
    data = b.data
    body = format_name("@", b.name) if elide and is_elided(data) else format_dense(data)
    return f"const {decl} = {body}"


def print_module(m, elide_large: bool = True) -> str:
    """The module as text. With `elide_large`, big weights print as `@name` references
    (parse_module takes them back through its `weights` argument)."""
    nm = Namer(m.buffers)
    lines = [f"module {format_name('@', m.name)} {{"]
    if m.arena_size:
        lines.append(f"  arena_size = {m.arena_size}")
    lines += ["  " + _module_buffer_line(b, nm, elide_large) for b in m.buffers]
    for f in m.funcs:
        lines.append(print_func(f, m, "  ").rstrip("\n"))
    lines.append("}")
    return "\n".join(lines) + "\n"


def format_node(node) -> str:
    """Any expression or statement as text (for __str__ and error messages)."""
    nm = Namer()
    if isinstance(node, Expr):
        return fmt(node, nm)
    lines: list = []
    _stmts(node, nm, "", lines)
    return "\n".join(lines)


def type_text(e: Expr) -> str:
    return type_str(e.dtype, e.lanes)

