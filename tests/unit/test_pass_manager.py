"""PassManager + PassContext: gating, required/disabled, verification, failure handling, the crash
reproducer and the honesty of the changed flag."""
import io

import numpy as np
import pytest

from backends.reference import run_graph
from compiler.errors import PassError, UnsupportedError, VerificationError
from compiler.ir import Graph, TensorType
from compiler.ir.parser import parse_graph
from compiler.ir.printer import print_graph
from compiler.transform import (CrashReproducerInstrument, IRKind, Pass, PassContext,
                                PassInstrument, PassManager, register_ir_kind, register_pass)

RUNS: list = []


@register_pass
class EraseIdentity(Pass):
    """Test-only: bypass and erase Identity nodes that are not graph outputs."""
    name = "test-pm-erase-identity"
    opt_level = 1

    def run(self, graph, ctx) -> bool:
        RUNS.append(self.name)
        changed = False
        for n in list(graph.nodes):
            if n.op != "Identity":
                continue
            if any(o is n.output for o in graph.outputs):
                ctx.log(f"kept {n.describe()}: it is a graph output")
                continue
            graph.replace_all_uses_with(n.output, n.inputs[0])
            graph.erase_node(n)
            changed = True
        return changed


@register_pass
class Level3(Pass):
    name = "test-pm-o3"
    opt_level = 3

    def run(self, graph, ctx) -> bool:
        RUNS.append(self.name)
        return False


@register_pass
class Buggy(Pass):
    """Test-only: moves the last node to the front, so it reads values before they exist."""
    name = "test-pm-buggy"

    def run(self, graph, ctx) -> bool:
        graph.nodes.insert(0, graph.nodes.pop())
        return True


@register_pass
class Crash(Pass):
    name = "test-pm-crash"
    limit: int = 3

    def run(self, graph, ctx) -> bool:
        raise RuntimeError("boom")


@register_pass
class UserError(Pass):
    name = "test-pm-user-error"

    def run(self, graph, ctx) -> bool:
        raise UnsupportedError("op Frobnicate is not supported")


@register_pass
class Liar(Pass):
    name = "test-pm-liar"

    def run(self, graph, ctx) -> bool:
        relu = next(n for n in graph.nodes if n.op == "Relu")
        with graph.inserting_before(relu):
            v = graph.op("Identity", relu.inputs[0])
        relu.set_input(0, v)
        return False


@register_pass
class NoAnswer(Pass):
    name = "test-pm-no-answer"

    def run(self, graph, ctx):
        return None


def make_graph(big: bool = False) -> Graph:
    g = Graph("m")
    x = g.add_input("x", TensorType("f32", (2, 50)))
    data = np.arange(100, dtype=np.float32).reshape(2, 50) / 7 if big else np.ones((2, 50), np.float32)
    w = g.add_constant(data, "w")
    a = g.op("Identity", x)
    b = g.op("Add", a, w)
    c = g.op("Identity", b)
    g.set_outputs([g.op("Relu", c)])
    return g


FEED = {"x": np.linspace(-3, 3, 100, dtype=np.float32).reshape(2, 50)}


@pytest.fixture(autouse=True)
def _clear_runs():
    RUNS.clear()


def ops(g):
    return [n.op for n in g.nodes]


def test_runs_passes_in_order_and_preserves_semantics():
    g = make_graph()
    expected = run_graph(g, FEED)
    out = PassManager("test-pm-erase-identity").run(g, PassContext())
    assert out is g and ops(g) == ["Add", "Relu"]
    (name,) = expected
    np.testing.assert_allclose(run_graph(g, FEED)[name], expected[name])


def test_opt_level_gating():
    ctx = PassContext(opt_level=2)
    PassManager("test-pm-o3,test-pm-erase-identity").run(make_graph(), ctx)
    assert RUNS == ["test-pm-erase-identity"]
    assert any(r.pass_name == "test-pm-o3" and "needs opt level 3, context has 2" in r.message
               for r in ctx.logs)
    RUNS.clear()
    PassManager("test-pm-o3,test-pm-erase-identity").run(make_graph(), PassContext(opt_level=3))
    assert RUNS == ["test-pm-o3", "test-pm-erase-identity"]
    RUNS.clear()
    PassManager("test-pm-o3,test-pm-erase-identity").run(make_graph(), PassContext(opt_level=0))
    assert RUNS == []


