"""CompileConfig: every option of one compilation, as explicit fields (no environment variables).

    cfg = CompileConfig(opt_level=3, input_shapes={"x": (1, 3, 224, 224)}, num_threads=4)
    m = compiler.compile("model.onnx", cfg)              # or the same as keyword arguments
    m = compiler.compile("model.onnx", opt_level=3, disabled_passes=["fuse"])
"""
from __future__ import annotations

import dataclasses
import difflib
import os
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence, Union

from ..errors import AiccError

Selection = Union[str, Sequence[str], None]       # "all", a pass name, or a list of names


class ConfigError(AiccError, ValueError):
    """A compile option has a wrong name, type or value."""


@dataclass
class CompileConfig:
    """Options of `compiler.compile` (each is also a keyword argument of it).

    opt_level        0..3: the graph pipeline (plugins.default_pipeline) and the LLVM level,
                     as clang's -O (0 = no optimisation, only what lowering needs)
    input_shapes     {input name: shape} fixing dynamic (or overriding declared) input dims
    num_threads      threads of parallel loops; None = all cores of the machine that runs the
                     model (also after compiler.load on another machine)
    fast_math        allow reassociation / FMA contraction (not IEEE-exact)
    bounds_check     check every index at run time (slow; errors name the buffer and index)
    disabled_passes  pass names never to run (graph or loop passes)
    passes           a graph pipeline string replacing -O's default ("fold-constants,cse")
    loop_passes      a loop-IR pipeline string run after lowering ("" = none)
    instruments      extra PassInstruments (they see graph and loop passes)
    print_ir_after   "all", a pass name or names: dump the IR to `ir_stream` after those
                     passes ("lower" = the loop IR right after lowering)
    print_ir_before  the same, before the passes ("lower" = the graph right before lowering)
    print_ir_after_change  with print_ir_after: only when the pass changed the IR
    ir_stream        where IR dumps go (default: sys.stderr)
    verify           run the IR verifier after every pass
    math             "poly" (inline vectorised f32 exp/log/tanh/erf) or "libm"
    debug            log skipped passes and pass messages to stderr"""
    opt_level: int = 2
    input_shapes: Optional[Mapping[str, Sequence]] = None
    num_threads: Optional[int] = None
    fast_math: bool = False
    bounds_check: bool = False
    disabled_passes: Sequence[str] = ()
    passes: Optional[str] = None
    loop_passes: str = ""
    instruments: Sequence = ()
    print_ir_after: Selection = None
    print_ir_before: Selection = None
    print_ir_after_change: bool = False
    ir_stream: object = field(default=None, repr=False)
    verify: bool = True
    math: str = "poly"
    debug: bool = False

    def __post_init__(self):
        if isinstance(self.opt_level, bool) or self.opt_level not in (0, 1, 2, 3):
            raise ConfigError(f"opt_level must be 0, 1, 2 or 3, got {self.opt_level!r}")
        if self.num_threads is not None and (isinstance(self.num_threads, bool) or
                                             not isinstance(self.num_threads, int) or
                                             self.num_threads < 1):
            raise ConfigError(f"num_threads must be a positive integer or None, got "
                              f"{self.num_threads!r}")
        if self.math not in ("poly", "libm"):
            raise ConfigError(f"math must be 'poly' or 'libm', got {self.math!r}")
        if isinstance(self.disabled_passes, str):      # "fuse" means one pass, not four letters
            self.disabled_passes = (self.disabled_passes,)
        self.disabled_passes = tuple(self.disabled_passes)
        self.instruments = tuple(self.instruments)
        if self.input_shapes is not None:
            self.input_shapes = {str(k): _shape(k, v) for k, v in dict(self.input_shapes).items()}
        for name in ("passes", "loop_passes"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, str):
                raise ConfigError(f"{name} must be a pipeline string, got {type(v).__name__}")

    @property
    def threads(self) -> int:
        """The thread count to run with on this machine."""
        return self.num_threads or os.cpu_count() or 1

    def replace(self, **changes) -> "CompileConfig":
        check_option_names(changes)
        return dataclasses.replace(self, **changes)

    def summary(self) -> dict:
        """The JSON-able options an artifact records (what produced its code)."""
        return {"opt_level": self.opt_level, "fast_math": self.fast_math,
                "bounds_check": self.bounds_check, "num_threads": self.num_threads,
                "math": self.math, "disabled_passes": list(self.disabled_passes),
                "passes": self.passes, "loop_passes": self.loop_passes,
                "input_shapes": ({k: list(v) for k, v in self.input_shapes.items()}
                                 if self.input_shapes else None)}


def _shape(name, dims) -> tuple:
    if isinstance(dims, (str, bytes)) or not hasattr(dims, "__iter__"):
        raise ConfigError(f"input_shapes['{name}'] must be a sequence of dims, got {dims!r}")
    out = []
    for d in dims:
        if isinstance(d, str):          # a named dim stays symbolic (as in the ONNX importer)
            out.append(d)
            continue
        try:
            n = int(d) if not isinstance(d, bool) and int(d) == d else None   # numpy ints too
        except (TypeError, ValueError):
            n = None
        if n is None or n < 0:
            raise ConfigError(f"input_shapes['{name}'] = {list(dims)}: dims must be "
                              "non-negative integers")
        out.append(n)
    return tuple(out)


OPTION_NAMES = tuple(f.name for f in dataclasses.fields(CompileConfig))


def check_option_names(options: Mapping) -> None:
    for k in options:
        if k not in OPTION_NAMES:
            close = difflib.get_close_matches(k, OPTION_NAMES, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"unknown compile option '{k}'{hint}; options: "
                              + ", ".join(OPTION_NAMES))


def make_config(config: Optional[CompileConfig] = None, **options) -> CompileConfig:
    """`config` (default: CompileConfig()) with keyword `options` applied on top."""
    if config is None:
        check_option_names(options)
        return CompileConfig(**options)
    if not isinstance(config, CompileConfig):
        raise ConfigError(f"config must be a CompileConfig, got {type(config).__name__}")
    return config.replace(**options) if options else config
