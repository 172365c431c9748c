"""Graph-IR passes; each module registers one pass."""
from . import cse, dce, fold_constants  # noqa: F401
