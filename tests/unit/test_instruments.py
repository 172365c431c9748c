"""The shipped instruments: timing table, IR printing before/after (all, by name, only if changed),
statistics."""
import io
import re
import time

import numpy as np
import pytest

from compiler.errors import PassError
from compiler.ir import Graph, TensorType
from compiler.ir.parser import parse_graph
from compiler.transform import (Pass, PassContext, PassManager, PassStatisticsInstrument,
                                PassTimingInstrument, PrintIRInstrument, register_pass)


@register_pass
class DropIdentity(Pass):
    """Test-only: remove Identity nodes that are not graph outputs."""
    name = "test-in-drop-identity"

    def run(self, graph, ctx) -> bool:
        changed = False
        for n in list(graph.nodes):
            if n.op == "Identity" and not any(o is n.output for o in graph.outputs):
                graph.replace_all_uses_with(n.output, n.inputs[0])
                graph.erase_node(n)
                changed = True
        return changed


@register_pass
class Sleepy(Pass):
    """Test-only: takes `ms` milliseconds and changes nothing."""
    name = "test-in-sleep"
    ms: int = 0

    def run(self, graph, ctx) -> bool:
        time.sleep(self.ms / 1000)
        return False


@register_pass
class Explode(Pass):
    name = "test-in-explode"

    def run(self, graph, ctx) -> bool:
        graph.op("Relu", graph.inputs[0])     # half-done work, then a crash
        raise ValueError("kaput")


@register_pass
class Scramble(Pass):
    name = "test-in-scramble"

    def run(self, graph, ctx) -> bool:
        graph.nodes.reverse()                 # use before definition: fails verification
        return True


def make_graph() -> Graph:
    g = Graph("t")
    x = g.add_input("x", TensorType("f32", (4,)))
    a = g.op("Identity", x, name="id0")
    b = g.op("Add", a, g.add_constant(np.ones(4, np.float32), "one"))
    g.set_outputs([g.op("Relu", g.op("Identity", b))])
    return g


PIPE = "test-in-drop-identity,test-in-sleep{ms=20},test-in-drop-identity"


def run(pipeline, *instruments, **kw):
    g = make_graph()
    PassManager(pipeline).run(g, PassContext(instruments=list(instruments), **kw))
    return g


def dumps(text):
    """[(header, graph text)] of every dump in `text`."""
    parts = re.split(r"^// -----// IR Dump (.*) //----- //\n", text, flags=re.M)
    return list(zip(parts[1::2], parts[2::2]))


def test_timing_table_lists_every_executed_pass_sorted_with_total():
    t = PassTimingInstrument()
    run(PIPE + ",test-in-sleep{ms=5}", t)
    assert [name for name, _ in t.records] == [
        "test-in-drop-identity", "test-in-sleep{ms=20}", "test-in-drop-identity",
        "test-in-sleep{ms=5}"]
    table = t.table()
    assert "Pass execution timing report" in table
    rows = [ln for ln in table.splitlines() if re.match(r"^\s+\d+\.\d{4} \(", ln)]
    names = [r.split()[-1] for r in rows]
    assert names == ["test-in-sleep{ms=20}", "test-in-sleep{ms=5}", "test-in-drop-identity", "Total"]
    assert rows[2].split()[-2] == "2"           # two runs of the same pass are aggregated
    assert rows[-1].split()[-2] == "4"
    assert re.search(r"Total Execution Time: \d+\.\d{4} seconds", table)
    assert t.total >= 0.025
    assert len({len(r) - len(r.split()[-1]) for r in rows}) == 1   # aligned columns


def test_timing_skips_passes_that_did_not_run():
    t = PassTimingInstrument()
    run(PIPE, t, disabled=["test-in-sleep"])
    assert [n for n, _ in t.records] == ["test-in-drop-identity"] * 2
    assert "test-in-sleep" not in t.table()


def test_print_after_all_prints_every_pass_with_mlir_headers():
    out = io.StringIO()
    run(PIPE, PrintIRInstrument(after="all", stream=out))
    d = dumps(out.getvalue())
    assert [h for h, _ in d] == ["After test-in-drop-identity", "After test-in-sleep{ms=20}",
                                 "After test-in-drop-identity"]
    assert out.getvalue().startswith("// -----// IR Dump After test-in-drop-identity //----- //\n")
    g = parse_graph(d[0][1])
    assert [n.op for n in g.nodes] == ["Add", "Relu"]


def test_print_before_selected_names_only():
    out = io.StringIO()
    run(PIPE, PrintIRInstrument(before=["test-in-sleep"], stream=out))
    (head, text), = dumps(out.getvalue())
    assert head == "Before test-in-sleep{ms=20}"
    assert "Identity" not in text                # the first pass already ran


def test_print_before_and_after_all_interleave():
    out = io.StringIO()
    run("test-in-drop-identity", PrintIRInstrument(before="all", after="all", stream=out))
    (h1, t1), (h2, t2) = dumps(out.getvalue())
    assert (h1, h2) == ("Before test-in-drop-identity", "After test-in-drop-identity")
    assert t1.count("Identity(") == 2 and "Identity(" not in t2


def test_only_if_changed():
    out = io.StringIO()
    run(PIPE, PrintIRInstrument(after="all", only_if_changed=True, stream=out))
    assert [h for h, _ in dumps(out.getvalue())] == ["After test-in-drop-identity"]


def test_print_selection_by_name_is_validated():
    with pytest.raises(PassError, match="did you mean 'test-in-sleep'"):
        PrintIRInstrument(after=["test-in-slep"])
    PrintIRInstrument(after=["all"])             # "all" inside a list is fine too


def test_failed_pass_is_dumped_with_failed_header():
    out = io.StringIO()
    with pytest.raises(PassError, match="pass 'test-in-explode' failed: ValueError: kaput"):
        run("test-in-explode", PrintIRInstrument(after="all", stream=out))
    (head, text), = dumps(out.getvalue())
    assert head == "After test-in-explode Failed"
    assert "Relu(%x)" in text


def test_statistics_report_counts_ops_before_and_after():
    s = PassStatisticsInstrument()
    run(PIPE, s)
    assert s.records[0] == ("test-in-drop-identity", {"Add": 1, "Identity": 2, "Relu": 1},
                            {"Add": 1, "Relu": 1})
    rep = s.report().splitlines()
    assert "Pass statistics report" in rep[1]
    assert re.fullmatch(r"  pass\s+nodes\s+ops changed", rep[3])
    assert re.fullmatch(r"  test-in-drop-identity\s+4 -> 2\s+Identity 2->0", rep[4])
    assert re.fullmatch(r"  test-in-sleep\{ms=20\}\s+2 -> 2\s+\(no change\)", rep[5])
    assert len({ln.index("->") for ln in rep[4:]}) == 1          # aligned
    assert PassStatisticsInstrument().report().endswith("(no pass ran)")


def test_instruments_combine():
    t, s, out = PassTimingInstrument(), PassStatisticsInstrument(), io.StringIO()
    run(PIPE, PrintIRInstrument(after=["test-in-drop-identity"], stream=out), t, s)
    assert len(t.records) == len(s.records) == 3
    assert len(dumps(out.getvalue())) == 2


def test_invalid_output_is_dumped_once_before_the_error():
    out = io.StringIO()
    with pytest.raises(PassError, match="pass 'test-in-scramble' produced invalid IR"):
        run("test-in-scramble", PrintIRInstrument(after="all", stream=out))
    (head, text), = dumps(out.getvalue())
    assert head == "After test-in-scramble"
    assert text.index("Relu(") < text.index("Add(")
