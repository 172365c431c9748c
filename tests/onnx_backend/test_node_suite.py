"""ONNX backend node conformance: every onnx node test case, through aicc's reference engine,
after the -O3 graph pipeline, and compiled to native code.

One pytest item per case (all 1,884 of onnx 1.23; none skipped): a case must pass unless it
is listed in expected_failures.txt, in which case it is xfail(strict=True) -- so a case that
starts passing fails the suite until the list is updated
(`python -m tests.onnx_backend.run_conformance --update-expected --write-docs`).
"""
import pytest

from tests.onnx_backend.cases import (EXPECTED_FAILURES_COMPILED, load_cases,
                                      read_expected_failures, run_case)

pytest.importorskip("onnx")

_CASES = load_cases()
_EXPECTED = read_expected_failures()
_EXPECTED_COMPILED = read_expected_failures(EXPECTED_FAILURES_COMPILED)


def _params():
    for name in _CASES:
        marks = ()
        if name in _EXPECTED:
            marks = (pytest.mark.xfail(strict=True, reason=_EXPECTED[name] or "expected failure"),)
        yield pytest.param(name, marks=marks, id=name)


def test_expected_failures_are_real_cases():
    """Every name in expected_failures.txt is an existing node case (no stale entries), and
    the compiled list names only cases the reference interpreter passes."""
    stale = sorted(set(_EXPECTED) - set(_CASES))
    assert not stale, f"expected_failures.txt lists unknown cases: {stale}"
    bad = sorted(set(_EXPECTED_COMPILED) - (set(_CASES) - set(_EXPECTED)))
    assert not bad, f"expected_failures_compiled.txt lists cases it should not: {bad}"


@pytest.mark.parametrize("name", list(_params()))
def test_node(name):
    run_case(_CASES[name])


@pytest.mark.parametrize("name", [n for n in _CASES if n not in _EXPECTED])
def test_node_after_O3_graph_pipeline(name):
    """Property: every case that passes still passes after the whole -O3 graph pipeline."""
    run_case(_CASES[name], engine="reference-O3")


def _compiled_params():
    for name in _CASES:
        if name in _EXPECTED:
            continue
        marks = ()
        if name in _EXPECTED_COMPILED:
            marks = (pytest.mark.xfail(strict=True, reason=_EXPECTED_COMPILED[name]),)
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("name", list(_compiled_params()))
def test_node_compiled(name):
    """Every case the reference interpreter passes also passes compiled to native code (or is
    listed in expected_failures_compiled.txt with its reason)."""
    run_case(_CASES[name], engine="compiled")
