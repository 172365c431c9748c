"""simplify: algebraic and structural simplification by a table of rewrite rules.

The rules are data (passes/graph/_simplify_rules/, one module a theme): identities (x*1, x+0,
Neg(Neg(x)), Cast chains...), layout no-ops (Transpose/Reshape chains, full Slices, zero Pads...),
strength reduction (Pow by 2/1/0.5/-1, division by a float constant), reassociation of constant
chains, BatchNormalization folding into Conv/Gemm/MatMul, and raising of the decomposed
LayerNormalization, GELU and Softmax that exporters emit to single ops. Every rule preserves
numerics and types and declines when a dtype, shape or broadcast condition does not hold.

`rule_table_markdown()` renders the table for the docs."""
from __future__ import annotations

from compiler.errors import PassError, ShapeInferenceError
from compiler.rewrite import RewritePass, RewriteReport, Rule, apply_rules
from compiler.transform import option, register_pass
from compiler.transform.registry import did_you_mean

from ._simplify_rules import TABLES, all_rules, rule_docs, rule_names


@register_pass
class Simplify(RewritePass):
    """Algebraic simplification, BN folding and raising of decomposed ops (rule table).

    Rewrites to a fixpoint with the rules of passes/graph/_simplify_rules (identities, layout
    no-ops, strength reduction, constant reassociation, BatchNormalization folding, raising of
    decomposed LayerNormalization / GELU / Softmax). Nodes a rewrite leaves dead are removed.
    Disable rules by name: simplify{disable=fold-bn-conv,raise-gelu}."""
    name = "simplify"
    opt_level = 1
    max_iterations: int = option(100, "cap on rewrite sweeps over the graph")
    disable: list[str] = option([], "rule names to skip, comma separated (an unknown name "
                                    "lists the rules)")

    def __post_init__(self):
        if self.max_iterations < 1:
            raise PassError(f"pass 'simplify': max-iterations must be >= 1, got "
                            f"{self.max_iterations}")
        known = rule_names()
        for n in self.disable:
            if n not in known:
                raise PassError(f"pass 'simplify': unknown rule '{n}' in disable"
                                f"{did_you_mean(n, known)}; rules: {', '.join(known)}")

    def get_rules(self):
        off = set(self.disable)
        return [r for r in all_rules() if r.name not in off]

    def run(self, graph, ctx) -> bool:
        rules = [Rule(r.name, r.pattern, _declining_on_shape_errors(r, ctx, self.name))
                 for r in self.get_rules()]
        report = RewriteReport()
        for _ in range(self.max_iterations):
            dead_before = _dead(graph)
            sweep = apply_rules(graph, rules, max_iterations=1)
            report.iterations += 1
            report.hits += sweep.hits
            if not sweep.hits:
                break
            _erase_newly_dead(graph, dead_before)
        else:
            report.hit_cap = True
        if report.changed:
            ctx.log(str(report), self.name)
        if report.hit_cap:
            ctx.log(f"stopped at the iteration cap ({self.max_iterations}) before a fixpoint",
                    self.name)
        return report.changed


def _declining_on_shape_errors(rule, ctx, pass_name):
    """A rewrite that declines (and says why) when an op's shape rule rejects a node it tries to
    build, instead of failing the pass; the driver then removes what it had created."""
    def rewrite(graph, m):
        try:
            return rule.rewrite(graph, m)
        except ShapeInferenceError as e:
            ctx.log(f"rule {rule.name} declined at {m.root.describe()}: {e}", pass_name)
            return None
    return rewrite


# ---- dead-code left behind by rewrites --------------------------------------------------------
# The driver erases the nodes a pattern matched once the root is replaced, but not nodes a
# pattern shares (x - mean feeding both the variance and the division) or reaches through a
# predicate (the Conv under a BatchNormalization). After each sweep, what the sweep made dead is
# removed; what was dead before is left to dce.
def _live(graph):
    live_vals = {id(v) for v in graph.outputs}
    live_nodes = set()
    for node in reversed(graph.nodes):
        if any(id(o) in live_vals for o in node.outputs):
            live_nodes.add(node)
            live_vals.update(id(v) for v in node.inputs if v is not None)
    return live_nodes, live_vals


def _dead(graph) -> set:
    live_nodes, live_vals = _live(graph)
    return ({n for n in graph.nodes if n not in live_nodes}
            | {c for c in graph.constants if id(c) not in live_vals})


def _erase_newly_dead(graph, dead_before: set) -> None:
    live_nodes, live_vals = _live(graph)
    for node in reversed(list(graph.nodes)):
        if node not in live_nodes and node not in dead_before and all(
                not v.uses for v in node.outputs):
            graph.erase_node(node)
    for c in list(graph.constants):
        if id(c) not in live_vals and c not in dead_before and not c.uses:
            graph.erase_constant(c)


# ---- docs ------------------------------------------------------------------------------------
def format_pattern(p) -> str:
    """A pattern as the docs show it: Mul(x, 1), BatchNormalization(Conv(x, W, b?), ...)."""
    if p.kind == "node":
        attrs = "".join(f" {{{k}={v}}}" for k, v in p.attrs.items())
        return f"{'|'.join(p.ops)}({', '.join(format_pattern(i) for i in p.inputs)}){attrs}"
    label = getattr(p.pred, "label", None)
    return label or p.name or "_"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rule_table_markdown() -> str:
    """A markdown table of every simplify rule: name | pattern | replacement | notes.
    Rules with exporter variants show the first pattern and how many variants there are."""
    docs = rule_docs()
    lines = ["| rule | pattern | replacement | notes |", "| --- | --- | --- | --- |"]
    for theme, mod in TABLES:
        by_name: dict = {}
        for r in mod.RULES:
            by_name.setdefault(r.name, []).append(r)
        for name, rules in by_name.items():
            replacement, notes = docs.get(name, ("", ""))
            pattern = f"`{format_pattern(rules[0].pattern)}`"
            if len(rules) > 1:
                pattern += f" (+{len(rules) - 1} variant{'s' if len(rules) > 2 else ''})"
            notes = f"*{theme}*" + (f"; {notes}" if notes else "")
            lines.append(f"| `{name}` | {_cell(pattern)} | `{_cell(replacement)}` | "
                         f"{_cell(notes)} |")
    return "\n".join(lines) + "\n"
