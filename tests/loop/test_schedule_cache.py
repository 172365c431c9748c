"""cache_read / cache_write: packing a matmul panel, accumulating a tile locally, staging a
stencil window past the buffer's end (non-dividing split), arena scope, copy-in when the
block does not write its whole region first, and the refusals."""
import numpy as np

from compiler.loop import parse_module, print_module
from passes.loop.schedule import Schedule
from .schedule_helpers import add, check, matmul, refuses

STENCIL = """
func @conv(%x: f32[12], %out: f32[10]) {
  for %i in 0..10 {
    block "conv"(%vi: spatial[10] = %i) {
      %out[%vi] = %x[%vi] + %x[%vi + 1] * 2.0f32 + %x[%vi + 2] * 3.0f32
    }
  }
}"""

INPLACE = """
func @scale(%x: f32[6,8], %out: f32[6,8]) {
  for %i in 0..6 {
    for %j in 0..8 {
      block "scale"(%vi: spatial[6] = %i, %vj: spatial[8] = %j) {
        %out[%vi, %vj] = %out[%vi, %vj] * 2.0f32 + %x[%vi, %vj]
      }
    }
  }
}"""


def _mm_ref(ins):
    return {"C": ins["A"] @ ins["B"]}


def _tiled(sch):
    sch.tile("i", "j", 4, 16)
    sch.split("k", 8)
    sch.reorder("i_o", "j_o", "k_o", "i_i", "k_i", "j_i")


def test_cache_read_packs_the_panel_read_under_a_loop():
    def apply(sch):
        _tiled(sch)
        assert sch.cache_read("C", "B", "k_o") == "B_local"
        sch.vectorize("j_i")
    sch, m = check(matmul(16, 24, 40), apply, _mm_ref, exact=True)
    text = print_module(m)
    # the K x 16 panel of B for one j_o, copied before %k_o (40 = 3 * 16 - 8: predicated)
    assert "alloc %B_local: f32[24,16]" in text
    assert text.index("alloc %B_local") < text.index("for %k_o")
    assert "where %j_o * 16 + %ax1 < 40" in text
    assert "%B_local[%vk, %vB_local_1]" in text


def test_cache_write_accumulates_a_tile_without_copy_in():
    def apply(sch):
        _tiled(sch)
        assert sch.cache_write("C", "C", "k_o") == "C_local"
        sch.parallel("i_o")
    sch, m = check(matmul(12, 16, 32), apply, _mm_ref, exact=True)
    text = print_module(m)
    assert "alloc %C_local: f32[4,16]" in text and "C_local_in" not in text
    assert text.index("for %k_o") < text.index('block "C_local"')


def test_cache_read_of_a_stencil_window_past_the_end():
    def apply(sch):
        sch.split("i", 4)                      # the last window reads x[8..13], x has 12
        assert sch.cache_read("conv", "x", "i_i") == "x_local"
    ref = {"out": None}

    def reference(ins):
        x = ins["x"]
        ref["out"] = x[:10] + x[1:11] * 2 + x[2:12] * 3
        return ref
    sch, m = check(STENCIL, apply, reference)
    text = print_module(m)
    assert "alloc %x_local: f32[6]" in text and "where %i_o * 4 + %ax0 < 12" in text


def test_cache_write_copies_in_when_the_block_reads_old_values():
    def apply(sch):
        sch.cache_write("scale", "out", "j")
    ins = {"x": np.arange(48, dtype=np.float32).reshape(6, 8),
           "out": np.ones((6, 8), np.float32)}
    sch, m = check(INPLACE, apply, lambda i: {"out": i["out"] * 2 + i["x"]}, inputs=ins)
    assert 'block "out_local_in"' in print_module(m)


def test_arena_scope_extends_the_module_arena():
    def apply(sch):
        sch.split("j", 4)
        sch.cache_read("add", "x", "j_o", scope="arena")
    sch, m = check(add(3, 8), apply, lambda ins: {"out": ins["x"] + ins["y"]})
    assert m.arena_size == 32 and "arena %x_arena: f32[1,8] at 0" in print_module(m)


def test_cache_refusals():
    sch = Schedule(parse_module(INPLACE))
    refuses(sch, lambda: sch.cache_read("scale", "out", "j"), "cache_read block \"scale\"",
            "%out is written by block \"scale\" under loop %j", "go stale")
    refuses(sch, lambda: sch.cache_read("scale", "y"), "does not read a buffer %y")
    refuses(sch, lambda: sch.cache_read("scale", "x", "j", scope="shared"), "unknown scope")
    two = Schedule(parse_module("""
    func @f(%x: f32[4], %out: f32[4]) {
      for %i in 0..4 {
        block "a"(%vi: spatial[4] = %i) {
          %out[%vi] = %x[%vi]
        }
        block "b"(%vi: spatial[4] = %i) {
          %out[%vi] = %out[%vi] + 1.0f32
        }
      }
    }"""))
    refuses(two, lambda: two.cache_write("a", "out", "i"), "cache_write block \"a\"",
            "%out is also written by block \"b\" under loop %i")
    par = Schedule(parse_module(add(4, 4)))
    par.parallel("i")
    refuses(par, lambda: par.cache_read("add", "x", "j", scope="arena"),
            "shared by its threads")
    gather = Schedule(parse_module("""
    func @g(%x: f32[8], %idx: i64[4], %out: f32[4]) {
      for %i in 0..4 {
        block "g"(%vi: spatial[4] = %i) {
          %out[%vi] = %x[%idx[%vi]]
        }
      }
    }"""))
    refuses(gather, lambda: gather.cache_read("g", "x", "i"), "indexed by data")
