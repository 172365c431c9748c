"""split, fuse, reorder and tile: results unchanged (JIT before/after, numpy, bounds checks),
refusals with their reasons, trace replay and text round trip."""
from compiler.loop import parse_module, print_module
from passes.loop.schedule import Schedule
from .schedule_helpers import add, check, matmul, refuses, rowsum


def _add_ref(ins):
    return {"out": ins["x"] + ins["y"]}


def _mm_ref(ins):
    return {"C": ins["A"] @ ins["B"]}


def test_split_dividing_and_not_dividing():
    def apply(sch):
        assert sch.split("i", 2) == ("i_o", "i_i")
        assert sch.split("j", 4) == ("j_o", "j_i")      # 10 = 3 * 4 - 2: predicated
    sch, m = check(add(6, 10), apply, _add_ref)
    text = print_module(m)
    assert "for %j_o in 0..3 {" in text and "for %j_i in 0..4 {" in text
    assert "where %j_o * 4 + %j_i < 10" in text and "%i_o * 2 + %i_i < 6" not in text
    assert [r["prim"] for r in sch.trace] == ["split", "split"]


def test_split_guards_statements_outside_blocks_with_an_if():
    text = """
    func @f(%x: f32[10], %out: f32[10]) {
      for %i in 0..10 {
        %out[%i] = %x[%i] * 3.0f32
      }
    }"""
    sch, m = check(text, lambda s: s.split("i", 3), lambda ins: {"out": ins["x"] * 3})
    assert "if %i_o * 3 + %i_i < 10 {" in print_module(m)


def test_split_factor_checks_and_cap():
    sch = Schedule(parse_module(add(4, 6)))
    refuses(sch, lambda: sch.split("j", 0), "split %j", "positive integer")
    refuses(sch, lambda: sch.split("q", 2), "split %q", "no loop has this variable name")
    assert sch.split("j", 100) == ("j_o", "j_i")          # capped at the extent
    assert "for %j_o in 0..1 {" in str(sch) and "for %j_i in 0..6 {" in str(sch)


def test_fuse_and_split_the_fused_loop():
    def apply(sch):
        f = sch.fuse("i", "j")
        assert f == "i_j_fused"
        sch.split(f, 16)                                    # 5 * 7 = 35: predicated
    sch, m = check(add(5, 7), apply, _add_ref)
    assert "for %i_j_fused_o in 0..3 {" in print_module(m)


def test_fuse_refusals():
    sch = Schedule(parse_module(matmul(4, 4, 4)))
    refuses(sch, lambda: sch.fuse("i", "k"), "fuse %i, %k", "not the whole body of loop %i",
            "adjacent")
    refuses(sch, lambda: sch.fuse("j", "j"), "does not fuse with itself")
    sch.parallel("i")
    refuses(sch, lambda: sch.fuse("i", "j"), "parallel and serial")


def test_reorder_keeps_matmul_bits():
    # k outermost: every C element still sums k = 0, 1, ... in order, so the bits match
    sch, m = check(matmul(12, 9, 10), lambda s: s.reorder("k", "i"), _mm_ref, exact=True)
    assert print_module(m).index("for %k") < print_module(m).index("for %j") \
        < print_module(m).index("for %i")


def test_reorder_refuses_reduction_order_and_imperfect_nests():
    sch = Schedule(parse_module(matmul(8, 8, 8)))
    sch.split("k", 4)
    refuses(sch, lambda: sch.reorder("k_i", "k_o"), "reorder %k_i, %k_o",
            "order of the reduction loops %k_o, %k_i", 'block "C"')
    refuses(sch, lambda: sch.reorder("i", "i"), "named twice")
    sch.reorder("i", "j", "k_o", "k_i")            # already in this order: nothing to do
    vec = Schedule(parse_module(add(4, 8)))
    vec.vectorize("j")
    refuses(vec, lambda: vec.reorder("j", "i"), "vectorized loop %j would no longer be innermost")
    two = parse_module("""
    func @f(%x: f32[4,4], %y: f32[4,4]) {
      for %i in 0..4 {
        for %j in 0..4 {
          block "a"(%vi: spatial[4] = %i, %vj: spatial[4] = %j) {
            %x[%vi, %vj] = 1.0f32
          }
        }
        for %j2 in 0..4 {
          block "b"(%vi: spatial[4] = %i, %vj: spatial[4] = %j2) {
            %y[%vi, %vj] = 2.0f32
          }
        }
      }
    }""")
    s2 = Schedule(two)
    refuses(s2, lambda: s2.reorder("j", "i"), "not perfectly nested",
            "body of %i is not just loop %j")
    # tile = split, split, reorder: the refused reorder undoes both splits
    refuses(s2, lambda: s2.tile("i", "j", 2, 2), "tile %i, %j: reorder %i_o, %j_o, %i_i",
            "not perfectly nested")
    refuses(s2, lambda: s2.reorder("j", "j2"), "not nested in one another")


def test_reorder_refuses_a_loop_carrying_a_dependence():
    # x[i, j] = x[i-1, j+1] + 1: distance (1, -1); swapping i and j would reverse it
    m = parse_module("""
    func @f(%x: f32[6,7]) {
      for %i in 0..5 {
        for %j in 0..6 {
          block "s"(%vi: spatial[5] = %i, %vj: spatial[6] = %j) {
            %x[%vi + 1, %vj] = %x[%vi, %vj + 1] + 1.0f32
          }
        }
      }
    }""")
    sch = Schedule(m)
    refuses(sch, lambda: sch.reorder("j", "i"), "reorder %j, %i", "carries a dependence",
            "%x", 'block "s"')


def test_tile_matmul_with_non_dividing_factors():
    def apply(sch):
        assert sch.tile("i", "j", 8, 16) == ("i_o", "j_o", "i_i", "j_i")
    sch, m = check(matmul(20, 7, 36), apply, _mm_ref, exact=True)
    text = print_module(m)
    assert "where %i_o * 8 + %i_i < 20 && %j_o * 16 + %j_i < 36" in text
    assert [r["prim"] for r in sch.trace] == ["tile"]       # nested splits are not recorded


def test_split_reduction_loop_keeps_init_and_order():
    def apply(sch):
        sch.split("k", 8)                                    # 13 = 2 * 8 - 3
    check(rowsum(5, 13), apply, lambda ins: {"out": ins["x"].sum(1)}, exact=True)
