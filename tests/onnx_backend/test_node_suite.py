"""ONNX backend node conformance: every onnx node test case, through aicc's reference engine.

One pytest item per case (all 1,884 of onnx 1.23; none skipped): a case must pass unless it
is listed in expected_failures.txt, in which case it is xfail(strict=True) -- so a case that
starts passing fails the suite until the list is updated
(`python -m tests.onnx_backend.run_conformance --update-expected --write-docs`).
"""
import pytest

from tests.onnx_backend.cases import load_cases, read_expected_failures, run_case

pytest.importorskip("onnx")

_CASES = load_cases()
_EXPECTED = read_expected_failures()


def _params():
    for name in _CASES:
        marks = ()
        if name in _EXPECTED:
            marks = (pytest.mark.xfail(strict=True, reason=_EXPECTED[name] or "expected failure"),)
        yield pytest.param(name, marks=marks, id=name)


def test_expected_failures_are_real_cases():
    """Every name in expected_failures.txt is an existing node case (no stale entries)."""
    stale = sorted(set(_EXPECTED) - set(_CASES))
    assert not stale, f"expected_failures.txt lists unknown cases: {stale}"


@pytest.mark.parametrize("name", list(_params()))
def test_node(name):
    run_case(_CASES[name])


@pytest.mark.parametrize("name", [n for n in _CASES if n not in _EXPECTED])
def test_node_after_O3_graph_pipeline(name):
    """Property: every case that passes still passes after the whole -O3 graph pipeline."""
    run_case(_CASES[name], engine="reference-O3")
