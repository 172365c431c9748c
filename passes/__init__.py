"""The pass library. Importing it registers every pass with the core's registry.

  graph/  graph-IR passes, one a file
"""
from . import graph  # noqa: F401  (registers the graph passes)

# The default graph pipeline of each -O level. A pass also carries its own opt_level, so
# PassContext(opt_level=...) can still gate passes of a custom pipeline.
_PIPELINES = {
    0: "",
    1: "fold-constants,dce",
    2: "fold-constants,cse,dce",
    3: "fold-constants,cse,dce",
}


def default_pipeline(opt_level: int) -> str:
    if opt_level not in _PIPELINES:
        from compiler.errors import PassError
        raise PassError(f"opt level must be 0 to 3, got {opt_level}")
    return _PIPELINES[opt_level]
