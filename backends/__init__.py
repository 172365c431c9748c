"""Backends: `reference` (numpy interpreter, the oracle) and `llvm` (native code)."""
