"""numpy's MatMul in a process of its own, so that its BLAS thread count can be fixed by the
environment (OPENBLAS_NUM_THREADS etc., read once when the BLAS library loads; threadpoolctl,
which could change it in-process, is not installed).

    python -m benchmarks.numpy_worker M K N      (started by engines.NumpyEngine)

Protocol on stdin/stdout, one line each: first the worker prints a JSON line describing its
BLAS; then for every line it reads ("run") it computes a @ b once and prints the seconds it
took, so the parent can interleave numpy with the in-process engines. EOF ends it."""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np


def blas_description() -> dict:
    blas = {}
    try:
        blas = dict(np.show_config(mode="dicts")["Build Dependencies"]["blas"])
    except Exception:  # noqa: BLE001 - older numpy: no dict mode; report what is known
        pass
    threads = {k: v for k, v in os.environ.items()
               if k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    return {"numpy": np.__version__, "blas": blas.get("name", "unknown"),
            "blas_version": blas.get("version", "unknown"), "threads_env": threads}


def main(argv) -> int:
    m, k, n = (int(a) for a in argv)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    c = np.empty((m, n), np.float32)
    print(json.dumps(blas_description()), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            print(f"error: unknown request {line.strip()!r}", flush=True)
            return 2
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        print(repr(time.perf_counter() - t0), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
