"""Pipeline strings: every option type, defaults, the canonical round trip, every error."""
import pytest

from compiler.errors import PassError
from compiler.transform import (Pass, PassManager, format_pipeline, get_pass_class, list_passes,
                                option, parse_pipeline, register_pass)
from compiler.transform.pipeline import format_value, parse_value


@register_pass
class _AllTypes(Pass):
    """Test-only pass with one option of every supported type.

    Second paragraph of help."""
    name = "test-pp-all-types"
    opt_level = 1
    max_depth: int = option(8, "an int")
    ratio: float = 0.5
    enabled: bool = False
    label: str = "x"
    sizes: list[int] = option([1, 2])
    scales: list[float] = option([])
    names: list[str] = option(["a"])

    def run(self, graph, ctx) -> bool:
        return False


@register_pass
class _NoOptions(Pass):
    name = "test-pp-plain"

    def run(self, graph, ctx) -> bool:
        return False


T = _AllTypes


def test_plain_names_and_whitespace():
    ps = parse_pipeline("  test-pp-plain , test-pp-all-types,test-pp-plain ")
    assert [p.name for p in ps] == ["test-pp-plain", "test-pp-all-types", "test-pp-plain"]
    assert ps[1] == T()                      # every option at its default
    assert parse_pipeline("") == [] and parse_pipeline("   ") == []


def test_defaults_are_fresh_per_instance():
    a, b = T(), T()
    a.sizes.append(99)
    assert b.sizes == [1, 2]


def test_every_option_type():
    (p,) = parse_pipeline('test-pp-all-types{max-depth=-3 ratio=2.5e-1 enabled=true '
                          'label="a b{c}" sizes=32,32 scales=1.5,2 names=x,"y,z"}')
    assert p.max_depth == -3 and isinstance(p.max_depth, int)
    assert p.ratio == 0.25 and isinstance(p.ratio, float)
    assert p.enabled is True
    assert p.label == "a b{c}"
    assert p.sizes == [32, 32]
    assert p.scales == [1.5, 2.0]
    assert p.names == ["x", "y,z"]


@pytest.mark.parametrize("text,value", [("true", True), ("false", False), ("1", True),
                                        ("0", False), ("TRUE", True)])
def test_bool_spellings(text, value):
    (p,) = parse_pipeline(f"test-pp-all-types{{enabled={text}}}")
    assert p.enabled is value


def test_bare_bool_flag_and_empty_values():
    (p,) = parse_pipeline("test-pp-all-types{enabled sizes= label=\"\"}")
    assert p.enabled is True and p.sizes == [] and p.label == ""


def test_round_trip_through_format_pipeline():
    ps = [T(max_depth=3, ratio=0.1, enabled=True, label='we"ird {x}', sizes=[4, 5, 6],
            scales=[0.5, float("inf")], names=["a,b", "c d", ""]),
          _NoOptions(), T()]
    text = format_pipeline(ps)
    assert parse_pipeline(text) == ps
    full = format_pipeline(ps, include_defaults=True)
    assert parse_pipeline(full) == ps
    assert "max-depth=8" in full and "max-depth" not in format_pipeline([T()])


def test_format_only_writes_non_defaults():
    assert format_pipeline([T(sizes=[32, 32], max_depth=8)]) == "test-pp-all-types{sizes=32,32}"
    assert str(T(enabled=True)) == "test-pp-all-types{enabled=true}"
    assert PassManager("test-pp-plain,test-pp-all-types{sizes=3}").pipeline == \
        "test-pp-plain,test-pp-all-types{sizes=3}"


def test_format_value_round_trips_each_type():
    cases = [(7, int), (-1.25, float), (True, bool), ("plain", str), ("needs quoting", str),
             ([1, -2], list[int]), ([1e-5], list[float]), (["p", "q r"], list[str])]
    for v, t in cases:
        assert parse_value(format_value(v, t), t) == v


def test_unknown_pass_lists_known_and_suggests():
    with pytest.raises(PassError) as e:
        parse_pipeline("test-pp-plain,test-pp-plian")
    msg = str(e.value)
    assert "unknown pass 'test-pp-plian'" in msg
    assert "did you mean 'test-pp-plain'?" in msg
    assert "known passes:" in msg and "test-pp-all-types" in msg
    with pytest.raises(PassError, match="unknown pass 'zzz'"):
        get_pass_class("zzz")


