"""Parser for the text form written by printer.py; errors carry line, column and what was expected."""
from __future__ import annotations

import json
from typing import Mapping, Optional

import numpy as np

from ..errors import AiccError, IRParseError
from .dtypes import BY_NAME
from .graph import Graph
from .lexer import Token, tokenize
from .types import TensorType


class _Parser:
    def __init__(self, text: str, weights: Optional[Mapping[str, np.ndarray]], source_name: str):
        self.toks = tokenize(text, source_name)
        self.i = 0
        self.weights = weights or {}
        self.source_name = source_name

    # ---- token helpers ------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def error(self, message: str, tok: Optional[Token] = None) -> IRParseError:
        """An error at `tok` (default: the current token); 'expected ...' messages say what
        was found instead."""
        t = tok or self.tok
        if message.startswith("expected"):
            message += ", found " + ("end of input" if t.kind == "eof" else repr(t.text))
        return IRParseError(message, t.line, t.col, self.source_name)

    def at(self, text: str) -> bool:
        return self.tok.text == text and self.tok.kind in ("punct", "ident", "arrow")

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.i += 1
            return True
        return False

    def expect(self, text: str, what: str = "") -> Token:
        if not self.at(text):
            raise self.error(f"expected '{text}'{' ' + what if what else ''}")
        t = self.tok
        self.i += 1
        return t

    def expect_kind(self, kind: str, what: str) -> Token:
        if self.tok.kind != kind:
            raise self.error(f"expected {what}")
        t = self.tok
        self.i += 1
        return t

    # ---- types and literals -------------------------------------------------------------
    def parse_type(self) -> TensorType:
        t = self.tok
        if t.kind != "ident" or t.text not in BY_NAME:
            raise self.error(f"expected a tensor type like f32[1,3] (dtypes: {', '.join(BY_NAME)})")
        self.i += 1
        self.expect("[", "after the dtype")
        dims: list = []
        while not self.at("]"):
            if dims:
                self.expect(",", "between dimensions")
            d = self.tok
            if d.kind == "number" and d.text.isdigit():
                dims.append(int(d.text))
            elif d.kind == "ident" or d.text == "?":
                dims.append(d.text)
            else:
                raise self.error("expected a dimension (a size, a symbol or '?')")
            self.i += 1
        self.i += 1
        return TensorType(BY_NAME[t.text], dims)

    def parse_scalar(self):
        t = self.tok
        if t.kind == "number":
            self.i += 1
            if any(c in t.text for c in ".enEN") or "inf" in t.text:
                return float(t.text)
            return int(t.text)
        if t.kind == "ident" and t.text in ("true", "false"):
            self.i += 1
            return t.text == "true"
        if t.kind == "string":
            self.i += 1
            return json.loads(t.text)
        raise self.error("expected a number, true/false or a string")

    def parse_nested(self):
        if self.accept("["):
            items = []
            while not self.at("]"):
                if items:
                    self.expect(",", "between list elements")
                items.append(self.parse_nested())
            self.i += 1
            return items
        return self.parse_scalar()

    def parse_dense(self) -> np.ndarray:
        """`dense<...> : type` (the leading `dense` already consumed)."""
        self.expect("<", "after 'dense'")
        start = self.tok
        literal = self.parse_nested()
        self.expect(">", "closing the dense literal")
        self.expect(":", "before the tensor type")
        return self.literal_to_array(literal, self.parse_type(), start)

    def literal_to_array(self, literal, ttype: TensorType, tok: Token) -> np.ndarray:
        if not ttype.is_static:
            raise self.error("a constant's type must be static", tok)
        try:
            arr = np.array(literal, dtype=ttype.dtype.np_dtype)
        except (ValueError, OverflowError) as e:
            raise self.error(f"bad literal for {ttype}: {e}", tok) from None
        if arr.ndim == 0 and ttype.rank > 0:
            return np.full(ttype.shape, arr, dtype=arr.dtype)   # splat
        if arr.shape != ttype.shape:
            raise self.error(f"literal has shape {list(arr.shape)} but the type says {ttype}", tok)
        return arr

    def parse_attr_value(self):
        if self.at("graph"):
            return self.parse_graph()
        if self.accept("dense"):
            return self.parse_dense()
        if self.at("{"):
            return self.parse_attr_dict()
        if self.accept("["):
            items = []
            while not self.at("]"):
                if items:
                    self.expect(",", "between list elements")
                items.append(self.parse_attr_value())
            self.i += 1
            return items
        return self.parse_scalar()

    def parse_attr_dict(self) -> dict:
        attrs: dict = {}
        self.expect("{")
        while not self.at("}"):
            if attrs:
                self.expect(",", "between attributes")
            key = self.tok
            if key.kind not in ("ident", "string"):
                raise self.error("expected an attribute name")
            self.i += 1
            name = json.loads(key.text) if key.kind == "string" else key.text
            if name in attrs:
                raise self.error(f"attribute '{name}' given twice", key)
            self.expect("=", f"after attribute name '{name}'")
            attrs[name] = self.parse_attr_value()
        self.i += 1
        return attrs

    # ---- graph --------------------------------------------------------------------------
    def parse_graph(self) -> Graph:
        self.expect("graph", "to start a graph")
        g = Graph(self.expect_kind("symbol", "a graph name like @main").name)
        scope: dict = {}

        def define(tok: Token, value) -> None:
            if tok.name in scope:
                raise self.error(f"value %{tok.name} is defined twice", tok)
            scope[tok.name] = value

        self.expect("(", "to open the graph's parameter list")
        while not self.at(")"):
            if g.inputs:
                self.expect(",", "between parameters")
            name = self.expect_kind("value", "a parameter like %x")
            self.expect(":", "after the parameter name")
            define(name, g.add_input(name.name, self.parse_type()))
        self.i += 1
        if self.accept("attributes"):
            g.attrs = self.parse_attr_dict()
        self.expect("{", "to open the graph body")
        while not self.at("return"):
            self.parse_statement(g, scope, define)
        self.i += 1
        outs, names = [], []
        while True:
            t = self.expect_kind("value", "a returned value like %y")
            if t.name not in scope:
                raise self.error(f"use of undefined value %{t.name}", t)
            outs.append(scope[t.name])
            names.append(json.loads(self.expect_kind("string", 'an output name like "y"').text)
                         if self.accept("as") else t.name)
            if not self.accept(","):
                break
        g.set_outputs(outs, names)
        self.expect("}", "to close the graph body")
        return g

    def parse_statement(self, g: Graph, scope: dict, define) -> None:
        results = [self.expect_kind("value", "a statement like '%y = Op(...)' or 'return'")]
        while self.accept(","):
            results.append(self.expect_kind("value", "another result name"))
        self.expect("=", "after the result names")
        op_tok = self.expect_kind("ident", "an op name or 'const'")
        if op_tok.text == "const":
            if len(results) != 1:
                raise self.error("a constant has exactly one result", results[1])
            define(results[0], self.parse_const(g, results[0]))
            return
        self.expect("(", f"after op name {op_tok.text}")
        args = []
        while not self.at(")"):
            if args:
                self.expect(",", "between operands")
            t = self.tok
            if t.text == "_" and t.kind == "ident":
                args.append(None)
                self.i += 1
                continue
            t = self.expect_kind("value", "an operand like %x or _ (absent)")
            if t.name not in scope:
                raise self.error(f"use of undefined value %{t.name}", t)
            args.append(scope[t.name])
        self.i += 1
        attrs = self.parse_attr_dict() if self.at("{") else {}
        self.expect(":", "before the result types")
        types = [self.parse_type()]
        while self.accept(","):
            types.append(self.parse_type())
        if len(types) != len(results):
            raise self.error(f"{len(results)} results but {len(types)} types", op_tok)
        loc = ""
        if self.accept("loc"):
            self.expect("(")
            loc = json.loads(self.expect_kind("string", "a location string").text)
            self.expect(")")
        for r in results:
            if r.name in scope:
                raise self.error(f"value %{r.name} is defined twice", r)
        node = g.create_node(op_tok.text, args, attrs, types, name=loc,
                             output_names=[r.name for r in results])
        for r, v in zip(results, node.outputs):
            define(r, v)

    def parse_const(self, g: Graph, result: Token):
        if self.accept("dense"):
            return g.add_constant(self.parse_dense(), result.name)
        ref = self.expect_kind("symbol", "'dense<...>' or a weight reference like @w")
        self.expect(":", "before the constant's type")
        ttype = self.parse_type()
        if ref.name not in self.weights:
            raise self.error(f"constant %{result.name} refers to weight @{ref.name}, which was not "
                             "supplied (load the .ir file with its weights file)", ref)
        arr = np.asarray(self.weights[ref.name])
        if arr.shape != ttype.shape or arr.dtype != ttype.dtype.np_dtype:
            raise self.error(f"weight @{ref.name} is {arr.dtype}{list(arr.shape)} but the type "
                             f"says {ttype}", ref)
        return g.add_constant(arr, result.name)


def parse_graph(text: str, weights: Optional[Mapping[str, np.ndarray]] = None,
                source_name: str = "<ir>") -> Graph:
    """Parse one graph from IR text. `weights` supplies the data of `@name` constant references."""
    p = _Parser(text, weights, source_name)
    try:
        g = p.parse_graph()
    except IRParseError:
        raise
    except AiccError as e:   # e.g. a name clash raised by the graph builder
        raise p.error(str(e)) from None
    except ValueError as e:
        raise p.error(str(e)) from None
    if p.tok.kind != "eof":
        raise p.error("expected end of input after the graph")
    return g
