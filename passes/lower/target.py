"""What lowering needs to know about the machine: vector width, threads. The driver fills it
from the backend's host description; lowering itself never asks the machine."""
from __future__ import annotations

from dataclasses import dataclass, field

from compiler.ir.dtypes import as_dtype


@dataclass(frozen=True)
class LowerTarget:
    vector_bits: int = 256                 # 256 with AVX2, 512 with AVX-512
    num_threads: int = 1
    parallel: bool = True                  # emit `parallel` loops
    features: tuple = field(default_factory=tuple)
    bounds_check: bool = False             # kernels may skip unchecked fast paths

    def lanes(self, dtype) -> int:
        """Vector lanes of one register for `dtype` (at least 1)."""
        dt = as_dtype(dtype)
        return max(1, self.vector_bits // (8 * max(dt.itemsize, 1)))

    @property
    def lanes_f32(self) -> int:
        return self.lanes("f32")
