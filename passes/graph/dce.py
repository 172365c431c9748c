"""dce: remove nodes and constants whose results reach no graph output."""
from __future__ import annotations

from compiler.transform import Pass, register_pass


@register_pass
class DeadCodeElimination(Pass):
    """Remove nodes and constants that reach no output."""
    name = "dce"
    opt_level = 1

    def run(self, graph, ctx) -> bool:
        live = {id(v) for v in graph.outputs}
        removed = 0
        # Walking backwards, every consumer is visited before its producer, so a dead node's
        # users are already gone when it is erased.
        for node in reversed(list(graph.nodes)):
            if any(id(o) in live for o in node.outputs):
                live.update(id(v) for v in node.inputs if v is not None)
            else:
                graph.erase_node(node)
                removed += 1
        for c in list(graph.constants):
            if id(c) not in live:
                graph.erase_constant(c)
                removed += 1
        if removed:
            ctx.log(f"removed {removed} dead nodes/constants", self.name)
        return removed > 0
