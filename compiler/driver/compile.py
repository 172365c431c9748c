"""The compiler driver: model -> graph IR -> graph passes -> loop IR -> loop passes -> native code.

    m = compile_model("model.onnx", opt_level=2)           # a CompiledModel, ready to run

Each phase is a method of `Compilation` (the CLI stops after one of them for --emit); all pass
runs share one PassContext, so instruments (timing, statistics, IR printing) see graph and
loop passes alike. Every phase's wall time goes into the model's `.stats`."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Optional

from ..errors import AiccError
from ..transform import PassContext, PassManager, PassTimingInstrument, PrintIRInstrument
from ..transform.pipeline import parse_pipeline
from .. import plugins
from .artifact import Artifact
from .config import CompileConfig, make_config
from .model import CompiledModel
from .native import backend_options, build_library, code_target, lower_target, versions
from .source import dynamic_values, load_source

EMIT_KINDS = ("graph-ir", "loop-ir", "llvm", "asm")
LOWER = "lower"          # the name --print-ir-after/--print-ir-before use for lowering


def _split_lower(sel):
    """(selection for PrintIRInstrument, whether the loop IR after lowering is printed)."""
    if sel is None:
        return None, False
    names = [sel] if isinstance(sel, str) else list(sel)
    if "all" in names:
        return "all", True
    return [n for n in names if n != LOWER], LOWER in names


class Compilation:
    def __init__(self, config: CompileConfig):
        self.config = config
        plugins.load_passes()
        self.graph_passes = parse_pipeline(config.passes if config.passes is not None
                                           else plugins.default_pipeline(config.opt_level))
        self.loop_passes = parse_pipeline(config.loop_passes)
        # passes named explicitly run whatever their opt level; -O gates only the default
        explicit = (self.graph_passes if config.passes is not None else []) + self.loop_passes
        required = sorted({p.name for p in explicit} - set(config.disabled_passes))
        self.timing = PassTimingInstrument()
        after, self.print_lowered = _split_lower(config.print_ir_after)
        before, self.print_before_lowering = _split_lower(config.print_ir_before)
        instruments = []
        if after or before:
            instruments.append(PrintIRInstrument(before=before, after=after,
                                                 only_if_changed=config.print_ir_after_change,
                                                 stream=config.ir_stream))
        instruments += list(config.instruments) + [self.timing]
        self.ctx = PassContext(opt_level=config.opt_level, required=required,
                               disabled=config.disabled_passes, instruments=instruments,
                               verify=config.verify, debug=config.debug)
        self.phases: dict[str, float] = {}
        self.graph_ops: dict[str, dict] = {}
        self.loop_ops: dict = {}
        self._backend_options = None

    @contextmanager
    def phase(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - t0

    # ---- the phases ---------------------------------------------------------------------------
    def import_model(self, source, example_inputs=None):
        with self.phase("import"):
            graph = load_source(source, self.config.input_shapes, example_inputs)
        self.graph_ops["imported"] = graph.op_counts()
        return graph

    def optimize_graph(self, graph):
        with self.phase("graph passes"), self.ctx:
            if dynamic_values(graph) and "fold-constants" not in self.config.disabled_passes \
                    and not any(p.name == "fold-constants" for p in self.graph_passes):
                # shapes computed in the graph (Shape -> Reshape) must be folded to lower it,
                # even at -O0: fold-constants runs first then, as a required legalisation
                ctx = PassContext(opt_level=self.ctx.opt_level, required=["fold-constants"],
                                  instruments=self.ctx.instruments, verify=self.ctx.verify,
                                  debug=self.ctx.debug)
                graph = PassManager("fold-constants").run(graph, ctx)
            graph = PassManager(self.graph_passes).run(graph, self.ctx)
        dynamic = dynamic_values(graph)
        if dynamic:
            v = dynamic[0]
            raise AiccError(f"value %{v.name} has the dynamic type {v.type} after the graph "
                            f"passes; compiled code needs static shapes: fix the input dims "
                            f"with input_shapes (aicc compile --input-shape NAME=D0,D1,...)")
        self.graph_ops["optimized"] = graph.op_counts()
        return graph

    @property
    def options(self):
        if self._backend_options is None:
            self._backend_options = backend_options(self.config)
        return self._backend_options

    def _dump(self, title: str, ir) -> None:
        out = self.config.ir_stream or sys.stderr
        out.write(f"// -----// IR Dump {title} //----- //\n{ir}\n\n")
        out.flush()

    def lower(self, graph):
        if self.print_before_lowering:
            self._dump(f"Before {LOWER} (graph IR -> loop IR)", graph)
        with self.phase("lowering"):
            lm = plugins.lower_graph(graph, **lower_target(self.options))
        if self.print_lowered:
            self._dump(f"After {LOWER} (graph IR -> loop IR)", lm)
        return lm

    def optimize_loops(self, lm):
        if self.loop_passes:
            with self.phase("loop passes"), self.ctx:
                lm = PassManager(self.loop_passes).run(lm, self.ctx)
        from ..loop.kind import op_counts
        self.loop_ops = op_counts(lm)
        return lm

    def codegen(self, lm) -> tuple[bytes, dict]:
        with self.phase("codegen + link"):
            return build_library(lm, self.options)

    # ---- all of it ------------------------------------------------------------------------------
    def to_loop_module(self, source, example_inputs=None):
        graph = self.optimize_graph(self.import_model(source, example_inputs))
        return graph, self.optimize_loops(self.lower(graph))

    def build(self, source, example_inputs=None) -> Artifact:
        graph, lm = self.to_loop_module(source, example_inputs)
        code, abi = self.codegen(lm)
        header = self.header(graph, lm, abi, len(code))
        return Artifact(header, code, lm.weights())

    def emit(self, source, kind: str, example_inputs=None) -> str:
        """The text of one stage: graph-ir (after the graph passes), loop-ir (after lowering
        and the loop passes), llvm (optimised LLVM IR) or asm (native assembly)."""
        if kind not in EMIT_KINDS:
            raise AiccError(f"unknown emit kind '{kind}' (known: {', '.join(EMIT_KINDS)})")
        graph = self.optimize_graph(self.import_model(source, example_inputs))
        if kind == "graph-ir":
            return str(graph)
        lm = self.optimize_loops(self.lower(graph))
        if kind == "loop-ir":
            return str(lm)
        backend = plugins.llvm_backend()
        with self.phase("codegen"):
            if kind == "llvm":
                return backend.emit_llvm_ir(lm, self.options, optimized=True)
            return backend.emit_asm(lm, self.options)

    def header(self, graph, lm, abi: dict, code_bytes: int) -> dict:
        attrs = getattr(lm, "attrs", None) or {}
        inputs = attrs.get("inputs") or [_spec(v.name, v.type) for v in graph.inputs]
        outputs = attrs.get("outputs") or [_spec(n, v.type) for n, v in
                                           zip(graph.output_names, graph.outputs)]
        weights = lm.weights()
        return {
            "model": graph.name, "entry": "main",
            "inputs": [_json_spec(s) for s in inputs], "outputs": [_json_spec(s) for s in outputs],
            "target": code_target(self.options), "versions": versions(),
            "options": self.config.summary(), "abi": abi, "stats": self.stats(
                arena_bytes=lm.arena_size, code_bytes=code_bytes,
                weight_bytes=sum(int(w.nbytes) for w in weights.values()),
                weights=len(weights)),
        }

    def stats(self, **sizes) -> dict:
        phases = dict(self.phases)
        return {"compile_seconds": {**phases, "total": sum(phases.values())},
                "pass_seconds": [[name, t] for name, t in self.timing.records],
                "graph_ops": self.graph_ops, "loop_ops": self.loop_ops, **sizes}


def _spec(name: str, t) -> dict:
    return {"name": name, "dtype": t.dtype.name, "shape": list(t.shape)}


def _json_spec(s: dict) -> dict:
    dtype = s["dtype"]
    return {"name": str(s["name"]), "dtype": getattr(dtype, "name", str(dtype)),
            "shape": [int(d) for d in s["shape"]]}


def compile_model(model, config: Optional[CompileConfig] = None, *, example_inputs=None,
                  **options) -> CompiledModel:
    """Compile `model` to native code for this machine; returns a CompiledModel.

    model           a path to .onnx or .ir, an onnx.ModelProto, a compiler Graph, or a torch
                    nn.Module / fx.GraphModule / ExportedProgram (with `example_inputs`)
    config          a CompileConfig; keyword `options` (its field names) override it:
                    opt_level, input_shapes, num_threads, fast_math, bounds_check,
                    disabled_passes, passes, loop_passes, instruments, print_ir_after, ..."""
    cfg = make_config(config, **options)
    artifact = Compilation(cfg).build(model, example_inputs)
    return CompiledModel(artifact, cfg.num_threads)


def emit(model, kind: str, config: Optional[CompileConfig] = None, *, example_inputs=None,
         **options) -> str:
    """The text of one stage for `model` (see Compilation.emit)."""
    return Compilation(make_config(config, **options)).emit(model, kind, example_inputs)
