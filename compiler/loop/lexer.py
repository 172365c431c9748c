"""Tokens of the loop IR text. The graph IR's lexer (compiler/ir/lexer.py) has no arithmetic
operators and reads `-1` as one number; the loop IR needs `a - 1`, `%i * 8`, `<=`, `&&`, the
`0..N` range and typed literals (`0.5f32`, `3i32`), so it has its own token regex but shares the
Token class, the %value / @symbol / string spellings and the error type (line:column)."""
from __future__ import annotations

import re

from ..ir.lexer import Token, tokenize_with

_TOKEN_RE = re.compile(r"""
    (?P<ws>[ \t\r\n]+|//[^\n]*)
  | (?P<value>%(?:[A-Za-z0-9_.$]+|"(?:[^"\\]|\\.)*"))
  | (?P<symbol>@(?:[A-Za-z0-9_.$]+|"(?:[^"\\]|\\.)*"))
  | (?P<number>(?:\d+\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+)(?:[A-Za-z][A-Za-z0-9]*)?)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<arrow>->)
  | (?P<punct>\.\.|<=|>=|==|!=|&&|\|\||[-+*/%<>!()\[\]{},:=?])
""", re.VERBOSE)

NUMBER_RE = re.compile(r"^(\d+\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+)([A-Za-z][A-Za-z0-9]*)?$")


def tokenize(text: str, source_name: str = "<ir>") -> list[Token]:
    return tokenize_with(_TOKEN_RE, text, source_name)
