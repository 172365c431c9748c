"""`aicc run`: execute a model on inputs from an .npz file (or seeded random inputs)."""
from __future__ import annotations

import sys

import numpy as np

from ..errors import AiccError
from ..ir.serialize import load_graph
from .. import plugins

NAME = "run"
HELP = "run an IR file on the reference interpreter"
DESCRIPTION = """\
Run FILE (graph IR text; its FILE.npz weights are read if present) on the numpy reference
interpreter and print each output's shape, dtype and values.

  aicc run model.ir --inputs in.npz --outputs out.npz
  aicc run model.ir --seed 0          # random inputs from a seeded generator
"""


def add_arguments(p) -> None:
    p.add_argument("file", help="model to run (.ir)")
    p.add_argument("--inputs", metavar="NPZ", help="inputs, one array per graph input name")
    p.add_argument("--outputs", metavar="NPZ", help="write the outputs to this .npz file")
    p.add_argument("--seed", type=int, default=0,
                   help="seed for random inputs when --inputs is not given (default 0)")


def random_inputs(graph, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    feeds = {}
    for v in graph.inputs:
        if not v.type.is_static:
            sym = [d for d in v.type.shape if isinstance(d, str)]
            raise AiccError(f"input '{v.name}' has symbolic dim(s) {', '.join(sym)} ({v.type}); "
                            "give concrete inputs with --inputs")
        dt = v.type.dtype
        if dt.is_float:
            feeds[v.name] = rng.standard_normal(v.type.shape).astype(dt.np_dtype)
        elif dt.name == "bool":
            feeds[v.name] = rng.random(v.type.shape) < 0.5
        else:
            feeds[v.name] = rng.integers(0, 10, v.type.shape).astype(dt.np_dtype)
    return feeds


def load_inputs(path: str) -> dict:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise AiccError(f"cannot read inputs file {path}: {e}") from None


def run(args) -> int:
    graph = load_graph(args.file)
    if args.inputs:
        feeds = load_inputs(args.inputs)
    else:
        feeds = random_inputs(graph, args.seed)
        print(f"(no --inputs: random inputs with seed {args.seed})", file=sys.stderr)
    outputs = plugins.reference_backend().run_graph(graph, feeds)
    with np.printoptions(precision=5, threshold=20, edgeitems=3, suppress=True):
        for name, arr in outputs.items():
            print(f"{name}: {arr.dtype}{list(arr.shape)}\n{arr}")
    if args.outputs:
        np.savez(args.outputs, **outputs)
        print(f"wrote {args.outputs}", file=sys.stderr)
    return 0