def test_unknown_option_names_pass_option_and_known_options():
    with pytest.raises(PassError) as e:
        parse_pipeline("test-pp-all-types{max_depth=3}")
    msg = str(e.value)
    assert "pass 'test-pp-all-types' has no option 'max_depth'" in msg
    assert "did you mean 'max-depth'?" in msg
    assert "known options: max-depth (int), ratio (float), enabled (bool)" in msg
    with pytest.raises(PassError, match="pass 'test-pp-plain' takes no options"):
        parse_pipeline("test-pp-plain{x=1}")


@pytest.mark.parametrize("opt,raw,expected", [
    ("max-depth", "eight", "int (an integer)"),
    ("max-depth", "1.5", "int (an integer)"),
    ("max-depth", "", "int (an integer)"),
    ("ratio", "fast", "float (a number)"),
    ("enabled", "yes", "bool (true, false, 1 or 0)"),
    ("sizes", "32,x", "list[int] (comma-separated integers)"),
    ("scales", "1,,2", "list[float] (comma-separated numbers)"),
])
def test_wrong_type_names_pass_option_type_and_text(opt, raw, expected):
    with pytest.raises(PassError) as e:
        parse_pipeline(f"test-pp-all-types{{{opt}={raw}}}")
    assert str(e.value) == (f"pass 'test-pp-all-types': option '{opt}' expects {expected}, "
                            f"got '{raw}'")


def test_option_errors_duplicate_and_missing_value():
    with pytest.raises(PassError, match="option 'ratio' is given twice"):
        parse_pipeline("test-pp-all-types{ratio=1 ratio=2}")
    with pytest.raises(PassError, match=r"option 'ratio' needs a value \(ratio=<float>\)"):
        parse_pipeline("test-pp-all-types{ratio}")


@pytest.mark.parametrize("text,col,what", [
    ("test-pp-plain,", 15, "expected a pass name, found end of pipeline"),
    (",test-pp-plain", 1, "expected a pass name, found ','"),
    ("test-pp-plain,,cse", 15, "expected a pass name, found ','"),
    ("test-pp-plain test-pp-plain", 15, "expected ',' or end of pipeline after pass"),
    ("test-pp-all-types{ratio=1", 18, "unclosed '{'"),
    ("test-pp-all-types{=1}", 19, "expected an option name or '}'"),
    ("test-pp-all-types{ratio:1}", 24, "expected '=', a space or '}' after option 'ratio'"),
    ('test-pp-all-types{label="abc}', 25, "unterminated string"),
    ("test-pp-all-types{sizes={1}}", 25, "unexpected '{'"),
    ("test-pp-plain}", 14, "expected ',' or end of pipeline"),
])
def test_malformed_strings_report_the_column(text, col, what):
    with pytest.raises(PassError) as e:
        parse_pipeline(text)
    first, shown, caret = str(e.value).split("\n")
    assert first.startswith(f"malformed pass pipeline at column {col}: {what}")
    assert shown == "  " + text
    assert caret.index("^") - 2 == col - 1


def test_pipeline_must_be_text():
    with pytest.raises(PassError, match="must be a string"):
        parse_pipeline(["cse"])


def test_list_passes_describes_options():
    info = {i.name: i for i in list_passes()}["test-pp-all-types"]
    assert info.opt_level == 1 and info.ir == "graph"
    assert info.summary == "Test-only pass with one option of every supported type."
    assert "Second paragraph" in info.doc
    opts = {o.name: o for o in info.options}
    assert opts["max-depth"].type_name == "int" and opts["max-depth"].default_text == "8"
    assert opts["max-depth"].help == "an int"
    assert opts["sizes"].type_name == "list[int]" and opts["sizes"].default_text == "1,2"
    assert opts["enabled"].default_text == "false"
    assert {i.name: i for i in list_passes()}["test-pp-plain"].summary == ""


def test_malformed_pass_classes_are_rejected_at_registration():
    class BadType(Pass):
        name = "test-pp-bad-type"
        sizes: tuple = ()
    with pytest.raises(TypeError, match="option 'sizes' has type"):
        register_pass(BadType)

    class NoDefault(Pass):
        name = "test-pp-no-default"
        n: int
    with pytest.raises(TypeError, match="option 'n' needs a default"):
        register_pass(NoDefault)

    class NoName(Pass):
        pass
    with pytest.raises(TypeError, match="must set a class attribute `name`"):
        register_pass(NoName)

    class Clash(Pass):
        name = "test-pp-plain"
    with pytest.raises(TypeError, match="registered twice"):
        register_pass(Clash)

    class AnnotatedName(Pass):
        name: str = "test-pp-annotated"
    with pytest.raises(TypeError, match="plain class attributes"):
        register_pass(AnnotatedName)
