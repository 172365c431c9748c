"""The rewrite engine: patterns as data (`P`), rules (`Rule(name, pattern, rewrite)`), and the
greedy fixpoint driver `apply_rules`. `RewritePass` turns a rule table into a pass."""
from .driver import RewriteError, RewritePass, RewriteReport, Rule, RuleTable, apply_rules
from .pattern import Match, P

Pattern = P

__all__ = ["P", "Pattern", "Match", "Rule", "RuleTable", "RewriteReport", "RewriteError",
           "RewritePass", "apply_rules"]
