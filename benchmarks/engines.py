"""The engines a benchmark compares, each set up for one model and one thread count. Calling an
engine runs one inference and returns the seconds it took (wall clock around the call, inputs
already in place; numpy times itself in its worker process).

    ours   compiler.compile(onnx, opt_level, num_threads=T), timed m.run(feeds)
    ort    onnxruntime InferenceSession, intra_op_num_threads=T, inter_op_num_threads=1,
           ORT_ENABLE_ALL, CPU provider
    torch  eager, torch.set_num_threads(T), under torch.inference_mode()
    numpy  np.matmul in a subprocess with OPENBLAS_NUM_THREADS=T (MatMul only)"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from abc import ABC, abstractmethod

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Engine(ABC):
    name = "?"

    @abstractmethod
    def __call__(self) -> float:
        """Run one inference; the seconds it took. (Engines whose results are compared also
        have outputs(): one inference's outputs, numpy arrays in the model's output order.)"""

    def close(self) -> None:
        pass


class Ours(Engine):
    name = "ours"

    def __init__(self, onnx_path, feeds: dict, threads: int, opt_level: int = 2):
        import compiler
        t0, cpu0 = time.perf_counter(), time.process_time()
        self.model = compiler.compile(str(onnx_path), opt_level=opt_level, num_threads=threads)
        self.compile_seconds = time.perf_counter() - t0
        # CPU time too: on a busy machine the wall time says more about the others than us
        self.compile_cpu_seconds = time.process_time() - cpu0
        if self.model.num_threads != threads:
            raise RuntimeError(f"compiled model runs {self.model.num_threads} threads, "
                               f"asked for {threads}")
        self.feeds = feeds

    def __call__(self) -> float:
        t0 = time.perf_counter()
        self.model.run(self.feeds)
        return time.perf_counter() - t0

    def outputs(self) -> list:
        outs = self.model.run(self.feeds)
        return [outs[s.name] for s in self.model.outputs]


class OnnxRuntime(Engine):
    name = "ort"

    def __init__(self, onnx_path, feeds: dict, threads: int):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(onnx_path), so,
                                            providers=["CPUExecutionProvider"])
        self.feeds = feeds

    def __call__(self) -> float:
        t0 = time.perf_counter()
        self.session.run(None, self.feeds)
        return time.perf_counter() - t0

    def outputs(self) -> list:
        return self.session.run(None, self.feeds)


class TorchEager(Engine):
    name = "torch"

    def __init__(self, module, inputs: tuple, threads: int):
        import torch
        self.torch = torch
        torch.set_num_threads(threads)
        self.module, self.inputs = module, inputs

    def __call__(self) -> float:
        t0 = time.perf_counter()
        with self.torch.inference_mode():
            self.module(*self.inputs)
        return time.perf_counter() - t0

    def outputs(self) -> list:
        with self.torch.inference_mode():
            out = self.module(*self.inputs)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return [o.numpy() for o in outs]


class NumpyMatMul(Engine):
    """np.matmul of an (m, k) by a (k, n) float32 matrix in a worker process whose BLAS runs
    `threads` threads (see numpy_worker.py)."""
    name = "numpy"

    def __init__(self, m: int, k: int, n: int, threads: int):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.numpy_worker",
                                      str(m), str(k), str(n)], cwd=ROOT, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.info = json.loads(self._line())

    def _line(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the numpy worker exited (code {self.proc.wait()})")
        return line

    def __call__(self) -> float:
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        line = self._line()
        try:
            return float(line)
        except ValueError:
            raise RuntimeError(f"numpy worker: {line.strip()}") from None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


def max_abs_error(got: list, want: list) -> float:
    """max |got - want| over all outputs, relative to max(1, max |want|)."""
    err = 0.0
    for g, w in zip(got, want):
        w = np.asarray(w, np.float64)
        scale = max(1.0, float(np.max(np.abs(w))) if w.size else 1.0)
        err = max(err, float(np.max(np.abs(np.asarray(g, np.float64) - w))) / scale)
    return err
