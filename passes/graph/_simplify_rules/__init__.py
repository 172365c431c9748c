"""The simplify pass's rule tables, as data: each module holds `RULES` (a list of
`compiler.rewrite.Rule`, tried in order) and `DOCS` ({rule name: (replacement, notes)}) for the
generated rule-table docs. Several rules may share a name (one per exporter variant of a
pattern); disabling a name disables them all."""
from __future__ import annotations

from . import batchnorm, identities, layout, raise_gelu, raise_norm, reassociate, strength

# (theme, module) in the order their rules are tried at a node
TABLES = (
    ("identities", identities),
    ("layout", layout),
    ("strength reduction", strength),
    ("reassociation", reassociate),
    ("batchnorm folding", batchnorm),
    ("raising: normalisation", raise_norm),
    ("raising: GELU", raise_gelu),
)


def all_rules() -> list:
    return [r for _, mod in TABLES for r in mod.RULES]


def rule_names() -> list:
    """Distinct rule names, in table order."""
    seen: dict = {}
    for r in all_rules():
        seen.setdefault(r.name, None)
    return list(seen)


def rule_docs() -> dict:
    out: dict = {}
    for _, mod in TABLES:
        out.update(mod.DOCS)
    return out


__all__ = ["TABLES", "all_rules", "rule_names", "rule_docs"]
