"""Post-dominator trees of dataflow DAGs (used by the fuse pass).

A node D post-dominates a node N when every path from N to the end of the graph passes through
D; the immediate post-dominator is the closest such D. We compute it as the dominator tree of
the reversed graph rooted at a virtual sink that every node without consumers feeds, using
networkx's Cooper-Harvey-Kennedy `immediate_dominators`."""
from __future__ import annotations

from typing import Hashable, Iterable, Mapping, Optional

import networkx as nx

SINK = "<sink>"


def immediate_post_dominators(nodes: Iterable[Hashable],
                              successors: Mapping[Hashable, Iterable[Hashable]]
                              ) -> dict[Hashable, Optional[Hashable]]:
    """{node: its immediate post-dominator, or None when that is the virtual sink}.

    `successors[n]` are the nodes that consume n's results (edges of the DAG); nodes with none
    flow into the virtual sink."""
    rev = nx.DiGraph()
    rev.add_node(SINK)
    order = list(nodes)
    for n in order:
        rev.add_node(n)
        succ = list(successors.get(n, ()))
        if not succ:
            rev.add_edge(SINK, n)
        for s in succ:
            rev.add_edge(s, n)
    idom = nx.immediate_dominators(rev, SINK)
    out: dict[Hashable, Optional[Hashable]] = {}
    for n in order:
        d = idom.get(n)
        out[n] = None if d is None or d == SINK else d
    return out


def paths_between(src: Hashable, dst: Hashable,
                  successors: Mapping[Hashable, Iterable[Hashable]]) -> set:
    """Every node on some path from `src` to its post-dominator `dst`, `dst` included and `src`
    excluded. Because `dst` post-dominates `src`, this is everything reachable from `src`
    without passing through `dst`, plus `dst`."""
    seen = {dst}
    stack = [s for s in successors.get(src, ())]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(successors.get(n, ()))
    return seen
