"""Loop IR core: construction, builder, simplifier rules, visitor helpers, verifier, and the
"loop" IRKind under PassManager with instruments."""
import io
from dataclasses import dataclass

import numpy as np
import pytest

from compiler.errors import PassError, VerificationError
from compiler.ir import dtypes
from compiler.loop import (Allocate, Block, Broadcast, Buffer, CallFunc, For, IfThenElse,
                           IRBuilder, IterVar, LetStmt, Load, LoopFunc, LoopModule, Ramp, Seq,
                           Store, Var, call, cast, const, free_vars, loop, max_, min_, select,
                           simplify, simplify_stmt, substitute, verify, walk)
from compiler.loop.arith import bounds, is_affine, linear
from compiler.loop.expr import Binary, FloatImm, IntImm
from compiler.loop.kind import op_counts
from compiler.transform import (Pass, PassContext, PassManager, PassTimingInstrument,
                                PrintIRInstrument, get_ir_kind)


def elementwise_module():
    x, out = Buffer("x", "f32", (4, 8)), Buffer("out", "f32", (4, 8))
    body = loop("i", 4, lambda i: loop("j", 8, lambda j: out.store((i, j), max_(x[i, j], 0.0))))
    return LoopModule("m", [LoopFunc("relu", [x, out], body)])


# ---- construction ---------------------------------------------------------------------------------
def test_expression_types_and_sugar():
    i = Var("i")
    x = Buffer("x", "f32", (4, 8))
    e = x[i, 3] * 2.0 + 1
    assert e.dtype is dtypes.f32 and e.lanes == 1
    assert isinstance(e.b, FloatImm) and e.b.value == 1.0          # 1 took the f32 dtype
    idx = i * 8 + 3
    assert idx.dtype is dtypes.i64 and isinstance(idx.a.b, IntImm)
    assert i.lt(4).dtype is dtypes.bool_
    v = x[i, Ramp(0, 1, 8)]
    assert v.lanes == 8 and (v + 1.0).b == Broadcast(const(1.0), 8)  # scalar broadcast
    assert cast("i32", x[i, 0]).dtype is dtypes.i32
    assert call("exp", x[0, 0]).dtype is dtypes.f32
    assert call("reduce_add", v).lanes == 1
    with pytest.raises(TypeError, match="floor"):
        i / 2
    with pytest.raises(ValueError, match="does not fit"):
        IntImm(300, dtypes.i8)
    with pytest.raises(ValueError, match="unknown intrinsic"):
        call("expp", x[0, 0])


def test_structural_equality_but_var_identity():
    i, j = Var("i"), Var("i")
    assert i != j and i == i
    assert (i + 1) == (i + 1) and (i + 1) != (j + 1)
    assert hash(i * 8 + 1) == hash(i * 8 + 1)
    assert FloatImm(float("nan")) == FloatImm(float("nan"))
    assert FloatImm(0.0) != FloatImm(-0.0)


def test_builder_let_alloc_if_else_and_block():
    x, out = Buffer("x", "f32", (8,)), Buffer("out", "f32", (8,))
    b = IRBuilder()
    with b.for_("i", 8) as i:
        t = b.let("t", x[i] * 2.0)
        tmp = b.alloc("tmp", "f32", (1,))
        b.store(tmp, (0,), t)
        with b.if_(i.lt(4)):
            b.store(out, (i,), tmp[0])
        with b.else_():
            b.store(out, (i,), 0.0)
    body = b.get()
    assert isinstance(body, For)
    let = body.body
    assert isinstance(let, LetStmt) and isinstance(let.body, Allocate)
    inner = let.body.body
    assert isinstance(inner, Seq) and isinstance(inner.stmts[1], IfThenElse)
    assert inner.stmts[1].else_body is not None
    verify(LoopFunc("f", [x, out], body))


def test_walk_substitute_free_vars():
    i, j = Var("i"), Var("j")
    x = Buffer("x", "f32", (4, 8))
    st = For(j, 8, x.store((i, j), x[i, j] + 1.0))
    assert free_vars(st) == [i]
    st2 = substitute(st, {i: IntImm(2)})
    assert free_vars(st2) == [] and isinstance(st2.body, Store)
    assert st2.body.indices[0] == IntImm(2)
    assert sum(isinstance(n, Load) for n in walk(st)) == 1
    assert substitute(st, {}) is st


# ---- simplifier -------------------------------------------------------------------------------------
@pytest.fixture
def ij():
    i, j = Var("i"), Var("j")
    return i, j, {i: (0, 3), j: (0, 7)}


def s(e, r=None):
    return str(simplify(e, r))


