"""Do two accesses that touch the same element always do so in the same iteration of some
loops? The test behind parallel, vectorize and reorder legality.

For accesses a1 (in iteration x) and a2 (in iteration x') of the same buffer, every index must
be equal: a1.idx[d](x) == a2.idx[d](x'). Variables of loops enclosing the analysed ones are
`shared` (the same in x and x'); every other variable gets a renamed copy on the a2 side. We
then *pin* variables: when an equation's difference has the form k * (t - t') + rest with
|rest| < |k| over all ranges, t == t' follows; a pinned variable is unified with its copy,
which may pin more. Non-variable atoms (`e / c`, `e % c` from fused loops) are pinned the same
way, and once both `e / c` and `e % c` are pinned, `e == e'` becomes a new equation. The pair is
proven harmless when every target variable gets pinned, or when some equation can never hold.
Anything else (unknown indices, data-dependent ones) counts as a possible conflict."""
from __future__ import annotations

from typing import Optional

from compiler.loop.arith import bounds, from_linear, linear
from compiler.loop.expr import Binary, Expr, IntImm, Var
from compiler.loop.printer import format_node
from compiler.loop.simplify import simplify
from compiler.loop.visitor import free_vars, map_children, substitute


def _replace_atoms(e: Expr, atoms: dict) -> Expr:
    if not atoms:
        return e
    hit = atoms.get(e) if not isinstance(e, Var) else None
    if hit is not None:
        return hit
    return map_children(e, lambda c: _replace_atoms(c, atoms))


def same_iteration(a1, a2, targets, shared: set, ranges: dict) -> bool:
    """True when a1 and a2 can only touch a common element with equal values of every
    variable in `targets` (shared variables being equal on both sides)."""
    if not targets:
        return True
    if not (a1.known and a2.known) or len(a1.indices) != len(a2.indices):
        return False
    rename = {v: Var(v.name + "'", v.dtype) for e in a2.indices for v in free_vars(e)
              if v not in shared}
    for v in list(rename):
        if v not in ranges:
            return False
    rng = dict(ranges)
    rng.update({v2: ranges[v] for v, v2 in rename.items()})
    copies = set(rename.values())
    eqs = [(e1, substitute(e2, rename)) for e1, e2 in zip(a1.indices, a2.indices)]
    unify: dict = {}                 # renamed variable -> original (pinned)
    atoms: dict = {}                 # side-2 atom -> side-1 atom (pinned)
    divmod_pinned: set = set()
    remaining = set(targets)

    def side2(e):
        return _replace_atoms(substitute(e, unify), atoms)

    for _ in range(8 * (len(rename) + len(eqs)) + 8):
        progress = False
        for e1, e2 in list(eqs):
            d = simplify(e1 - side2(e2), rng)
            terms, c = linear(d)
            if not terms:
                if c != 0:
                    return True          # the two indices always differ
                continue
            lo, hi = bounds(d, rng)
            if (lo is not None and lo > 0) or (hi is not None and hi < 0):
                return True
            for atom, k in terms.items():
                if any(v in copies for v in free_vars(atom)):
                    continue
                partner = side2(substitute(atom, rename))
                if partner == atom or terms.get(partner) != -k:
                    continue
                rest = {t: v for t, v in terms.items() if not (t == atom or t == partner)}
                rlo, rhi = bounds(from_linear(rest, c), rng)
                if rlo is None or rhi is None or not (-abs(k) < rlo and rhi < abs(k)):
                    continue
                if isinstance(atom, Var):
                    unify[rename[atom]] = atom
                    remaining.discard(atom)
                else:
                    atoms[partner] = atom
                    if (isinstance(atom, Binary) and atom.op in ("/", "%")
                            and isinstance(atom.b, IntImm)):
                        key = (atom.a, atom.b.value)
                        if (key, "/" if atom.op == "%" else "%") in divmod_pinned:
                            eqs.append((atom.a, substitute(atom.a, rename)))
                        divmod_pinned.add((key, atom.op))
                progress = True
                break
            if not remaining:
                return True
        if not progress:
            return False
    return False


def first_conflict(col, targets, shared: set) -> Optional[str]:
    """A description of two accesses under the analysed statement that may touch the same
    element in iterations differing in a target loop, or None when there are none."""
    by_buf: dict = {}
    for a in col.accesses:
        if a.buffer not in col.private:
            by_buf.setdefault(a.buffer, []).append(a)
    for buf, accs in by_buf.items():
        if not any(a.write for a in accs):
            continue
        uniq, seen = [], set()
        for a in accs:
            key = (a.write, a.indices, a.blocks[-1].name if a.blocks else None)
            if key not in seen:
                seen.add(key)
                uniq.append(a)
        for x, a1 in enumerate(uniq):
            for a2 in uniq[x:]:
                if (a1.write or a2.write) and not same_iteration(a1, a2, targets, shared,
                                                                  col.ranges):
                    return (f"{_describe(a1)} and {_describe(a2)} may be the same element in "
                            "different iterations")
    return None


def _describe(a) -> str:
    if a.indices is None:
        return f"%{a.buffer.name} passed to a call ({a.where()})"
    idx = ", ".join(format_node(i) for i in (a.raw or a.indices))
    return f"%{a.buffer.name}[{idx}] {a.where()}"
