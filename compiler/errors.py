"""User-facing errors. The CLI prints these as one clear message (no traceback unless --debug)."""
from __future__ import annotations


class AiccError(Exception):
    """Base of every error that is the user's input being wrong, not a bug of ours."""


class IRParseError(AiccError):
    def __init__(self, message: str, line: int, col: int, source_name: str = "<ir>"):
        self.line, self.col, self.source_name = line, col, source_name
        super().__init__(f"{source_name}:{line}:{col}: {message}")


class VerificationError(AiccError):
    """A graph breaks an IR invariant; the message names the node (and pass, if any)."""


class ShapeInferenceError(AiccError):
    """An op's inputs or attributes do not satisfy its shape/dtype rule."""


class PassError(AiccError):
    """A pass failed, was misconfigured, or is unknown; the message names the pass."""


class UnsupportedError(AiccError):
    """The input uses something aicc does not support (an op, an opset, a dtype)."""
