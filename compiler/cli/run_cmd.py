"""`aicc run`: execute a model on inputs from an .npz file (or seeded random inputs): a compiled
artifact (.aicc) natively, graph IR (.ir) on the reference interpreter."""
from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from ..errors import AiccError
from ..ir.serialize import load_graph
from .. import plugins

NAME = "run"
HELP = "run a compiled artifact (.aicc) natively, or an IR file on the reference interpreter"
DESCRIPTION = """\
Run FILE and print each output's shape, dtype and values. A compiled artifact (from aicc
compile) runs its native code, without recompiling; graph IR text (FILE.npz weights are read if
present) runs on the numpy reference interpreter.

  aicc run model.aicc --inputs in.npz --outputs out.npz
  aicc run model.aicc --bench 100 --threads 2    # median latency of 100 runs
  aicc run model.ir --seed 0                     # random inputs from a seeded generator
"""


def add_arguments(p) -> None:
    p.add_argument("file", help="model to run (.aicc artifact or .ir)")
    p.add_argument("--inputs", metavar="NPZ", help="inputs, one array per graph input name")
    p.add_argument("--outputs", metavar="NPZ", help="write the outputs to this .npz file")
    p.add_argument("--seed", type=int, default=0,
                   help="seed for random inputs when --inputs is not given (default 0)")
    p.add_argument("--bench", type=int, metavar="N",
                   help="after one warm-up run, run N more times and print the median latency")
    p.add_argument("--threads", type=int, metavar="N",
                   help="threads of parallel loops (.aicc; default: the compiled setting)")


def random_feeds(specs, seed: int) -> dict:
    """Seeded random arrays for [(name, TensorType)]."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for name, t in specs:
        if not t.is_static:
            sym = [d for d in t.shape if isinstance(d, str)]
            raise AiccError(f"input '{name}' has symbolic dim(s) {', '.join(sym)} ({t}); "
                            "give concrete inputs with --inputs")
        dt = t.dtype
        if dt.is_float:
            feeds[name] = rng.standard_normal(t.shape).astype(dt.np_dtype)
        elif dt.name == "bool":
            feeds[name] = rng.random(t.shape) < 0.5
        else:
            feeds[name] = rng.integers(0, 10, t.shape).astype(dt.np_dtype)
    return feeds


def is_artifact(path: str) -> bool:
    from ..driver.artifact import MAGIC
    if path.endswith(".aicc"):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def bench(fn, n: int) -> str:
    """Run fn once to warm up, then n times; the timing line."""
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    ms = [t * 1e3 for t in times]
    return (f"bench: {n} runs, median {statistics.median(ms):.3f} ms "
            f"(min {min(ms):.3f}, max {max(ms):.3f})")


def load_inputs(path: str) -> dict:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise AiccError(f"cannot read inputs file {path}: {e}") from None


def _prepare(args):
    """(run function taking feeds, random-input specs) for the file."""
    if args.bench is not None and args.bench < 1:
        raise AiccError(f"--bench needs a positive run count, got {args.bench}")
    if is_artifact(args.file):
        from ..driver import load
        from ..ir.types import TensorType
        model = load(args.file, num_threads=args.threads)
        return model.run, [(s.name, TensorType(s.dtype, s.shape)) for s in model.inputs]
    if args.threads is not None:
        raise AiccError("--threads applies to compiled artifacts (.aicc), not to IR files")
    graph = load_graph(args.file)
    reference = plugins.reference_backend()
    return (lambda feeds: reference.run_graph(graph, feeds)), \
        [(v.name, v.type) for v in graph.inputs]


def run(args) -> int:
    run_model, specs = _prepare(args)
    if args.inputs:
        feeds = load_inputs(args.inputs)
    else:
        feeds = random_feeds(specs, args.seed)
        print(f"(no --inputs: random inputs with seed {args.seed})", file=sys.stderr)
    outputs = run_model(feeds)
    with np.printoptions(precision=5, threshold=20, edgeitems=3, suppress=True):
        for name, arr in outputs.items():
            print(f"{name}: {arr.dtype}{list(arr.shape)}\n{arr}")
    if args.outputs:
        np.savez(args.outputs, **outputs)
        print(f"wrote {args.outputs}", file=sys.stderr)
    if args.bench:
        print(bench(lambda: run_model(feeds), args.bench))
    return 0
