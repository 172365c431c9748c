"""`aicc inspect`: what an ONNX model holds, and what of it aicc cannot import."""
from __future__ import annotations

import json
import sys

from .. import plugins

NAME = "inspect"
HELP = "summarize an ONNX model (I/O, opsets, op counts, parameters, unsupported ops)"
DESCRIPTION = """\
Print an ONNX model's IR version, producer, opsets, inputs and outputs (shapes and dtypes),
op counts, parameter count and size, whether onnx.checker accepts it, and which operators aicc
cannot import (with counts). Weights are not read.

  aicc inspect model.onnx
  aicc inspect model.onnx --json
"""


def add_arguments(p) -> None:
    p.add_argument("file", help="ONNX model (.onnx)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-check", action="store_true", help="do not run onnx.checker")


def run(args) -> int:
    frontend = plugins.onnx_frontend()
    summary = frontend.inspect_onnx(args.file, check=not args.no_check)
    if args.json:
        json.dump(summary.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(frontend.format_summary(summary))
    return 0
