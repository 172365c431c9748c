"""`aicc opt`: IR text in, passes, IR text out (mlir-opt style)."""
from __future__ import annotations

import sys

from ..errors import AiccError
from ..ir.parser import parse_graph
from ..ir.printer import ELIDE_THRESHOLD, print_graph
from ..ir.serialize import load_graph, save_graph
from .. import plugins
from ..transform import (CrashReproducerInstrument, PassContext, PassManager,
                         PassStatisticsInstrument, PassTimingInstrument, PrintIRInstrument,
                         list_passes, parse_pipeline)

NAME = "opt"
HELP = "run graph passes over an IR file (mlir-opt style)"
DESCRIPTION = """\
Read graph IR text (FILE, or - for stdin; the weights file FILE.npz beside it is read if present),
run a pass pipeline, and write the result.

  aicc opt model.ir --passes "fold-constants,cse,dce" -o out.ir
  aicc opt model.ir -O2 --print-ir-after all --time-passes
  aicc opt model.ir --passes "fuse{max-depth=8}" --print-ir-after fuse
  aicc opt --list-passes

A pipeline is a comma-separated list of pass names, each with optional options in braces:
`name{option=value other=1,2}`. Without --passes, -O<level> picks that level's default pipeline.
"""


def add_arguments(p) -> None:
    p.add_argument("file", nargs="?", help="input IR file, or - for stdin")
    p.add_argument("--passes", metavar="PIPELINE", help='pass pipeline, e.g. "cse,dce"')
    for level in range(4):
        p.add_argument(f"-O{level}", dest="opt_level", action="store_const", const=level,
                       help=f"opt level {level}" + (" (default)" if level == 2 else ""))
    p.add_argument("-o", "--output", metavar="OUT",
                   help="write the result to OUT (large constants go to OUT's .npz); default stdout")
    p.add_argument("--print-ir-after", action="append", default=[], metavar="NAME|all",
                   help="print the IR after the named pass (repeatable) or after all passes")
    p.add_argument("--print-ir-before", action="append", default=[], metavar="NAME|all",
                   help="print the IR before the named pass (repeatable) or before all passes")
    p.add_argument("--print-ir-after-change", action="store_true",
                   help="with --print-ir-after: print only when the pass changed the IR")
    p.add_argument("--time-passes", action="store_true", help="print a table of pass timings")
    p.add_argument("--stats", action="store_true",
                   help="print node counts per op before and after each pass")
    p.add_argument("--disable-pass", action="append", default=[], metavar="NAME",
                   help="skip this pass wherever it appears (repeatable)")
    p.add_argument("--no-verify", action="store_true",
                   help="do not run the verifier after each pass")
    p.add_argument("--crash-reproducer", metavar="FILE",
                   help="if a pass fails, write its input IR and the pipeline to FILE")
    p.add_argument("--print-constants", action="store_true",
                   help="print every constant in full instead of as @name references")
    p.add_argument("--list-passes", action="store_true",
                   help="list the registered passes with their options and opt levels")


def _selection(values):
    if "all" in values:
        return "all"
    return list(values)


def format_pass_list() -> str:
    lines = []
    for info in list_passes():
        lines.append(f"  {info.name:<20} -O{info.opt_level}  {info.summary}")
        for opt in info.options:
            lines.append(f"      {opt.name}: {opt.type_name} = {opt.default_text}")
    return "registered passes (name, minimum opt level, summary):\n" + "\n".join(lines)


def run(args) -> int:
    plugins.load_passes()
    if args.list_passes:
        print(format_pass_list())
        return 0
    if not args.file:
        raise AiccError("no input file (give FILE or - for stdin; see aicc opt --help)")
    if args.file == "-":
        graph = parse_graph(sys.stdin.read(), source_name="<stdin>")
    else:
        graph = load_graph(args.file)
    opt_level = 2 if args.opt_level is None else args.opt_level
    pipeline = args.passes if args.passes is not None else plugins.default_pipeline(opt_level)
    passes = parse_pipeline(pipeline)
    # Passes named explicitly run whatever their opt level; -O gates only the default pipeline.
    required = sorted({p.name for p in passes} - set(args.disable_pass)) \
        if args.passes is not None else ()

    instruments = []
    timing = PassTimingInstrument() if args.time_passes else None
    stats = PassStatisticsInstrument() if args.stats else None
    if args.print_ir_after or args.print_ir_before:
        instruments.append(PrintIRInstrument(before=_selection(args.print_ir_before),
                                             after=_selection(args.print_ir_after),
                                             only_if_changed=args.print_ir_after_change))
    if args.crash_reproducer:
        instruments.append(CrashReproducerInstrument(args.crash_reproducer))
    instruments += [i for i in (timing, stats) if i is not None]
    ctx = PassContext(opt_level=opt_level, required=required, disabled=args.disable_pass,
                      instruments=instruments,
                      verify=not args.no_verify, debug=getattr(args, "debug", False))
    with ctx:
        graph = PassManager(passes).run(graph, ctx)
    if stats is not None:
        print(stats.report(), file=sys.stderr)
    if timing is not None:
        print(timing.table(), file=sys.stderr)
    if args.output:
        threshold = (1 << 62) if args.print_constants else ELIDE_THRESHOLD
        for path in save_graph(graph, args.output, elide_threshold=threshold):
            print(f"wrote {path}", file=sys.stderr)
    else:
        sys.stdout.write(print_graph(graph, elide_large=not args.print_constants))
    return 0
