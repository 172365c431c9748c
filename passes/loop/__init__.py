"""Loop-IR passes and the schedule primitives. Importing this package imports (and so
registers) every pass module; helper modules that define no pass start with an underscore.

  schedule.py        Schedule: split tile reorder fuse unroll vectorize parallel
                     cache_read cache_write compute_at, each checked for legality
  trace.py           Trace: the applied primitives as JSON that replays
  apply_schedule.py  pass `apply-schedule{trace=PATH func=NAME}`
  simplify.py        pass `loop-simplify`"""
import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_") and not _info.ispkg:
        importlib.import_module(f"{__name__}.{_info.name}")
