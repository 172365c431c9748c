"""The rewrite engine: data rules, commutative matching, captures, one-use, fixpoint, the iteration
cap and the report; every rewritten graph is checked against the reference interpreter."""
import numpy as np
import pytest

from backends.reference import run_graph
from compiler.ir import Graph, TensorType
from compiler.ir.verifier import verify
from compiler.rewrite import P, RewriteError, RewritePass, Rule, apply_rules
from compiler.transform import PassContext, PassManager, register_pass


def is_const(value):
    return lambda a: bool(np.all(a == value))


def same_type_as_root(m, v):
    """x*1 -> x is only right when x already has the result's shape (no broadcasting)."""
    return v if v.type == m.root.output.type else None


MUL_ONE = Rule("mul-one", P("Mul", P.var("x"), P.const("c", pred=is_const(1))),
               lambda g, m: same_type_as_root(m, m["x"]))
ADD_ZERO = Rule("add-zero", P("Add", P.var("x"), P.const("c", pred=is_const(0))),
                lambda g, m: same_type_as_root(m, m["x"]))
ADD_ADD = Rule("add-add-const",
               P("Add", P("Add", P.var("x"), P.const("c1"), one_use=True), P.const("c2")),
               lambda g, m: g.op("Add", m["x"], g.add_constant(m.array("c1") + m.array("c2"))))
SUB_SELF = Rule("sub-self", P("Sub", P.var("x"), P.var("x")),
                lambda g, m: g.add_constant(np.zeros(m.root.output.shape, np.float32)))
SUB_ZERO = Rule("sub-zero", P("Sub", P.var("x"), P.const("c", pred=is_const(0))),
                lambda g, m: same_type_as_root(m, m["x"]))
RULES = [MUL_ONE, ADD_ZERO, ADD_ADD, SUB_SELF, SUB_ZERO]

F32 = np.float32


def graph_with(n=3):
    g = Graph("r")
    return g, g.add_input("x", TensorType("f32", (2, n)))


def const(g, value, shape=(2, 3)):
    return g.add_constant(np.full(shape, value, F32))


def check(g, rules=RULES, **kw):
    """Apply the rules; the result verifies and computes what the original did."""
    feed = {"x": np.random.default_rng(0).standard_normal((2, g.inputs[0].shape[1])).astype(F32)}
    before = run_graph(g, feed)
    report = apply_rules(g, rules, **kw)
    verify(g)
    after = run_graph(g, feed)
    assert after.keys() == before.keys()
    for k in before:
        np.testing.assert_allclose(after[k], before[k], rtol=1e-6, atol=1e-6)
    return report


def ops(g):
    return [n.op for n in g.nodes]


def test_mul_one_and_add_zero():
    g, x = graph_with()
    y = g.op("Add", g.op("Mul", x, const(g, 1)), const(g, 0))
    g.set_outputs([g.op("Relu", y)])
    report = check(g)
    assert ops(g) == ["Relu"] and g.nodes[0].inputs[0] is x
    assert report.counts == {"mul-one": 1, "add-zero": 1}
    assert g.constants == []          # the matched constants died with their nodes


def test_commutative_matching_tries_both_orders():
    g, x = graph_with()
    y = g.op("Mul", const(g, 1), x)                      # constant first
    z = g.op("Add", const(g, 2), g.op("Add", const(g, 3), g.op("Relu", y)))
    g.set_outputs([g.op("Relu", z)])
    report = check(g)
    assert report.counts == {"mul-one": 1, "add-add-const": 1}
    assert ops(g) == ["Relu", "Add", "Relu"]
    assert np.all(g.nodes[1].inputs[1].data == 5)


def test_non_commutative_ops_match_in_order_only():
    g, x = graph_with()
    y = g.op("Sub", const(g, 0), x)                      # 0 - x is not x
    g.set_outputs([g.op("Relu", y)])
    assert not check(g).changed and ops(g) == ["Sub", "Relu"]


def test_repeated_capture_must_bind_the_same_value():
    g, x = graph_with()
    r = g.op("Relu", x)
    same = g.op("Sub", r, r)
    diff = g.op("Sub", r, x)
    g.set_outputs([g.op("Add", g.op("Relu", same), diff)])
    report = check(g)
    assert report.counts == {"sub-self": 1}
    assert ops(g) == ["Relu", "Sub", "Relu", "Add"]
    assert g.nodes[2].inputs[0].is_constant and g.nodes[1].inputs[1] is x


def test_add_chain_folds_to_fixpoint_in_one_call():
    g, x = graph_with()
    v = g.op("Relu", x)
    for k in range(1, 5):
        v = g.op("Add", v, const(g, k))
    g.set_outputs([g.op("Relu", v)])
    report = check(g)
    assert report.counts == {"add-add-const": 3} and not report.hit_cap
    assert report.iterations == 2              # one sweep does it all, a second finds nothing
    assert ops(g) == ["Relu", "Add", "Relu"]
    assert np.all(g.nodes[1].inputs[1].data == 10)
    assert len(g.constants) == 1


def test_one_use_blocks_a_shared_inner_node():
    g, x = graph_with()
    inner = g.op("Add", g.op("Relu", x), const(g, 1))
    outer = g.op("Add", inner, const(g, 2))
    g.set_outputs([g.op("Relu", outer), g.op("Relu", inner)])
    assert not check(g).changed and ops(g).count("Add") == 2


