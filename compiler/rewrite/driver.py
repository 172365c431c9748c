"""Rules and the greedy rewrite driver.

    RULES = [
        Rule("mul-one", P("Mul", P.var("x"), P.const("c", pred=is_one)), lambda g, m: m["x"]),
        Rule("add-add-const", P("Add", P("Add", P.var("x"), P.const("c1"), one_use=True),
                                P.const("c2")),
             lambda g, m: g.op("Add", m["x"], g.add_constant(m.array("c1") + m.array("c2")))),
    ]
    report = apply_rules(graph, RULES)

A rewrite `(graph, match) -> Value | None` runs with the insertion point before the matched root;
it returns the value that replaces the root's single result, or None to decline (nodes and
constants it created are then removed again). The driver sweeps the nodes in order, trying the
rules in order, until a sweep changes nothing (fixpoint) or `max_iterations` sweeps ran."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Optional, Sequence

from ..ir.types import types_compatible
from ..transform.pass_base import Pass, option
from .pattern import Match, P


class RewriteError(RuntimeError):
    """A rule broke the rewrite contract (e.g. replaced a value by one of another type): a bug
    in the rule, not in the user's input."""


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: P
    rewrite: Callable[[Any, Match], Any]

    def __post_init__(self):
        if not isinstance(self.pattern, P) or self.pattern.kind != "node":
            raise TypeError(f"rule '{self.name}': the pattern root must be a node pattern P(op, ...)")


RuleTable = list   # a RuleTable is just a list of Rules, tried in order


@dataclass
class RewriteReport:
    hits: list = field(default_factory=list)      # (rule name, describe() of the matched root)
    iterations: int = 0
    hit_cap: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.hits)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(rule for rule, _ in self.hits))

    def __str__(self) -> str:
        status = (f"stopped at the iteration cap ({self.iterations})" if self.hit_cap
                  else f"fixpoint after {self.iterations} iteration(s)")
        lines = [f"{len(self.hits)} rewrite(s), {status}"]
        counts = self.counts
        if counts:
            width = max(len(r) for r in counts)
            lines += [f"  {r:<{width}}  {n}" for r, n in sorted(counts.items(), key=lambda kv: -kv[1])]
            lines += [f"  - {r} on {where}" for r, where in self.hits]
        return "\n".join(lines)


def _rules_for(op: str, rules: Sequence[Rule], cache: dict) -> list:
    found = cache.get(op)
    if found is None:
        found = cache[op] = [r for r in rules if op in r.pattern.ops]
    return found


def _undo(graph, first: int, count: int, n_consts: int) -> None:
    """Remove what a declined rewrite created: `count` nodes from index `first`, new constants."""
    for node in reversed(graph.nodes[first:first + count]):
        if all(not v.uses and not any(o is v for o in graph.outputs) for v in node.outputs):
            graph.erase_node(node)
    for c in reversed(graph.constants[n_consts:]):
        if not c.uses and not any(o is c for o in graph.outputs):
            graph.erase_constant(c)


def _unused(graph, v) -> bool:
    return not v.uses and not any(o is v for o in graph.outputs)


def _try_rule(graph, rule: Rule, node) -> Optional[str]:
    """Apply `rule` at `node` if it matches and does not decline; returns describe() of the root."""
    m = rule.pattern.match(node)
    if m is None:
        return None
    old = node.output
    idx, n_nodes, n_consts = graph.nodes.index(node), len(graph.nodes), len(graph.constants)
    with graph.inserting_before(node):
        new = rule.rewrite(graph, m)
    created = len(graph.nodes) - n_nodes
    if new is None or new is old:
        _undo(graph, idx, created, n_consts)
        return None
    if not types_compatible(new.type, old.type):
        raise RewriteError(f"rule '{rule.name}' replaced %{old.name}: {old.type} of "
                           f"{node.describe()} by %{new.name}: {new.type}")
    where = node.describe()
    graph.replace_all_uses_with(old, new)
    for n in m.nodes:             # pre-order: users before their producers
        if n.graph is graph and all(_unused(graph, v) for v in n.outputs):
            graph.erase_node(n)
    for c in m.constants:
        if c in graph.constants and _unused(graph, c):
            graph.erase_constant(c)
    return where


def apply_rules(graph, rules: Sequence[Rule], max_iterations: int = 100) -> RewriteReport:
    """Greedily apply `rules` until none fires or `max_iterations` sweeps have run."""
    rules = list(rules)
    for r in rules:
        if not isinstance(r, Rule):
            raise TypeError(f"not a Rule: {r!r}")
    report, cache = RewriteReport(), {}
    for _ in range(max_iterations):
        report.iterations += 1
        fired = False
        for node in list(graph.nodes):
            if node.graph is not graph or len(node.outputs) != 1:
                continue
            for rule in _rules_for(node.op, rules, cache):
                where = _try_rule(graph, rule, node)
                if where is not None:
                    report.hits.append((rule.name, where))
                    fired = True
                    break
        if not fired:
            return report
    report.hit_cap = True
    return report


@dataclass
class RewritePass(Pass):
    """Base for passes that are a rule table: subclasses set `name`, `opt_level`, a docstring
    and `rules`, and register with @register_pass."""
    rules: ClassVar[Sequence[Rule]] = ()
    max_iterations: int = option(100, "cap on rewrite sweeps over the graph")

    def run(self, graph, ctx) -> bool:
        report = apply_rules(graph, self.get_rules(), self.max_iterations)
        if report.changed:
            ctx.log(str(report), self.name)
        if report.hit_cap:
            ctx.log(f"stopped at the iteration cap ({self.max_iterations}) before a fixpoint",
                    self.name)
        return report.changed

    def get_rules(self) -> Sequence[Rule]:
        return self.rules
