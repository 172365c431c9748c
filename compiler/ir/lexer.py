"""Tokens of the IR text format, with line and column for error messages."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..errors import IRParseError

_TOKEN_RE = re.compile(r"""
    (?P<ws>[ \t\r\n]+|//[^\n]*)
  | (?P<value>%(?:[A-Za-z0-9_.$]+|"(?:[^"\\]|\\.)*"))
  | (?P<symbol>@(?:[A-Za-z0-9_.$]+|"(?:[^"\\]|\\.)*"))
  | (?P<number>-?(?:\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+)|-?inf\b|\bnan\b)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<arrow>->)
  | (?P<punct>[()\[\]{}<>,:=?_])
""", re.VERBOSE)


@dataclass
class Token:
    kind: str    # value, symbol, number, string, ident, arrow, punct, eof
    text: str
    line: int
    col: int

    @property
    def name(self) -> str:
        """For %value / @symbol tokens: the bare (unquoted) name."""
        body = self.text[1:]
        return json.loads(body) if body.startswith('"') else body


def tokenize_with(token_re: "re.Pattern", text: str, source_name: str = "<ir>") -> list[Token]:
    """Split `text` with `token_re` (named groups = token kinds; `ws` is dropped), tracking line
    and column. Shared by the graph IR and the loop IR, which differ only in their regex."""
    tokens: list[Token] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(text):
        m = token_re.match(text, pos)
        if not m:
            raise IRParseError(f"unexpected character {text[pos]!r}", line, pos - line_start + 1,
                               source_name)
        kind, tok_text = m.lastgroup, m.group()
        if kind != "ws":
            tokens.append(Token(kind, tok_text, line, pos - line_start + 1))
        newlines = tok_text.count("\n")
        if newlines:
            line += newlines
            line_start = pos + tok_text.rindex("\n") + 1
        pos = m.end()
    tokens.append(Token("eof", "", line, pos - line_start + 1))
    return tokens


def tokenize(text: str, source_name: str = "<ir>") -> list[Token]:
    # `_` alone (an absent operand) comes out as an ident token; the parser treats it specially
    return tokenize_with(_TOKEN_RE, text, source_name)
