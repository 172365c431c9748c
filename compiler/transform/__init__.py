"""Pass infrastructure: the Pass base class, the pass registry, pipeline strings, PassContext,
PassManager and instruments (timing, IR printing, statistics, crash reproducers)."""
from .context import LogRecord, PassContext
from .instruments import (CrashReproducerInstrument, PassInstrument, PassStatisticsInstrument,
                          PassTimingInstrument, PrintIRInstrument)
from .manager import PassManager
from .pass_base import IRKind, OptionInfo, Pass, get_ir_kind, option, register_ir_kind
from .pipeline import format_pipeline, parse_pipeline
from .registry import (PassInfo, get_pass_class, known_pass_names, list_passes,
                       load_builtin_passes, register_pass)

__all__ = ["LogRecord", "PassContext", "CrashReproducerInstrument", "PassInstrument",
           "PassStatisticsInstrument", "PassTimingInstrument", "PrintIRInstrument", "PassManager",
           "IRKind", "OptionInfo", "Pass", "get_ir_kind", "option", "register_ir_kind",
           "format_pipeline", "parse_pipeline", "PassInfo", "get_pass_class", "known_pass_names",
           "list_passes", "load_builtin_passes", "register_pass"]
