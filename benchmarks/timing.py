"""Interleaved timing: for each run index every engine takes a turn, in an order rotated by the
index, so slow drifts and bursts of machine noise hit all engines alike. Warm-up turns (same
rotation) are not recorded. An engine that raises is dropped from the rotation; its error is
kept and the others go on.

A turn first runs the engine untimed for `settle` seconds, then times one call. Thread pools
keep spinning for a while after a call returns (OpenMP's and onnxruntime's workers, for
milliseconds to tens of them): timed right after another engine, a multi-threaded engine would
share the cores with those spinners and measure the interleaving, not itself. Settling with
its own work lets the previous engine's workers go to sleep while this one's are awake, as
when it runs alone (measured on 2 cores: with no settling, MatMul at 2 threads took twice its
alone time; with 0.1 s all engines were within a few percent of it)."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional


@dataclass
class Timing:
    times: list = field(default_factory=list)        # seconds, one per recorded run
    error: Optional[str] = None

    @property
    def median(self) -> Optional[float]:
        return statistics.median(self.times) if self.times and self.error is None else None

    @property
    def spread(self) -> Optional[float]:
        """(p75 - p25) / median: how noisy the runs were."""
        if self.median is None or len(self.times) < 4:
            return None
        q = statistics.quantiles(self.times, n=4)
        return (q[2] - q[0]) / self.median


def one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}".rstrip(": ")


def _turn(engine: Callable[[], float], settle: float) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < settle:
        engine()
    return engine()


def interleaved(engines: Mapping[str, Callable[[], float]], runs: int, warmup: int,
                settle: float = 0.0) -> dict[str, Timing]:
    results = {name: Timing() for name in engines}
    names = list(engines)
    for i in range(warmup + runs):
        k = i % len(names) if names else 0
        for name in names[k:] + names[:k]:
            if results[name].error is not None:
                continue
            try:
                t = _turn(engines[name], settle)
            except Exception as e:  # noqa: BLE001 - one engine failing must not stop the run
                results[name].error = one_line(e)
                results[name].times.clear()
                continue
            if i >= warmup:
                results[name].times.append(t)
    return results