def test_disabled_and_required():
    g = make_graph()
    PassManager("test-pm-erase-identity").run(g, PassContext(disabled=["test-pm-erase-identity"]))
    assert RUNS == [] and ops(g).count("Identity") == 2
    PassManager("test-pm-o3,test-pm-erase-identity").run(
        make_graph(), PassContext(opt_level=0, required=["test-pm-o3"]))
    assert RUNS == ["test-pm-o3"]
    RUNS.clear()
    ctx = PassContext(disabled="test-pm-erase-identity")       # one name, not its letters
    assert ctx.disabled == ("test-pm-erase-identity",)
    PassManager("test-pm-erase-identity").run(make_graph(), ctx)
    assert RUNS == []


def test_unknown_names_in_the_context_list_known_passes():
    with pytest.raises(PassError) as e:
        PassContext(disabled=["test-pm-erase-identiy"])
    msg = str(e.value)
    assert "unknown disabled pass 'test-pm-erase-identiy'" in msg
    assert "did you mean 'test-pm-erase-identity'?" in msg
    assert "known passes:" in msg and "test-pm-o3" in msg
    with pytest.raises(PassError, match="unknown required pass 'nope'"):
        PassContext(required=["nope"])
    with pytest.raises(PassError, match="is both required and disabled"):
        PassContext(required=["test-pm-o3"], disabled=["test-pm-o3"])
    with pytest.raises(PassError, match="opt_level"):
        PassContext(opt_level=-1)


def test_verification_failure_names_the_pass_and_the_node():
    with pytest.raises(PassError) as e:
        PassManager("test-pm-erase-identity,test-pm-buggy").run(make_graph(), PassContext())
    msg = str(e.value)
    assert msg.startswith("pass 'test-pm-buggy' produced invalid IR: ")
    assert "Relu node (%3)" in msg
    assert isinstance(e.value.__cause__, VerificationError)
    # with verification off the broken graph goes through
    g = PassManager("test-pm-buggy").run(make_graph(), PassContext(verify=False))
    assert g.nodes[0].op == "Relu"


def test_invalid_input_is_blamed_on_the_input_not_a_pass():
    g = make_graph()
    g.nodes.insert(0, g.nodes.pop())
    with pytest.raises(VerificationError, match="before any pass ran.*Relu node"):
        PassManager("test-pm-erase-identity").run(g, PassContext())


def test_crash_and_user_errors_are_wrapped_and_chained():
    with pytest.raises(PassError) as e:
        PassManager("test-pm-crash").run(make_graph(), PassContext())
    assert str(e.value) == "pass 'test-pm-crash' failed: RuntimeError: boom"
    assert isinstance(e.value.__cause__, RuntimeError)
    with pytest.raises(PassError) as e:
        PassManager("test-pm-user-error").run(make_graph(), PassContext())
    assert str(e.value) == "pass 'test-pm-user-error' failed: op Frobnicate is not supported"
    assert isinstance(e.value.__cause__, UnsupportedError)


class Recorder(PassInstrument):
    def __init__(self):
        self.events = []

    def enter(self, ctx):
        self.events.append("enter")

    def exit(self, ctx):
        self.events.append("exit")

    def run_before_pass(self, p, ir):
        self.events.append(("before", p.name))

    def run_after_pass(self, p, ir, changed):
        self.events.append(("after", p.name, changed))

    def on_failure(self, p, ir, exc):
        self.events.append(("failure", p.name, type(exc).__name__))
        return "recorder saw it"


def test_hooks_order_and_failure_hook():
    rec = Recorder()
    ctx = PassContext(instruments=[rec])
    with pytest.raises(PassError) as e:
        PassManager("test-pm-erase-identity,test-pm-crash,test-pm-o3").run(make_graph(), ctx)
    assert rec.events == ["enter", ("before", "test-pm-erase-identity"),
                          ("after", "test-pm-erase-identity", True), ("before", "test-pm-crash"),
                          ("failure", "test-pm-crash", "RuntimeError"), "exit"]
    assert str(e.value).endswith("\nnote: recorder saw it")


def test_instruments_enter_once_per_context():
    rec = Recorder()
    with PassContext(instruments=[rec]) as ctx:
        assert PassContext.current() is ctx
        PassManager("test-pm-erase-identity").run(make_graph())        # uses the current context
        PassManager("test-pm-erase-identity").run(make_graph(), ctx)
    assert rec.events[0] == "enter" and rec.events[-1] == "exit"
    assert rec.events.count("enter") == 1 and len(rec.events) == 6
    assert PassContext.current() is not ctx


def test_nested_contexts():
    with PassContext(opt_level=1) as outer:
        with PassContext(opt_level=3) as inner:
            assert PassContext.current() is inner
        assert PassContext.current() is outer
    assert PassContext.current().opt_level == 2            # a fresh default


