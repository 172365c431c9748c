"""Graph-IR passes, one a module; importing this package imports (and so registers) them all.
Helper modules that define no pass start with an underscore or live in a subpackage."""
import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_") and not _info.ispkg:
        importlib.import_module(f"{__name__}.{_info.name}")
