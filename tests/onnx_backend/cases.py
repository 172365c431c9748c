"""Shared machinery for the ONNX backend node conformance suite.

The node cases come from `onnx.backend.test.loader.load_model_tests(kind="node")`, which
onnx >= 1.23 builds in memory (model + data sets), so nothing is downloaded or read from disk.
Each case is run through `AiccBackend` and compared the way onnx's own runner does it
(`Runner.assert_similar_outputs`, rtol/atol from the case: 1e-3 / 1e-7 by default).
"""
from __future__ import annotations

import os
import re
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import onnx

from tests.onnx_backend.backend import AiccBackend

HERE = os.path.dirname(os.path.abspath(__file__))
EXPECTED_FAILURES = os.path.join(HERE, "expected_failures.txt")
# cases that pass on the reference interpreter but not compiled to native code
EXPECTED_FAILURES_COMPILED = os.path.join(HERE, "expected_failures_compiled.txt")


def expected_failures_path(engine: str) -> str:
    return EXPECTED_FAILURES_COMPILED if engine == "compiled" else EXPECTED_FAILURES

_CASES: Optional[Dict[str, object]] = None


def load_cases() -> "OrderedDict[str, object]":
    """{case name: onnx TestCase} for every node case, sorted by name (cached)."""
    global _CASES
    if _CASES is None:
        from onnx.backend.test.loader import load_model_tests
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cases = load_model_tests(kind="node")
        _CASES = OrderedDict(sorted((c.name, c) for c in cases))
    return _CASES


def case_op_type(case) -> str:
    """The operator a case tests: the model's node op types (domain-qualified if not ai.onnx),
    joined with '+' when a case uses several (e.g. expanded function bodies)."""
    ops = []
    for n in case.model.graph.node:
        op = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}"
        if op not in ops:
            ops.append(op)
    return "+".join(ops) if len(ops) <= 3 else "+".join(ops[:3]) + "+..."


def _normalize(item):
    if isinstance(item, onnx.TensorProto):
        return onnx.numpy_helper.to_array(item)
    return item


def run_case(case, engine: str = "reference") -> None:
    """Run one node case through aicc; raises on any failure (like onnx's runner)."""
    from onnx.backend.test.runner import Runner
    rep = AiccBackend.prepare(case.model, "CPU", engine=engine)
    for inputs, ref_outputs in case.data_sets:
        inputs_ = [_normalize(x) for x in inputs]
        refs = [_normalize(x) for x in ref_outputs]
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            outputs = rep.run(inputs_)
        Runner.assert_similar_outputs(refs, list(outputs), rtol=case.rtol, atol=case.atol,
                                      model_dir=case.name)


@dataclass
class Result:
    name: str
    op: str
    ok: bool
    reason: str = ""
    seconds: float = 0.0


_NUM = re.compile(r"\b\d+(\.\d+)?\b")


def _first_words(text: str, n: int = 8) -> str:
    text = re.sub(r"<[^>]*>", "…", text)          # <unnamed Op -> 'y'>, <ModelProto 'm'>
    text = re.sub(r"'[^']*'", "'…'", text)        # quoted tensor / node names
    text = re.sub(r"\([^)]*\)", "", text)         # parenthesized detail
    text = _NUM.sub("N", text)
    return " ".join(text.split()[:n]).rstrip(",.;:")


def failure_reason(exc: BaseException) -> str:
    """A normalized one-line reason, so that failures group: the unsupported op (or domain,
    element type, value kind) for unsupported features, a fixed phrase for output mismatches,
    else the exception type plus the first words of its message (names and numbers elided)."""
    msg = " ".join(str(exc).split())
    m = re.search(r"cannot import \(\d+ nodes?\): (.*)", msg)
    if m:
        ops = re.findall(r"(?:^|; )([\w.:]+) x\d+", m.group(1))
        domains = sorted({o.split("::")[0] for o in ops if "::" in o})
        plain = sorted({o for o in ops if "::" not in o})
        parts = [f"unsupported op: {', '.join(plain)}"] if plain else []
        parts += [f"unsupported domain: {', '.join(domains)}"] if domains else []
        return "; ".join(parts) or "unsupported op: " + _first_words(m.group(1))
    m = re.search(r"has element type (\w+)|casts (?:to|from) (\w+)", msg)
    if m and "not support" in msg:
        return f"unsupported element type: {m.group(1) or m.group(2)}"
    m = re.search(r"has type (\w+); only tensors are supported", msg)
    if m:
        return f"unsupported value type: {m.group(1)} (only tensors)"
    m = re.search(r"in its function body, ([\w, ]+): not supported", msg)
    if m:
        return f"unsupported op in function body: {m.group(1).strip()}"
    if isinstance(exc, AssertionError):
        if "incorrect shape" in msg:
            return "wrong output shape"
        if "Not equal to tolerance" in msg or "Arrays are not equal" in msg:
            return "wrong output values"
        if "Items are not equal" in msg:
            return "wrong output dtype or count"
        return "output mismatch"
    m = re.search(r"\(([\w.:]+), opset \d+\): (.*)", msg)
    if m:
        return f"{type(exc).__name__}: {m.group(1)}: {_first_words(m.group(2))}"
    if msg.startswith("<ModelProto") and ": " in msg:
        msg = msg.split(": ", 1)[1]
    return f"{type(exc).__name__}: {_first_words(msg)}"


def run_one(name: str, engine: str = "reference") -> Result:
    case = load_cases()[name]
    op = case_op_type(case)
    t0 = time.perf_counter()
    try:
        run_case(case, engine)
    except Exception as exc:  # noqa: BLE001 - every failure is a conformance result
        reason = failure_reason(exc)
        if reason.startswith(("wrong output", "output mismatch")):
            reason += f": {op}"       # numeric mismatches group by operator
        return Result(name, op, False, reason, time.perf_counter() - t0)
    return Result(name, op, True, "", time.perf_counter() - t0)


def read_expected_failures(path: str = EXPECTED_FAILURES) -> Dict[str, str]:
    """{case name: reason} from expected_failures.txt (`## reason` headers, then names)."""
    out: Dict[str, str] = {}
    if not os.path.exists(path):
        return out
    reason = ""
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("##"):
                reason = line.lstrip("#").strip()
            elif line and not line.startswith("#"):
                out[line] = reason
    return out


def write_expected_failures(results: List[Result], path: str = EXPECTED_FAILURES,
                            engine: str = "reference") -> None:
    groups: Dict[str, List[str]] = {}
    for r in results:
        if not r.ok:
            groups.setdefault(r.reason, []).append(r.name)
    what = ("cases that pass on the reference interpreter but not compiled to native code"
            if engine == "compiled" else "cases aicc (reference engine) does not pass")
    lines = [f"# ONNX backend node conformance: {what}.",
             "# Generated by `python -m tests.onnx_backend.run_conformance --update-expected"
             + (" --engine compiled" if engine == "compiled" else "") + "`.",
             "# Format: `## <reason>` then one case name per line. A listed case is",
             "# xfail(strict=True) in tests/onnx_backend/test_node_suite.py, so a case that",
             "# starts passing must be removed from this list.", ""]
    for reason in sorted(groups, key=lambda k: (-len(groups[k]), k)):
        lines.append(f"## {reason}")
        lines.extend(sorted(groups[reason]))
        lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))
