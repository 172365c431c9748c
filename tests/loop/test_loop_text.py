"""Loop IR text format: printer/parser round trip for every statement and expression kind,
precedence, name disambiguation, and parse errors with line:column."""
import numpy as np
import pytest

from compiler.errors import IRParseError
from compiler.ir import dtypes
from compiler.loop import (Allocate, Block, Broadcast, Buffer, CallFunc, Evaluate, For,
                           IfThenElse, IterVar, LetStmt, LoopFunc, LoopModule, Ramp, Seq, Var,
                           call, cast, const, loop, max_, min_, parse_module, print_module,
                           select, seq, verify)
from compiler.loop.expr import Binary, FloatImm, IntImm, Not

HAND_WRITTEN = """
// the example of the design issue
func @add_relu(%x: f32[4,8], %y: f32[4,8], %out: f32[4,8]) {
  for %i in 0..4 parallel {
    for %j in 0..8 vectorized {
      block "add_relu"(%vi: spatial[4] = %i, %vj: spatial[8] = %j) {
        %out[%vi, %vj] = max(%x[%vi, %vj] + %y[%vi, %vj], 0.0f32)
      }
    }
  }
}
"""


def roundtrip(m, weights=None):
    text = print_module(m)
    m2 = parse_module(text, weights=weights if weights is not None else m.weights())
    assert print_module(m2) == text
    verify(m2)
    return text, m2


