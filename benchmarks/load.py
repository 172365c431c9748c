"""How busy the rest of the machine was while we measured: CPU time of all processes (from
/proc/stat, hypervisor steal included) minus that of the benchmark's own processes (from
/proc/<pid>/stat), as a fraction of all cores over the wall time. Linux only; elsewhere the
fraction is None."""
from __future__ import annotations

import os
import time
from typing import Optional

_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _machine_busy_ticks() -> int:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice: already in user]
    return sum(fields[:8]) - fields[3] - fields[4]


def _process_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        after_name = f.read().rsplit(")", 1)[1].split()
    return int(after_name[11]) + int(after_name[12])       # utime, stime (all threads)


class OtherLoad:
    """with OtherLoad(pids) as load: ...   then load.fraction (0..1, or None)."""

    def __init__(self, pids=()):
        self.pids = [os.getpid(), *pids]
        self.fraction: Optional[float] = None

    def _snapshot(self):
        try:
            return (_machine_busy_ticks(), sum(_process_ticks(p) for p in self.pids),
                    time.perf_counter())
        except (OSError, ValueError, IndexError):
            return None

    def __enter__(self) -> "OtherLoad":
        self._start = self._snapshot()
        return self

    def __exit__(self, *exc) -> None:
        end = self._snapshot()
        if self._start is None or end is None:
            return
        busy, ours, wall = (b - a for a, b in zip(self._start, end))
        capacity = wall * (os.cpu_count() or 1) * _HZ
        if capacity > 0:
            self.fraction = min(1.0, max(0.0, (busy - ours) / capacity))