def test_broadcasting_rewrite_declines_and_leaves_no_garbage():
    g, x = graph_with()
    y = g.op("Mul", x, const(g, 1, shape=(3, 2, 3)))    # x*1 broadcasts: not just x
    g.set_outputs([g.op("Relu", y)])
    n_consts = len(g.constants)
    assert not check(g).changed and ops(g) == ["Mul", "Relu"] and len(g.constants) == n_consts


def test_declined_rewrite_removes_what_it_built():
    built = []

    def build_then_decline(g, m):
        built.append(g.op("Neg", m["x"]))
        g.add_constant(np.zeros(3, F32))
        return None
    g, x = graph_with()
    g.set_outputs([g.op("Relu", x)])
    rule = Rule("indecisive", P("Relu", P.var("x")), build_then_decline)
    report = check(g, [rule])
    assert built and not report.changed and ops(g) == ["Relu"] and g.constants == []


def test_iteration_cap_is_reported():
    g, x = graph_with()
    g.set_outputs([g.op("Neg", g.op("Relu", x))])
    forever = Rule("rebuild-relu", P("Relu", P.var("x")), lambda g, m: g.op("Relu", m["x"]))
    report = check(g, [forever], max_iterations=5)
    assert report.hit_cap and report.iterations == 5 and report.counts == {"rebuild-relu": 5}
    assert "stopped at the iteration cap (5)" in str(report)
    assert ops(g) == ["Relu", "Neg"]


def test_report_lists_rules_and_nodes():
    g, x = graph_with()
    a = g.op("Mul", x, const(g, 1), name="scale")
    b = g.op("Add", g.op("Relu", a), const(g, 0))
    g.set_outputs([g.op("Neg", b)])
    report = check(g)
    assert report.hits == [("mul-one", f"Mul node 'scale' (%{a.name})"),
                           ("add-zero", f"Add node (%{b.name})")]
    text = str(report)
    assert text.splitlines()[0] == "2 rewrite(s), fixpoint after 2 iteration(s)"
    assert f"- mul-one on Mul node 'scale' (%{a.name})" in text
    assert f"- add-zero on Add node (%{b.name})" in text


def test_graph_output_keeps_its_name():
    g, x = graph_with()
    r = g.op("Relu", x)
    y = g.op("Add", r, const(g, 0))
    direct = g.op("Add", x, const(g, 0))                 # the graph input becomes an output
    g.set_outputs([y, direct])
    names = g.output_names
    report = check(g)
    assert report.counts == {"add-zero": 2}
    assert g.output_names == names                       # callers still see the same names
    assert g.outputs[0].producer.op == "Relu" and g.outputs[1] is x
    assert f'return %{r.name} as "{names[0]}", %x as "{names[1]}"' in str(g)


def test_attribute_constraints_and_node_captures():
    g, x = graph_with()
    a = g.op("LeakyRelu", x, alpha=0.0)
    b = g.op("LeakyRelu", a)                             # default alpha 0.01: no match
    c = g.op("Relu", g.op("Relu", b))
    g.set_outputs([g.op("Neg", c)])
    rules = [Rule("leaky0", P("LeakyRelu", P.var("x"), attrs={"alpha": 0.0}),
                  lambda g, m: g.op("Relu", m["x"])),
             Rule("relu-relu", P("Relu", P("Relu", P.var("x"), name="inner")),
                  lambda g, m: m["inner"].output),
             Rule("never", P("LeakyRelu", P.var(), attrs={"alpha": lambda v: v > 1}),
                  lambda g, m: pytest.fail("predicate ignored"))]
    report = check(g, rules)
    assert report.counts == {"leaky0": 1, "relu-relu": 1}
    assert ops(g) == ["Relu", "LeakyRelu", "Relu", "Neg"]


def test_rule_returning_a_wrong_type_is_an_error():
    g, x = graph_with()
    g.set_outputs([g.op("Neg", g.op("Relu", x))])
    bad = Rule("bad", P("Relu", P.var("x")), lambda g, m: g.add_constant(np.zeros(4, F32)))
    with pytest.raises(RewriteError, match="rule 'bad' replaced %.*f32\\[2,3\\].*f32\\[4\\]"):
        apply_rules(g, [bad])
    with pytest.raises(TypeError, match="pattern root"):
        Rule("r", P.var("x"), lambda g, m: None)


def test_match_api():
    g, x = graph_with()
    c = const(g, 1)
    y = g.op("Mul", c, x)
    m = P("Mul", P.var("x"), P.const("c")).match(y.producer)
    assert m["x"] is x and m["c"] is c and np.all(m.array("c") == 1)
    assert m.nodes == (y.producer,) and m.constants == (c,)
    with pytest.raises(KeyError, match="captures: "):
        m["nope"]
    assert P("Add", P.var(), P.var()).match(y.producer) is None


@register_pass
class Simplify(RewritePass):
    """Test-only rule-table pass."""
    name = "test-rw-simplify"
    rules = RULES


def test_rewrite_pass_runs_under_the_pass_manager():
    g, x = graph_with()
    g.set_outputs([g.op("Relu", g.op("Mul", x, const(g, 1)))])
    ctx = PassContext()
    PassManager("test-rw-simplify{max-iterations=3}").run(g, ctx)
    assert ops(g) == ["Relu"]
    assert any("mul-one" in r.message for r in ctx.logs)
    assert not Simplify().run(g, ctx)           # nothing left to do: reports no change
