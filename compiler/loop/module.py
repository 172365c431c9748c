"""Functions and modules of the loop IR.

A `LoopModule` holds module-level buffers (weights of scope `const` and arena slices of scope
`arena`), the size of the one memory arena, and one or more `LoopFunc`s. A function takes
buffers as parameters and runs one statement. Statements and expressions are immutable: a pass
builds new trees and assigns `func.body`."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .buffer import Buffer, const_buffer
from .stmt import Stmt, as_stmt


class LoopFunc:
    def __init__(self, name: str, params: Sequence[Buffer], body, attrs: Optional[dict] = None):
        self.name = name
        self.params = list(params)
        self.body: Stmt = as_stmt(body)
        self.attrs = dict(attrs or {})

    def __repr__(self) -> str:
        return f"LoopFunc(@{self.name}, {len(self.params)} params)"

    def __str__(self) -> str:
        from .printer import print_func
        return print_func(self)


class LoopModule:
    def __init__(self, name: str = "main", funcs: Sequence[LoopFunc] = (),
                 buffers: Sequence[Buffer] = (), arena_size: int = 0):
        self.name = name
        self.funcs: list[LoopFunc] = list(funcs)
        self.buffers: list[Buffer] = list(buffers)     # module-level: const and arena
        self.arena_size = int(arena_size)
        self.attrs: dict = {}     # e.g. the model signature lowering records (inputs/outputs)

    # ---- building --------------------------------------------------------------------------------
    def add_func(self, func: LoopFunc) -> LoopFunc:
        if any(f.name == func.name for f in self.funcs):
            raise ValueError(f"module @{self.name} already has a function @{func.name}")
        self.funcs.append(func)
        return func

    def add_const(self, name: str, data: np.ndarray) -> Buffer:
        return self._add_buffer(const_buffer(name, data))

    def add_arena_buffer(self, name: str, dtype, shape, offset: int, strides=None) -> Buffer:
        b = Buffer(name, dtype, shape, strides, scope="arena", offset=offset)
        self.arena_size = max(self.arena_size, offset + b.nbytes)
        return self._add_buffer(b)

    def _add_buffer(self, b: Buffer) -> Buffer:
        if any(x.name == b.name for x in self.buffers):
            raise ValueError(f"module @{self.name} already has a buffer %{b.name}")
        self.buffers.append(b)
        return b

    # ---- lookup ------------------------------------------------------------------------------------
    def get_func(self, name: str) -> LoopFunc:
        for f in self.funcs:
            if f.name == name:
                return f
        raise KeyError(f"module @{self.name} has no function @{name} (has: "
                       f"{', '.join('@' + f.name for f in self.funcs) or 'none'})")

    def __getitem__(self, name: str) -> LoopFunc:
        return self.get_func(name)

    @property
    def consts(self) -> list[Buffer]:
        return [b for b in self.buffers if b.scope == "const"]

    def weights(self) -> dict:
        """{name: array} of the const buffers (what the text format refers to as @name)."""
        return {b.name: b.data for b in self.consts}

    def __repr__(self) -> str:
        return f"LoopModule(@{self.name}, {len(self.funcs)} funcs, {len(self.buffers)} buffers)"

    def __str__(self) -> str:
        from .printer import print_module
        return print_module(self)
