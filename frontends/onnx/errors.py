"""Errors of the ONNX frontend. Every one is an AiccError, so the CLI prints it as one line."""
from __future__ import annotations

from compiler.errors import AiccError, UnsupportedError


class OnnxImportError(AiccError):
    """The ONNX model is malformed (unreadable, fails the checker, inconsistent) or cannot be
    turned into graph IR as it stands (e.g. an unresolved dynamic input dimension)."""


def one_line(text: str) -> str:
    """Collapse a (possibly multi-line) message, e.g. from onnx.checker, into one line."""
    return " ".join(str(text).split())


__all__ = ["OnnxImportError", "UnsupportedError", "one_line"]