def test_constant_folding_and_identities(ij):
    i, j, r = ij
    assert s(IntImm(7) // 2) == "3" and s(IntImm(-7) // 2) == "-4" and s(IntImm(-7) % 2) == "1"
    assert s(i * 1 + 0) == "%i"
    assert s(i * 0 + j) == "%j"
    assert s(i - i) == "0"
    assert s(const(1.5) * 2.0) == "3.0f32"
    assert s(Var("x", dtypes.f32) * 1.0) == "%x"
    assert s(cast("i32", IntImm(300))) == "300i32"
    assert s(cast("i8", IntImm(300))) == "44i8"                  # two's complement wrap
    assert s(select(IntImm(1, dtypes.bool_), i, j)) == "%i"


def test_affine_normalisation(ij):
    i, j, _ = ij
    assert s((i + 1) * 8 + j - 8) == "%i * 8 + %j"
    assert s(8 * i + 2 * j + i * 3 - 5) == "%i * 11 + %j * 2 - 5"
    assert linear((i + 2) * 3) == ({i: 3}, 6)
    assert is_affine(i * 8 + j) and not is_affine(i * j) and not is_affine(i // 2)


def test_floordiv_floormod_with_ranges(ij):
    i, j, r = ij
    assert s((i * 8 + j) // 8, r) == "%i"
    assert s((i * 8 + j) % 8, r) == "%j"
    assert s((i * 8 + j + 8) // 8, r) == "%i + 1"
    assert s(j // 8, r) == "0" and s(j % 8, r) == "%j"
    assert s((i * 8 + j) // 8) == "%i + %j / 8"                  # no ranges: split only
    assert s((i * 16 + j) % 8) == "%j % 8"
    assert s(i // 2 // 4) == "%i / 8"
    assert s(i // 1) == "%i" and s(i % 1) == "0"


def test_min_max_compare_by_ranges(ij):
    i, j, r = ij
    assert s(min_(i, 10), r) == "%i" and s(max_(i, 10), r) == "10"
    assert s(i.lt(4), r) == "true" and s(i.ge(4), r) == "false"
    assert s((i * 8 + j).lt(32), r) == "true"
    assert s(i.lt(3), r) == "%i < 3"                             # undecided
    assert s(i.lt(4).logical_and(j.lt(2)), r) == "%j < 2"


def test_vector_rules(ij):
    i, j, r = ij
    assert s(Ramp(i * 8, 1, 8) + Broadcast(IntImm(3), 8)) == "ramp(%i * 8 + 3, 1, 8)"
    assert s(Ramp(i, 1, 8) * Broadcast(IntImm(4), 8)) == "ramp(%i * 4, 4, 8)"
    assert s(Ramp(i * 8, 1, 8) // Broadcast(IntImm(8), 8), r) == "broadcast(%i, 8)"
    assert s(Ramp(i * 8, 1, 8) % Broadcast(IntImm(8), 8), r) == "ramp(0, 1, 8)"
    assert s(Ramp(i, 0, 4)) == "broadcast(%i, 4)"
    assert s(Broadcast(i, 4) + Broadcast(IntImm(1), 4)) == "broadcast(%i + 1, 4)"


def test_bounds():
    i, j = Var("i"), Var("j")
    r = {i: (0, 3), j: (0, 7)}
    assert bounds(i * 8 + j, r) == (0, 31)
    assert bounds(i - j, r) == (-7, 3)
    assert bounds((i * 8 + j) % 5, r) == (0, 4)
    assert bounds(Ramp(i * 8, 1, 8), r) == (0, 31)
    assert bounds(i * Var("n"), r) == (None, None)


def test_simplify_stmt_drops_decided_ifs():
    x = Buffer("x", "f32", (8,))
    st = loop("i", 8, lambda i: IfThenElse(i.lt(8), x.store((i,), 1.0), x.store((i,), 2.0)))
    out = simplify_stmt(st)
    assert isinstance(out.body, Store) and out.body.value == const(1.0)
    assert simplify_stmt(out) is out                              # unchanged -> same object


# ---- verifier ---------------------------------------------------------------------------------------
def bad(m, *fragments):
    with pytest.raises(VerificationError) as ei:
        verify(m)
    for f in fragments:
        assert f in str(ei.value), str(ei.value)
    return str(ei.value)


def func_module(params, body, **kw):
    return LoopModule("m", [LoopFunc("f", params, body)], **kw)


def test_verifier_accepts_valid_modules():
    verify(elementwise_module())


def test_verifier_undefined_variable():
    x = Buffer("x", "f32", (4,))
    k = Var("k")
    bad(func_module([x], loop("i", 4, lambda i: x.store((i,), x[k]))), "undefined variable %k",
        "loop %i")


def test_verifier_wrong_index_count():
    x = Buffer("x", "f32", (4, 8))
    bad(func_module([x], loop("i", 4, lambda i: x.store((i,), 0.0))), "%x", "1 indices",
        "rank-2")


def test_verifier_out_of_bounds_affine_index():
    x, y = Buffer("x", "f32", (8,)), Buffer("y", "f32", (8,))
    msg = bad(func_module([x, y], loop("j", 8, lambda j: y.store((j,), x[j + 1]))),
              "load from %x", "index 0", "[1, 8]", "[0, 7]")
    assert "%j + 1" in msg
    # the same access under a guard that tests %j is accepted
    guarded = loop("j", 8, lambda j: IfThenElse(j.lt(7), y.store((j,), x[j + 1])))
    verify(func_module([x, y], guarded))


def test_verifier_dtype_mismatch():
    x, y = Buffer("x", "f32", (4,)), Buffer("y", "i32", (4,))
    bad(func_module([x, y], loop("i", 4, lambda i: x.store((i,), Binary("+", x[i], y[i])))),
        "operands of '+' differ", "f32 vs i32")
    bad(func_module([x, y], loop("i", 4, lambda i: Store(x, (i,), y[i]))),
        "store to %x", "i32 value")


def test_verifier_parallel_loop_over_reduce_var():
    A, out = Buffer("A", "f32", (4, 8)), Buffer("out", "f32", (4,))

    def body(k):
        vi, vk = Var("vi"), Var("vk")
        return loop("i", 4, lambda i: Block(
            "sum", [IterVar(vi, 4, "spatial"), IterVar(vk, 8, "reduce")], [i, k],
            out.store((vi,), out[vi] + A[vi, vk]), init=out.store((vi,), 0.0)))
    bad(func_module([A, out], loop("k", 8, body, kind="parallel")),
        "parallel loop %k", "reduce variable %vk", 'block "sum"')
    verify(func_module([A, out], loop("k", 8, body)))


def test_verifier_block_isolation_and_binding_range():
    x = Buffer("x", "f32", (8,))
    i = Var("i")
    vi = Var("vi")
    blk = Block("b", [IterVar(vi, 8, "spatial")], [i], x.store((i,), 0.0))
    bad(func_module([x], For(i, 8, blk)), "defined outside the enclosing block", "%i")
    blk2 = Block("b", [IterVar(vi, 4, "spatial")], [i], x.store((vi,), 0.0))
    bad(func_module([x], For(i, 8, blk2)), "%vi is bound to %i", "[0, 7]", "extent [0, 3]")


def test_verifier_other_invariants():
    x = Buffer("x", "f32", (8,))
    w = np.ones(8, np.float32)
    m = func_module([x], loop("i", 8, lambda i: x.store((i,), 1.0)))
    c = m.add_const("w", w)
    m.funcs[0].body = loop("i", 8, lambda i: c.store((i,), 1.0))
    bad(m, "store to const buffer %w")
    v = loop("i", 8, lambda i: loop("j", 2, lambda j: x.store((i,), 1.0)), kind="vectorized")
    bad(func_module([x], v), "inside vectorized loop %i")
    bad(func_module([x], For(Var("i"), 5000, Seq(()), "unrolled")), "at most 1024")
    bad(func_module([x], loop("i", 8, lambda i: IfThenElse(i, x.store((i,), 1.0)))),
        "if condition %i is i64")
    m2 = LoopModule("m", [LoopFunc("f", [x], CallFunc("g", (x,)))])
    bad(m2, "has no function @g")
    g = LoopFunc("g", [Buffer("a", "f32", (8,)), Buffer("b", "f32", (8,))], Seq(()))
    bad(LoopModule("m", [LoopFunc("f", [x], CallFunc("g", (x, x))), g]),
        "passes %x and %x, which overlap")
    m3 = LoopModule("m", [LoopFunc("f", [x], CallFunc("f", (x,)))])
    bad(m3, "recursive calls: @f -> @f")
    m4 = LoopModule("m", [LoopFunc("bad-name", [x], Seq(()))])
    bad(m4, "C identifiers")
    arena = LoopModule("m", arena_size=16)
    arena.buffers.append(Buffer("t", "f32", (8,), scope="arena", offset=0))
    bad(arena, "arena buffer %t", "[0, 32)", "16 bytes")


# ---- IRKind / PassManager -------------------------------------------------------------------------
@dataclass
class _UnrollInner(Pass):
    """Mark every innermost loop unrolled (a toy loop pass)."""
    name = "test-unroll-inner"
    ir = "loop"

    def run(self, m, ctx) -> bool:
        changed = False
        for f in m.funcs:
            def rec(st):
                nonlocal changed
                if isinstance(st, For):
                    body = rec(st.body)
                    if not any(isinstance(n, For) for n in walk(st.body)) and st.kind != "unrolled":
                        changed = True
                        return For(st.var, st.extent, body, "unrolled")
                    return For(st.var, st.extent, body, st.kind)
                return st
            f.body = rec(f.body)
        return changed


@dataclass
class _Breaker(Pass):
    """Produce invalid IR (verify-after-each-pass must name this pass)."""
    name = "test-breaker"
    ir = "loop"

    def run(self, m, ctx) -> bool:
        x = m.funcs[0].params[0]
        m.funcs[0].body = x.store((Var("nope"), 0), 0.0)
        return True


def test_loop_ir_kind_registered_and_runs_with_instruments():
    kind = get_ir_kind("loop")
    m = elementwise_module()
    assert kind.is_instance(m) and kind.op_counts(m) == {"for.serial": 2, "load": 1, "store": 1}
    out = io.StringIO()
    timing = PassTimingInstrument()
    with PassContext(instruments=[PrintIRInstrument(after="all", stream=out), timing],
                     check_changed=True):
        PassManager([_UnrollInner()]).run(m)
    assert op_counts(m)["for.unrolled"] == 1
    assert "test-unroll-inner" in out.getvalue() and "for %j in 0..8 unrolled" in out.getvalue()
    assert "test-unroll-inner" in timing.table()
    with pytest.raises(PassError, match="test-breaker.*undefined variable %nope"):
        with PassContext():
            PassManager([_Breaker()]).run(elementwise_module())


# ---- the READMEs' examples run and show their real output -------------------------------------------
@pytest.mark.parametrize("page", ["compiler/loop/README.md", "backends/llvm/README.md"])
def test_readme_examples(page):
    import contextlib
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    block = re.compile(r"(?P<intro>[^\n]*)\n(?:[ \t]*\n)*```(?P<lang>[a-z]*)\n(?P<body>.*?)\n```",
                       re.S)
    namespace: dict = {"__name__": "readme"}
    last, checked = None, 0
    for m in block.finditer((root / page).read_text()):
        if m.group("lang") == "python":
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(m.group("body"), page, "exec"), namespace)
            last = buf.getvalue()
        elif m.group("lang") == "" and m.group("intro").strip().endswith("prints"):
            assert last is not None and last.rstrip("\n") == m.group("body").rstrip("\n"), last
            checked += 1
    assert checked >= 1


# ---- the simplifier is sound: random integer expressions keep their value ----------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_I, _J, _K = Var("i"), Var("j"), Var("k")
_RANGES = {_I: (0, 3), _J: (0, 7), _K: (-4, 5)}


def _eval(e, env):
    if isinstance(e, IntImm):
        return e.value
    if isinstance(e, Var):
        return env[e]
    if isinstance(e, Binary):
        a, b = _eval(e.a, env), _eval(e.b, env)
        return {"+": a + b, "-": a - b, "*": a * b, "min": min(a, b), "max": max(a, b),
                "/": a // b if b else None, "%": a % b if b else None,
                "<": int(a < b), "<=": int(a <= b), "==": int(a == b), "!=": int(a != b),
                ">": int(a > b), ">=": int(a >= b)}[e.op]
    raise TypeError(e)


_leaf = st.one_of(st.sampled_from([_I, _J, _K]), st.integers(-9, 9).map(IntImm))
_int_exprs = st.recursive(_leaf, lambda sub: st.one_of(
    st.tuples(st.sampled_from(["+", "-", "*", "min", "max"]), sub, sub).map(
        lambda t: Binary(*t)),
    st.tuples(st.sampled_from(["/", "%"]), sub,
              st.sampled_from([1, 2, 3, 4, 8, -2, -3]).map(IntImm)).map(lambda t: Binary(*t)),
    st.tuples(st.sampled_from(["/", "%"]), sub, st.just(_J + 1)).map(lambda t: Binary(*t)),
), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(_int_exprs, st.sampled_from(["<", "==", ">="]))
def test_simplifier_preserves_values(e, cmp):
    simplified = simplify(e, _RANGES)
    decided = simplify(Binary(cmp, e, IntImm(2)), _RANGES)
    for i in range(0, 4):
        for j in range(0, 8, 3):
            for k in (-4, 0, 5):
                env = {_I: i, _J: j, _K: k}
                assert _eval(simplified, env) == _eval(e, env), (str(e), str(simplified))
                want = _eval(Binary(cmp, e, IntImm(2)), env)
                got = decided.value if isinstance(decided, IntImm) else _eval(decided, env)
                assert got == want, (str(e), str(decided))
