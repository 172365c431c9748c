"""The pass library. Importing it registers every pass with the core's registry.

  graph/  graph-IR passes, one a file
  loop/   loop-IR passes and the schedule primitives (Schedule, Trace)
"""
from . import graph  # noqa: F401  (registers the graph passes)
from . import loop  # noqa: F401  (registers the loop passes)

# The default graph pipeline of each -O level. A pass also carries its own opt_level, so
# PassContext(opt_level=...) can still gate passes of a custom pipeline.
_PIPELINES = {
    0: "",
    1: "fold-constants,simplify,cse,dce",
    2: "fold-constants,simplify,cse,dce,fuse,memory-plan",
    # layout rewrites convolutions to the blocked NCHW8c layout the x86 backend prefers;
    # memory-plan must stay last (any later pass would make the plan stale)
    3: "fold-constants,simplify,cse,dce,layout,fold-constants,cse,dce,fuse,memory-plan",
}


def default_pipeline(opt_level: int) -> str:
    if opt_level not in _PIPELINES:
        from compiler.errors import PassError
        raise PassError(f"opt level must be 0 to 3, got {opt_level}")
    return _PIPELINES[opt_level]
