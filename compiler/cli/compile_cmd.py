"""`aicc compile`: a model in, one native artifact (or one stage's text with --emit) out."""
from __future__ import annotations

import sys
from pathlib import Path

from ..driver import Compilation, CompileConfig
from ..errors import AiccError
from ..driver.artifact import write_artifact
from ..driver.compile import EMIT_KINDS
from ..transform import PassStatisticsInstrument
from .import_cmd import parse_input_shapes

NAME = "compile"
HELP = "compile a model (.onnx or .ir) to a native artifact (.aicc)"
DESCRIPTION = """\
Compile MODEL (.onnx, or graph IR text .ir with its .npz weights) for this machine: graph passes
of -O<level>, lowering to loop IR, LLVM code generation, and one artifact file holding the
shared library, the weights and the metadata (run it with `aicc run` or compiler.load).

  aicc compile model.onnx -o model.aicc
  aicc compile model.onnx -O3 --input-shape x=1,3,224,224 --threads 4
  aicc compile model.ir --emit loop-ir                   # stop early and print a stage
  aicc compile model.ir --emit asm -o model.s
  aicc compile model.onnx --print-ir-after all --time-passes --stats
  aicc compile model.onnx --disable-pass fuse --print-ir-after lower

--emit graph-ir prints the graph after the graph passes, loop-ir the loop IR after lowering
(and --loop-passes), llvm the optimised LLVM IR, asm the native assembly. --print-ir-after
takes pass names, `all`, or `lower` (the loop IR right after lowering; with --print-ir-before,
the graph right before it).
"""


def add_arguments(p) -> None:
    p.add_argument("file", help="model to compile (.onnx or .ir)")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="output file (default: MODEL's name with .aicc, in the current "
                        "directory; with --emit: stdout)")
    for level in range(4):
        p.add_argument(f"-O{level}", dest="opt_level", action="store_const", const=level,
                       help=f"opt level {level}" + (" (default)" if level == 2 else ""))
    p.add_argument("--emit", choices=EMIT_KINDS, help="write this stage's text instead of an "
                   "artifact")
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=D0,D1,...",
                   help="fix the shape of input NAME (repeatable)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="threads of parallel loops (default: all cores of the machine that "
                        "runs the model)")
    p.add_argument("--passes", metavar="PIPELINE",
                   help='graph pipeline replacing -O\'s default, e.g. "fold-constants,cse"')
    p.add_argument("--loop-passes", default="", metavar="PIPELINE",
                   help="loop IR pipeline to run after lowering")
    p.add_argument("--disable-pass", action="append", default=[], metavar="NAME",
                   help="skip this pass wherever it appears (repeatable)")
    p.add_argument("--print-ir-after", action="append", default=[], metavar="NAME|all|lower",
                   help="print the IR after the named pass (repeatable), after all passes, or "
                        "the loop IR after lowering")
    p.add_argument("--print-ir-before", action="append", default=[], metavar="NAME|all|lower",
                   help="print the IR before the named pass (repeatable), before all passes, "
                        "or the graph right before lowering")
    p.add_argument("--print-ir-after-change", action="store_true",
                   help="with --print-ir-after: print only when the pass changed the IR")
    p.add_argument("--time-passes", action="store_true",
                   help="print the wall time of every pass and compilation phase")
    p.add_argument("--stats", action="store_true",
                   help="print node counts per op before and after each pass, and sizes")
    p.add_argument("--fast-math", action="store_true",
                   help="allow float reassociation and FMA contraction (not IEEE-exact)")
    p.add_argument("--bounds-check", action="store_true",
                   help="check every memory access at run time (slow; for debugging)")
    p.add_argument("--math", choices=("poly", "libm"), default="poly",
                   help="f32 exp/log/tanh/erf: inline polynomials (default) or the C library")
    p.add_argument("--no-verify", action="store_true",
                   help="do not run the verifier after each pass")


def _selection(values):
    return None if not values else ("all" if "all" in values else list(values))


def config_from_args(args, instruments=()) -> CompileConfig:
    if args.threads is not None and args.threads < 1:
        raise AiccError(f"--threads must be at least 1, got {args.threads}")
    return CompileConfig(
        opt_level=2 if args.opt_level is None else args.opt_level,
        input_shapes=parse_input_shapes(args.input_shape) or None,
        num_threads=args.threads, fast_math=args.fast_math, bounds_check=args.bounds_check,
        disabled_passes=tuple(args.disable_pass), passes=args.passes,
        loop_passes=args.loop_passes, instruments=tuple(instruments),
        print_ir_after=_selection(args.print_ir_after),
        print_ir_before=_selection(args.print_ir_before),
        print_ir_after_change=args.print_ir_after_change, verify=not args.no_verify,
        math=args.math, debug=getattr(args, "debug", False))


def phase_table(phases: dict) -> str:
    total = sum(phases.values())
    rule = "===" + "-" * 73 + "==="
    out = [rule, "... Compilation phase timing report ...".center(len(rule)).rstrip(), rule,
           f"  Total Compilation Time: {total:.4f} seconds", "",
           f"  {'---Wall Time---':>19}  ---Phase---"]
    for name, t in phases.items():
        pct = 100.0 * t / total if total > 0 else 0.0
        out.append(f"  {t:10.4f} ({pct:5.1f}%)  {name}")
    out.append(f"  {total:10.4f} (100.0%)  Total")
    return "\n".join(out)


def size_summary(stats: dict) -> str:
    loops = ", ".join(f"{k} {v}" for k, v in stats.get("loop_ops", {}).items())
    return (f"  loop IR: {loops or '(empty)'}\n"
            f"  arena {stats['arena_bytes']} bytes, {stats['weights']} weights "
            f"({stats['weight_bytes']} bytes), code {stats['code_bytes']} bytes")


def _write_text(text: str, output) -> None:
    if output:
        Path(output).write_text(text if text.endswith("\n") else text + "\n")
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def run(args) -> int:
    stats = PassStatisticsInstrument() if args.stats else None
    c = Compilation(config_from_args(args, [stats] if stats else []))
    built = None
    try:
        if args.emit == "graph-ir" and args.output:
            from ..ir.serialize import save_graph
            graph = c.optimize_graph(c.import_model(args.file))
            for path in save_graph(graph, args.output):
                print(f"wrote {path}", file=sys.stderr)
        elif args.emit:
            _write_text(c.emit(args.file, args.emit), args.output)
        else:
            artifact = c.build(args.file)
            out = args.output or Path(args.file).with_suffix(".aicc").name
            size = write_artifact(out, artifact.header, artifact.code, artifact.weights)
            s = built = artifact.header["stats"]
            print(f"wrote {out} ({size} bytes: code {s['code_bytes']}, weights "
                  f"{s['weight_bytes']}, arena {s['arena_bytes']})", file=sys.stderr)
    finally:
        # reports also when a phase failed: they show how far it got
        if stats is not None:
            print(stats.report(), file=sys.stderr)
            if built is not None:
                print(size_summary(built), file=sys.stderr)
        if args.time_passes:
            print(c.timing.table(), file=sys.stderr)
            print(phase_table(c.phases), file=sys.stderr)
    return 0