def everything_module():
    """A module using every statement and expression kind."""
    m = LoopModule("all", arena_size=0)
    w_big = m.add_const("w_big", np.arange(64, dtype=np.float32).reshape(8, 8))
    w_small = m.add_const("w_small", np.array([1.5, -2.0, np.inf, np.nan], np.float32))
    t = m.add_arena_buffer("t", "f32", (8,), offset=64)
    x = Buffer("x", "f32", (8, 8))
    y = Buffer("y", "i32", (8,), strides=(2,))
    out = Buffer("out", "f32", (8, 8))
    flags = Buffer("flags", "bool", (8,))

    i, j, k = Var("i"), Var("j"), Var("k")
    vi, vj, vk = Var("vi"), Var("vj"), Var("vk")
    tval = Var("tv", dtypes.f32)
    tmp = Buffer("tmp", "f32", (8,), scope="local")
    vec = Ramp(IntImm(0), IntImm(1), 8)
    exprs = [
        x[i, j] * 2.0 + w_big[i, j] / 3.0 - 1e-05,
        select(x[i, j].lt(0.0).logical_or(Not(flags[j])), -x[i, j], x[i, j]),
        min_(max_(x[i, j], FloatImm(-np.inf)), FloatImm(np.inf)),
        cast("f32", y[j] // 3 + y[j] % IntImm(-4, dtypes.i32)),
        call("exp", x[i, j]) + call("fma", x[i, j], x[i, j], w_small[j % 4]),
        call("erf", call("tanh", call("sigmoid", x[i, j]))) * FloatImm(np.nan),
        cast("f32", cast("i8", IntImm(-3, dtypes.i8)) + IntImm(127, dtypes.i8)),
        (x[i, j] + 1.0) * (x[i, j] - (x[i, j] - 2.0)),
        select(Not(i.lt(j)).logical_and(i.ne(j)), 1.0, 0.0),
    ]
    body = seq(
        For(i, 8, For(j, 8, Block(
            "e", [IterVar(vi, 8, "spatial"), IterVar(vj, 8, "spatial")], [i, j],
            seq(*[out.store((vi, vj), _rebind(e, {i: vi, j: vj})) for e in exprs]),
            predicate=(i * 8 + j).lt(64))), "parallel"),
        For(i, 8, For(j, 8, For(k, 8, Block(
            "mm", [IterVar(vi, 8, "spatial"), IterVar(vj, 8, "spatial"), IterVar(vk, 8, "reduce")],
            [i, j, k], out.store((vi, vj), out[vi, vj] + x[vi, vk] * w_big[vk, vj]),
            init=out.store((vi, vj), 0.0))))),
        For(i, 8, LetStmt(tval, x[i, 0] * 2.0, Allocate(tmp, seq(
            tmp.store((i,), tval),
            IfThenElse(i.lt(4), t.store((i,), tmp[i]), t.store((i,), 0.0 - tmp[i])),
            IfThenElse(i.eq(0), Evaluate(call("sqrt", tval))))))),
        For(i, 2, For(j, 8, out.store((i, j), x[i, j]), "vectorized"), "unrolled"),
        out.store((0, vec), x[0, vec] + Broadcast(const(1.0), 8)),
        flags.store((vec,), Broadcast(IntImm(1, dtypes.bool_), 8)),
        out.store((1, vec), Broadcast(call("reduce_add", x[1, vec]), 8)),
        CallFunc("helper", (out,)),
    )
    m.add_func(LoopFunc("f", [x, y, out, flags], body))
    o2 = Buffer("o", "f32", (8, 8))
    m.add_func(LoopFunc("helper", [o2], loop("i", 8, lambda i: o2.store((i, 0), 0.0))))
    return m


def _rebind(e, mapping):
    from compiler.loop import substitute
    return substitute(e, mapping)


def test_roundtrip_every_kind():
    m = everything_module()
    verify(m)
    text, m2 = roundtrip(m)
    for fragment in ("const %w_big: f32[8,8] = @w_big",
                     "const %w_small: f32[4] = dense<[1.5, -2.0, inf, nan]>",
                     "arena %t: f32[8] at 64", "%y: i32[8] strides [2]", "%flags: bool[8]",
                     "for %i in 0..8 parallel {", "for %j in 0..8 vectorized {",
                     "for %i in 0..2 unrolled {",
                     'block "e"(%vi: spatial[8] = %i, %vj: spatial[8] = %j) where %i * 8 + %j < 64',
                     "%vk: reduce[8] = %k) {", "init {", "let %tv = %x[%i, 0] * 2.0f32",
                     "alloc %tmp: f32[8]", "} else {", "eval sqrt(%tv)", "call @helper(%out)",
                     "ramp(0, 1, 8)", "broadcast(1.0f32, 8)", "broadcast(true, 8)",
                     "reduce_add(", "-f32.inf", "f32.inf", "f32.nan", "1e-05f32", "-4i32",
                     "cast<i8>(-3i8) + 127i8", "fma(", "!%flags[%vj]",
                     "(%x[%vi, %vj] + 1.0f32) * (%x[%vi, %vj] - (%x[%vi, %vj] - 2.0f32))",
                     "select(!(%vi < %vj) && %vi != %vj, 1.0f32, 0.0f32)"):
        assert fragment in text, fragment
    # the parsed module has the same structure
    f2 = m2.get_func("f")
    assert isinstance(f2.body, Seq) and [type(s).__name__ for s in f2.body.stmts] == [
        "For", "For", "For", "For", "Store", "Store", "Store", "CallFunc"]
    assert m2.buffers[1].data.dtype == np.float32 and np.isnan(m2.buffers[1].data[3])


def test_roundtrip_hand_written_and_bare_func():
    m = parse_module(HAND_WRITTEN)
    verify(m)
    text, _ = roundtrip(m)
    assert text.startswith("module @main {\n  func @add_relu(")
    f = m.get_func("add_relu")
    assert f.body.kind == "parallel" and f.body.body.kind == "vectorized"


def test_distinct_variables_with_one_name_get_distinct_names():
    x = Buffer("x", "f32", (4, 4))
    i1, i2 = Var("i"), Var("i")
    m = LoopModule("m", [LoopFunc("f", [x], For(i1, 4, For(i2, 4, x.store((i1, i2), 0.0))))])
    text, m2 = roundtrip(m)
    assert "for %i in 0..4 {" in text and "for %i_1 in 0..4 {" in text
    assert "%x[%i, %i_1] = 0.0f32" in text
    # sibling loops may reuse a name in hand-written text
    m3 = parse_module("func @f(%x: f32[4]) {\n for %i in 0..4 { %x[%i] = 0.0f32 }\n"
                      " for %i in 0..4 { %x[%i] = 1.0f32 }\n}")
    verify(m3)


def test_weights_must_be_supplied():
    m = everything_module()
    text = print_module(m)
    with pytest.raises(IRParseError, match="weight @w_big, which was not supplied"):
        parse_module(text)
    full = print_module(m, elide_large=False)
    assert "@w_big" not in full
    assert print_module(parse_module(full), elide_large=False) == full


@pytest.mark.parametrize("text, line, col, message", [
    ("func @f(%x: f32[4]) {\n  %x[%z] = 0.0f32\n}", 2, 6, "use of undefined name %z"),
    ("func @f(%x: f32[4]) {\n  %x[0] = 1.5\n}", 2, 11, "float literal needs its type"),
    ("func @f(%x: f32[4]) {\n  for %i in 1..4 { }\n}", 2, 13, "loops start at 0"),
    ("func @f(%x: f32[4]) {\n  %x[0] = foo(1.0f32)\n}", 2, 11, "unknown function or keyword 'foo'"),
    ("func @f(%x: f32[4]) {\n  %x[0] = -%x[1]\n}", 2, 12, "unary minus applies to number"),
    ("func @f(%x: bool[4]) {\n  %x[0] = 1 < 2 < 3\n}", 2, 17, "comparisons do not chain"),
    ("func @f(%x: f32[4]) {\n  for %i in 0..4 {\n    for %i in 0..4 { }\n  }\n}", 3, 9,
     "already defined"),
    ("func @f(%x: f32[4]) {\n  for %i in 0..4 {\n", 3, 1, "expected '}'"),
    ("func @f(%x: f33[4]) { }", 1, 13, "expected a dtype"),
    ("func @f(%x: f32[4]) {\n  %x[0] = 1.0f31\n}", 2, 11, "unknown literal type suffix"),
    ("func @f(%x: f32[4]) {\n  %x[0] = 300i8\n}", 2, 11, "does not fit in i8"),
    ("func @f(%x: f32[4]) {\n  %x[0] = exp(1.0f32, 2.0f32)\n}", 2, 11, "takes 1 argument"),
    ("func @f(%x: f32[4]) {\n  let %t = 1\n  %t[0] = 1.0f32\n}", 3, 3, "is a variable"),
    ("module @m {\n  const %w: f32[2] = dense<[1.0]>\n}", 2, 28, "literal has shape [1]"),
    ("func @f(%x: f32[4]) { %x[0] = 1.0f32 } junk", 1, 40, "expected end of input"),
    ("func @f(%x: f32[4]) {\n  %x[0] = 1.0f32 # 2\n}", 2, 18, "unexpected character '#'"),
])
def test_parse_errors_have_line_and_column(text, line, col, message):
    with pytest.raises(IRParseError) as ei:
        parse_module(text, source_name="k.ir")
    e = ei.value
    assert message in str(e), str(e)
    assert (e.line, e.col) == (line, col), str(e)
    assert str(e).startswith(f"k.ir:{line}:{col}: ")


def test_precedence_printing():
    a, b, c = Var("a"), Var("b"), Var("c")
    assert str(a - (b - c)) == "%a - (%b - %c)"
    assert str((a - b) - c) == "%a - %b - %c"
    assert str(a * (b + c)) == "%a * (%b + %c)"
    assert str(a + b * c) == "%a + %b * %c"
    assert str(Not(a.lt(b))) == "!(%a < %b)"
    assert str((a.lt(b)).eq(IntImm(1, dtypes.bool_))) == "(%a < %b) == true"
    assert str(Binary("/", a, IntImm(-2))) == "%a / -2"
