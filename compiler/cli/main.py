"""`aicc` entry point: subcommands register here; user errors print one line, exit code 2."""
from __future__ import annotations

import argparse
import sys

from ..errors import AiccError
from . import compile_cmd, import_cmd, inspect_cmd, opt_cmd, run_cmd

DESCRIPTION = """\
aicc: an ahead-of-time AI compiler.
  ONNX / graph IR -> graph passes -> loop IR -> LLVM native code, in one artifact file.

Examples:
  aicc compile model.onnx -o model.aicc -O2
  aicc run model.aicc --inputs in.npz --outputs out.npz --bench 100
  aicc opt model.ir --passes "fold-constants,cse,dce" -o out.ir
  aicc opt model.ir -O2 --print-ir-after all --time-passes
  aicc opt --list-passes
  aicc run model.ir --inputs in.npz --outputs out.npz      # reference interpreter
"""

SUBCOMMANDS = (compile_cmd, import_cmd, inspect_cmd, opt_cmd, run_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aicc", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="show Python tracebacks and pass debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in SUBCOMMANDS:
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.DESCRIPTION,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show Python tracebacks and pass debug messages")
        mod.add_arguments(p)
        p.set_defaults(handler=mod.run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args) or 0
    except AiccError as e:
        if args.debug:
            raise
        print(f"aicc {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("aicc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
