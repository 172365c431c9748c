"""Parser for the loop IR text written by printer.py; errors carry line, column and what was
expected (the token helpers are the graph parser's; expressions are parsed in parse_expr.py).

    m = parse_module(text, weights={"w": array})   # weights: data of `const ... = @w` buffers
    f = parse_module("func @f(...) { ... }")       # bare functions make a module @main

Names are scoped like the braces: a loop or block variable is visible inside its braces, a
`let` or `alloc` until the closing brace; sibling scopes may reuse a name, nested ones may not
shadow it."""
from __future__ import annotations

import json
from typing import Mapping, Optional

import numpy as np

from ..errors import AiccError, IRParseError
from ..ir.lexer import Token
from ..ir.types import TensorType
from .buffer import Buffer
from .expr import INDEX, Var
from .module import LoopFunc, LoopModule
from .parse_expr import ExprParser
from .stmt import (FOR_KINDS, ITER_KINDS, Allocate, Block, CallFunc, Evaluate, For, IfThenElse,
                   IterVar, LetStmt, Seq, Store, seq)


class _LoopParser(ExprParser):
    def parse_braced(self, what: str):
        self.expect("{", f"to open the {what}")
        self.scopes.append({})
        body = self.parse_stmts()
        self.scopes.pop()
        self.expect("}", f"to close the {what}")
        return body

    def parse_stmts(self):
        """Statements up to the closing brace; `let`/`alloc` take the rest as their body."""
        items = []
        while not self.at("}"):
            if self.tok.kind == "eof":
                raise self.error("expected '}'")
            if self.at("let") or self.at("alloc"):
                is_let = self.at("let")
                self.i += 1
                self.scopes.append({})
                if is_let:
                    name = self.expect_kind("value", "a variable name like %t")
                    self.expect("=", "after the let variable")
                    value = self.parse_expr()
                    var = Var(name.name, value.dtype, value.lanes)
                    self.define(name, var)
                    items.append(LetStmt(var, value, self.parse_stmts()))
                else:
                    name, buf = self.parse_buffer_decl("local")
                    self.define(name, buf)
                    items.append(Allocate(buf, self.parse_stmts()))
                self.scopes.pop()
                break
            items.append(self.parse_stmt())
        return seq(*items) if items else Seq(())

    def parse_stmt(self):
        t = self.tok
        if self.accept("for"):
            name = self.expect_kind("value", "a loop variable like %i")
            self.expect("in", "after the loop variable")
            start = self.tok
            if self.parse_int("the loop start") != 0:
                raise self.error("loops start at 0 (write 0..N)", start)
            self.expect("..", "in the loop range 0..N")
            extent = self.parse_int("the loop extent")
            kind = "serial"
            if self.tok.kind == "ident" and self.tok.text in FOR_KINDS:
                kind = self.tok.text
                self.i += 1
            var = Var(name.name, INDEX)
            self.scopes.append({})
            self.define(name, var)
            body = self.parse_braced("loop body")
            self.scopes.pop()
            return For(var, extent, body, kind)
        if self.accept("block"):
            return self.parse_block()
        if self.accept("if"):
            cond = self.parse_expr()
            then = self.parse_braced("then branch")
            other = None
            if self.accept("else"):
                other = self.parse_stmt() if self.at("if") else self.parse_braced("else branch")
            return IfThenElse(cond, then, other)
        if self.accept("eval"):
            return Evaluate(self.parse_expr())
        if self.accept("call"):
            callee = self.expect_kind("symbol", "a function name like @kernel")
            self.expect("(", "to open the call's arguments")
            args = []
            while not self.at(")"):
                if args:
                    self.expect(",", "between call arguments")
                a = self.expect_kind("value", "a buffer argument like %x")
                buf = self.lookup(a)
                if not isinstance(buf, Buffer):
                    raise self.error(f"%{a.name} is a variable; call arguments are buffers", a)
                args.append(buf)
            self.i += 1
            return CallFunc(callee.name, tuple(args))
        if t.kind == "value":
            self.i += 1
            buf = self.lookup(t)
            if not isinstance(buf, Buffer):
                raise self.error(f"%{t.name} is a variable, not a buffer; a statement starts "
                                 "with a keyword or a store like %buf[...] = value", t)
            idx = self.parse_indices("after the buffer of a store")
            self.expect("=", "in the store")
            return self.build(t, Store, buf, idx, self.parse_expr())
        raise self.error("expected a statement (for, block, if, let, alloc, eval, call or a "
                         "store like %buf[%i] = value)")

    def parse_block(self):
        name = json.loads(self.expect_kind("string", 'a block name like "C"').text)
        self.expect("(", "to open the block's iteration variables")
        ivs, bindings, names = [], [], []
        while not self.at(")"):
            if ivs:
                self.expect(",", "between block variables")
            vt = self.expect_kind("value", "a block variable like %vi")
            self.expect(":", "after the block variable")
            kt = self.expect_kind("ident", "spatial or reduce")
            if kt.text not in ITER_KINDS:
                raise self.error("expected spatial or reduce", kt)
            self.expect("[", "before the block variable's extent")
            extent = self.parse_int("the extent")
            self.expect("]", "after the extent")
            self.expect("=", "before the binding")
            bindings.append(self.parse_expr())
            var = Var(vt.name, INDEX)
            ivs.append(IterVar(var, extent, kt.text))
            names.append((vt, var))
        self.i += 1
        pred = self.parse_expr() if self.accept("where") else None
        self.expect("{", "to open the block body")
        self.scopes.append({})
        for vt, var in names:
            self.define(vt, var)
        init = None
        if self.accept("init"):
            init = self.parse_braced("init")
        body = self.parse_stmts()
        self.scopes.pop()
        self.expect("}", "to close the block")
        return Block(name, tuple(ivs), tuple(bindings), body, init, pred)

    # ---- functions and modules -----------------------------------------------------------------
    def parse_func(self) -> LoopFunc:
        self.expect("func", "to start a function")
        name = self.expect_kind("symbol", "a function name like @f")
        self.expect("(", "to open the parameter list")
        self.scopes.append({})
        params = []
        while not self.at(")"):
            if params:
                self.expect(",", "between parameters")
            tok, buf = self.parse_buffer_decl("param")
            self.define(tok, buf)
            params.append(buf)
        self.i += 1
        body = self.parse_braced("function body")
        self.scopes.pop()
        return LoopFunc(name.name, params, body)

    def parse_module(self) -> LoopModule:
        if self.at("func"):
            m = LoopModule("main")
            while self.at("func"):
                m.add_func(self.parse_func())
            return m
        self.expect("module", "to start a module (or 'func')")
        m = LoopModule(self.expect_kind("symbol", "a module name like @m").name)
        self.expect("{", "to open the module body")
        if self.accept("arena_size"):
            self.expect("=")
            m.arena_size = self.parse_int("the arena size in bytes")
        while self.at("const") or self.at("arena"):
            is_const = self.at("const")
            self.i += 1
            tok, buf = self.parse_buffer_decl("const" if is_const else "arena")
            if is_const:
                self.expect("=", "before the constant's data")
                buf.data = self.parse_const_data(tok, buf)
            else:
                self.expect("at", "before the arena offset")
                buf.offset = self.parse_int("the byte offset in the arena")
            self.define(tok, buf)
            m.buffers.append(buf)
        while self.at("func"):
            ft = self.tok
            f = self.parse_func()
            if any(g.name == f.name for g in m.funcs):
                raise self.error(f"function @{f.name} is defined twice", ft)
            m.funcs.append(f)
        self.expect("}", "to close the module (or 'func')")
        return m

    def parse_const_data(self, tok: Token, buf: Buffer) -> np.ndarray:
        ttype = TensorType(buf.dtype, buf.shape)
        if self.accept("dense"):
            self.expect("<", "after 'dense'")
            start = self.tok
            literal = self.parse_nested()
            self.expect(">", "closing the dense literal")
            return self.literal_to_array(literal, ttype, start)
        ref = self.expect_kind("symbol", "'dense<...>' or a weight reference like @w")
        if ref.name not in self.weights:
            raise self.error(f"constant %{tok.name} refers to weight @{ref.name}, which was not "
                             "supplied (pass weights=...)", ref)
        arr = np.asarray(self.weights[ref.name])
        if arr.shape != buf.shape or arr.dtype != buf.dtype.np_dtype:
            raise self.error(f"weight @{ref.name} is {arr.dtype}{list(arr.shape)} but the "
                             f"declaration says {ttype}", ref)
        return arr


def parse_module(text: str, weights: Optional[Mapping[str, np.ndarray]] = None,
                 source_name: str = "<ir>") -> LoopModule:
    """Parse a loop IR module (or bare functions) from text."""
    p = _LoopParser(text, weights, source_name)
    try:
        m = p.parse_module()
    except IRParseError:
        raise
    except (AiccError, ValueError, TypeError) as e:
        raise p.error(str(e)) from None
    if p.tok.kind != "eof":
        raise p.error("expected end of input after the module")
    return m