def test_crash_reproducer_file_reparses_and_reproduces(tmp_path):
    path = tmp_path / "sub" / "repro.ir"
    g = make_graph(big=True)
    ctx = PassContext(instruments=[CrashReproducerInstrument(path)])
    with pytest.raises(PassError) as e:
        PassManager("test-pm-erase-identity,test-pm-crash{limit=5}").run(g, ctx)
    assert f"crash reproducer written to {path}" in str(e.value)
    text = path.read_text()
    first = text.splitlines()[0]
    assert first == '// configuration: --passes "test-pm-crash{limit=5}"'
    pipeline = first.split('--passes "', 1)[1].rstrip('"')
    repro = parse_graph(text)                      # no weights file needed: constants are inline
    assert ops(repro) == ["Add", "Relu"]           # the input of the failing pass, not the original
    np.testing.assert_array_equal(repro.value("w").data, g.value("w").data)
    assert print_graph(repro, elide_large=False) == print_graph(g, elide_large=False)
    with pytest.raises(PassError, match="pass 'test-pm-crash' failed: RuntimeError: boom"):
        PassManager(pipeline).run(repro, PassContext())


def test_crash_reproducer_on_verification_failure(tmp_path):
    path = tmp_path / "repro.ir"
    ctx = PassContext(instruments=[CrashReproducerInstrument(path)])
    with pytest.raises(PassError, match="produced invalid IR"):
        PassManager("test-pm-buggy").run(make_graph(), ctx)
    assert path.read_text().startswith('// configuration: --passes "test-pm-buggy"\n')
    assert ops(parse_graph(path.read_text())) == ["Identity", "Add", "Identity", "Relu"]


class HonestyCheck(PassInstrument):
    def run_before_pass(self, p, ir):
        self.before = print_graph(ir)

    def run_after_pass(self, p, ir, changed):
        assert changed == (print_graph(ir) != self.before), p.name


def test_changed_flag_is_honest():
    rec = Recorder()
    g = make_graph()
    PassManager("test-pm-erase-identity,test-pm-erase-identity").run(
        g, PassContext(instruments=[HonestyCheck(), rec], check_changed=True))
    assert [e for e in rec.events if e[0] == "after"] == [
        ("after", "test-pm-erase-identity", True), ("after", "test-pm-erase-identity", False)]


def test_dishonest_or_missing_changed_flag_is_caught():
    with pytest.raises(PassError, match="'test-pm-liar' changed the IR but reported no change"):
        PassManager("test-pm-liar").run(make_graph(), PassContext(check_changed=True))
    PassManager("test-pm-liar").run(make_graph(), PassContext())   # unchecked by default
    with pytest.raises(PassError, match="'test-pm-liar' changed the IR"):
        PassManager("test-pm-liar").run(make_graph(), PassContext(debug=True, log_stream=io.StringIO()))
    with pytest.raises(PassError, match=r"returned None from run\(\); it must return True or False"):
        PassManager("test-pm-no-answer").run(make_graph(), PassContext())


def test_log_prints_only_with_debug():
    g = make_graph()
    g.set_outputs([g.nodes[2].output])                 # the second Identity is now the output
    g.erase_node(g.nodes[3])
    stream = io.StringIO()
    ctx = PassContext(debug=True, log_stream=stream)
    PassManager("test-pm-erase-identity").run(g, ctx)
    assert "[test-pm-erase-identity] kept Identity node (%2): it is a graph output" in stream.getvalue()
    stream = io.StringIO()
    quiet = PassContext(log_stream=stream)
    PassManager("test-pm-erase-identity").run(make_graph(), quiet)
    assert stream.getvalue() == "" and quiet.logs


def test_manager_checks_the_ir_kind():
    with pytest.raises(PassError, match="transforms graph IR, but was given list"):
        PassManager("test-pm-o3").run([1, 2], PassContext())


# ---- the infrastructure is IR-agnostic: a toy IR kind (a list of op names) ------------------
register_ir_kind(IRKind("test-toy", lambda x: isinstance(x, list), lambda x, elide: " ".join(x),
                        lambda x: None, lambda x: {op: x.count(op) for op in set(x)}))


@register_pass
class ToyDrop(Pass):
    name = "test-pm-toy-drop"
    ir = "test-toy"
    op: str = "nop"

    def run(self, ir, ctx) -> bool:
        n = len(ir)
        ir[:] = [o for o in ir if o != self.op]
        return len(ir) != n


def test_other_ir_kinds_reuse_the_manager():
    prog = ["load", "nop", "add", "nop"]
    assert PassManager("test-pm-toy-drop").run(prog, PassContext()) == ["load", "add"]
    with pytest.raises(PassError, match="one IR kind"):
        PassManager("test-pm-toy-drop,test-pm-o3")
