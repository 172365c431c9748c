"""`aicc import`: an ONNX model in, graph IR text out (weights to the .npz beside it)."""
from __future__ import annotations

import sys

from ..errors import AiccError
from ..ir.printer import print_graph
from ..ir.serialize import save_graph
from .. import plugins

NAME = "import"
HELP = "import an ONNX model as graph IR"
DESCRIPTION = """\
Read an ONNX model (external data files are read from its directory), convert it to graph IR
with the meaning its opset gives each operator, and write the IR text (to OUT, with the large
weights in OUT's .npz, or to stdout).

  aicc import model.onnx -o model.ir
  aicc import model.onnx -o model.ir --input-shape x=1,3,224,224
  aicc import model.onnx --allow-dynamic            # keep dynamic dims symbolic (batch, ...)
  aicc import model.onnx -o model.ir && aicc opt model.ir -O2 -o model.opt.ir

Dynamic input dims (dim_param or unknown) must be fixed with --input-shape NAME=D0,D1,...
(repeatable; it also overrides declared dims) unless --allow-dynamic is given. Unsupported
operators are listed together, with counts and node names.
"""


def add_arguments(p) -> None:
    p.add_argument("file", help="ONNX model (.onnx)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="write the IR to OUT (large constants go to OUT's .npz); default stdout")
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=D0,D1,...",
                   help="fix the shape of input NAME (repeatable); a non-numeric dim stays "
                        "symbolic; NAME= is a scalar")
    p.add_argument("--allow-dynamic", action="store_true",
                   help="keep unresolved dynamic input dims as symbolic dims")
    p.add_argument("--no-check", action="store_true", help="do not run onnx.checker first")
    p.add_argument("--no-fold-shapes", action="store_true",
                   help="keep shape computations as nodes instead of evaluating them")
    p.add_argument("--print-constants", action="store_true",
                   help="print every constant in full instead of as @name references")


def parse_input_shapes(specs) -> dict:
    shapes = {}
    for spec in specs:
        name, eq, dims = spec.rpartition("=")
        if not eq or not name:
            raise AiccError(f"--input-shape '{spec}': expected NAME=D0,D1,... "
                            f"(e.g. x=1,3,224,224)")
        parsed = []
        for d in (x.strip() for x in dims.split(",")) if dims.strip() else ():
            if not d:
                raise AiccError(f"--input-shape '{spec}': empty dim")
            parsed.append(int(d) if d.lstrip("-").isdigit() else d)
        if name in shapes:
            raise AiccError(f"--input-shape gives '{name}' twice")
        shapes[name] = tuple(parsed)
    return shapes


def run(args) -> int:
    frontend = plugins.onnx_frontend()
    shapes = parse_input_shapes(args.input_shape)
    graph = frontend.import_onnx(args.file, shapes, allow_dynamic=args.allow_dynamic,
                                 check=not args.no_check, fold_shapes=not args.no_fold_shapes)
    if args.output:
        threshold = {"elide_threshold": 1 << 62} if args.print_constants else {}
        for path in save_graph(graph, args.output, **threshold):
            print(f"wrote {path}", file=sys.stderr)
    else:
        sys.stdout.write(print_graph(graph, elide_large=not args.print_constants))
    return 0
