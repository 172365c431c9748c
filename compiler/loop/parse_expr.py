"""Expressions, literals and types of the loop IR text (the statement/module parser in
parser.py builds on this class; the token helpers come from the graph IR's parser)."""
from __future__ import annotations

from typing import Mapping, Optional

import numpy as np

from ..ir.dtypes import BY_NAME
from ..ir.lexer import Token
from ..ir.parser import _Parser
from .buffer import Buffer
from .expr import (INDEX, Binary, Broadcast, Call, Cast, FloatImm, IntImm, Load, Not, Ramp,
                   Select)
from .intrinsics import INTRINSICS
from .lexer import NUMBER_RE, tokenize
from .printer import PREC

_SPECIAL_FLOATS = {f"{d}.{w}": (d, v) for d in ("f16", "f32", "f64")
                   for w, v in (("inf", float("inf")), ("nan", float("nan")))}



class ExprParser(_Parser):
    def __init__(self, text: str, weights: Optional[Mapping[str, np.ndarray]], source_name: str):
        self.toks = tokenize(text, source_name)
        self.i = 0
        self.weights = weights or {}
        self.source_name = source_name
        self.scopes: list[dict] = [{}]

    # ---- scopes --------------------------------------------------------------------------------
    def lookup(self, tok: Token):
        for sc in reversed(self.scopes):
            if tok.name in sc:
                return sc[tok.name]
        raise self.error(f"use of undefined name %{tok.name}", tok)

    def define(self, tok: Token, obj) -> None:
        if any(tok.name in sc for sc in self.scopes):
            raise self.error(f"%{tok.name} is already defined in an enclosing scope (names may "
                             "not be shadowed)", tok)
        self.scopes[-1][tok.name] = obj

    def build(self, tok: Token, ctor, *args):
        """Construct a node; a construction error becomes a parse error at `tok`."""
        try:
            return ctor(*args)
        except (ValueError, TypeError) as e:
            raise self.error(str(e), tok) from None

    # ---- literals and types ----------------------------------------------------------------------
    def parse_scalar(self):               # dense<...> elements: -1.5, inf, nan, true
        neg = self.accept("-")
        t = self.tok
        if t.kind == "number":
            self.i += 1
            v = float(t.text) if any(c in t.text for c in ".eE") else int(t.text)
            return -v if neg else v
        if t.kind == "ident" and t.text in ("inf", "nan"):
            self.i += 1
            return -float(t.text) if neg else float(t.text)
        if not neg and t.kind == "ident" and t.text in ("true", "false"):
            self.i += 1
            return t.text == "true"
        raise self.error("expected a number, inf, nan, true or false")

    def parse_dtype(self):
        t = self.tok
        if t.kind != "ident" or t.text not in BY_NAME:
            raise self.error(f"expected a dtype ({', '.join(BY_NAME)})")
        self.i += 1
        return BY_NAME[t.text]

    def parse_int(self, what: str) -> int:
        t = self.expect_kind("number", what)
        if not t.text.isdigit():
            raise self.error(f"expected {what} (a plain integer)", t)
        return int(t.text)

    def parse_buffer_decl(self, scope: str) -> tuple[Token, Buffer]:
        name = self.expect_kind("value", "a buffer name like %x")
        self.expect(":", "after the buffer name")
        dtype = self.parse_dtype()
        self.expect("[", "to open the buffer's shape")
        shape = []
        while not self.at("]"):
            if shape:
                self.expect(",", "between dimensions")
            shape.append(self.parse_int("a static dimension"))
        self.i += 1
        strides = None
        if self.accept("strides"):
            self.expect("[")
            strides = []
            while not self.at("]"):
                if strides:
                    self.expect(",", "between strides")
                strides.append(self.parse_int("a stride"))
            self.i += 1
        return name, self.build(name, Buffer, name.name, dtype, shape, strides, scope)

    def parse_indices(self, where: str) -> tuple:
        """`[e0, e1, ...]`, the index list of a load or a store."""
        self.expect("[", where)
        idx = []
        while not self.at("]"):
            if idx:
                self.expect(",", "between indices")
            idx.append(self.parse_expr())
        self.i += 1
        return tuple(idx)

    def parse_literal(self, neg: bool = False):
        t = self.tok
        if t.kind == "ident" and t.text in _SPECIAL_FLOATS:
            self.i += 1
            d, v = _SPECIAL_FLOATS[t.text]
            return FloatImm(-v if neg else v, BY_NAME[d])
        m = NUMBER_RE.match(t.text) if t.kind == "number" else None
        if m is None:
            raise self.error("expected a number literal")
        self.i += 1
        digits, suffix = m.group(1), m.group(2)
        is_float_text = any(c in digits for c in ".eE")
        if suffix is None:
            if is_float_text:
                raise self.error(f"a float literal needs its type: write {digits}f32 "
                                 f"(or f16, f64)", t)
            return IntImm(-int(digits) if neg else int(digits))
        dt = BY_NAME.get(suffix)
        if dt is None or dt.name == "bool":
            raise self.error(f"unknown literal type suffix '{suffix}' (use a dtype like f32, "
                             "i32)", t)
        if dt.is_float:
            return FloatImm(-float(digits) if neg else float(digits), dt)
        if is_float_text:
            raise self.error(f"integer literal of type {dt} has a fraction or exponent", t)
        return self.build(t, IntImm, -int(digits) if neg else int(digits), dt)

    # ---- expressions ---------------------------------------------------------------------------
    def parse_expr(self, min_prec: int = 1):
        lhs = self.parse_unary()
        while self.tok.kind == "punct" and PREC.get(self.tok.text, 0) >= min_prec:
            op_tok = self.tok
            p = PREC[op_tok.text]
            self.i += 1
            rhs = self.parse_expr(p + 1)
            if p == 3 and self.tok.kind == "punct" and PREC.get(self.tok.text) == 3:
                raise self.error("comparisons do not chain; add parentheses")
            lhs = self.build(op_tok, Binary, op_tok.text, lhs, rhs)
        return lhs

    def parse_unary(self):
        if self.at("!"):
            t = self.tok
            self.i += 1
            return self.build(t, Not, self.parse_unary())
        if self.accept("-"):
            if self.tok.kind == "number" or self.tok.text in _SPECIAL_FLOATS:
                return self.parse_literal(neg=True)
            raise self.error("unary minus applies to number literals only (write 0 - x)")
        return self.parse_primary()

    def parse_args(self, what: str) -> list:
        self.expect("(", f"to open the arguments of {what}")
        args = []
        while not self.at(")"):
            if args:
                self.expect(",", f"between the arguments of {what}")
            args.append(self.parse_expr())
        self.i += 1
        return args

    def parse_primary(self):
        t = self.tok
        if self.accept("("):
            e = self.parse_expr()
            self.expect(")", "to close the parenthesis")
            return e
        if t.kind == "number" or t.text in _SPECIAL_FLOATS:
            return self.parse_literal()
        if t.kind == "value":
            self.i += 1
            obj = self.lookup(t)
            if isinstance(obj, Buffer):
                idx = self.parse_indices(f"after buffer %{t.name} (a load looks like "
                                         f"%{t.name}[%i])")
                return self.build(t, Load, obj, idx)
            return obj
        if t.kind != "ident":
            raise self.error("expected an expression")
        self.i += 1
        name = t.text
        if name in ("true", "false"):
            return IntImm(name == "true", BY_NAME["bool"])
        if name == "cast":
            self.expect("<", "after 'cast'")
            dt = self.parse_dtype()
            self.expect(">", "after the cast's dtype")
            (v,) = self.fixed_args(t, "cast", 1)
            return self.build(t, Cast, dt, v)
        if name in ("min", "max"):
            a, b = self.fixed_args(t, name, 2)
            return self.build(t, Binary, name, a, b)
        if name == "select":
            return self.build(t, Select, *self.fixed_args(t, name, 3))
        if name in ("ramp", "broadcast"):
            args = self.fixed_args(t, name, 3 if name == "ramp" else 2)
            lanes = args[-1]
            if not isinstance(lanes, IntImm) or lanes.dtype is not INDEX:
                raise self.error(f"the lanes of {name} must be an integer literal", t)
            ctor = Ramp if name == "ramp" else Broadcast
            return self.build(t, ctor, *args[:-1], lanes.value)
        if name in INTRINSICS:
            return self.build(t, Call, name, tuple(self.parse_args(name)))
        raise self.error(f"unknown function or keyword '{name}' in an expression", t)

    def fixed_args(self, t: Token, name: str, n: int) -> list:
        args = self.parse_args(name)
        if len(args) != n:
            raise self.error(f"{name} takes {n} arguments, got {len(args)}", t)
        return args

    # ---- statements ------------------------------------------------------------------------------
