"""compute_at: a producer moved under its consumer's loop computes only the region read there
(a local intermediate, a parameter intermediate that must stay fully written, a reduction
producer, non-dividing consumer splits) and the refusals."""
import numpy as np

from compiler.loop import parse_module, print_module
from passes.loop.schedule import Schedule
from .schedule_helpers import check, refuses


def pair(t_decl="alloc %t: f32[10,12]", params="%x: f32[10,12], %out: f32[10,12]",
         read="%t[%vi, %vj] + %t[%vi, max(%vj - 1, 0)]", rows=10):
    return f"""
func @f({params}) {{
  {t_decl}
  for %i in 0..10 {{
    for %j in 0..12 {{
      block "T"(%vi: spatial[10] = %i, %vj: spatial[12] = %j) {{
        %t[%vi, %vj] = %x[%vi, %vj] * 2.0f32
      }}
    }}
  }}
  for %i2 in 0..{rows} {{
    for %j2 in 0..12 {{
      block "O"(%vi: spatial[{rows}] = %i2, %vj: spatial[12] = %j2) {{
        %out[%vi, %vj] = {read}
      }}
    }}
  }}
}}"""


def _pair_ref(ins):
    t = ins["x"] * 2
    return {"out": t + t[:, np.maximum(np.arange(12) - 1, 0)]}


def test_compute_at_local_intermediate_row_by_row():
    def apply(sch):
        assert sch.compute_at("T", "i2") == ["ax0", "ax1"]
    sch, m = check(pair(), apply, _pair_ref, exact=True)
    text = print_module(m)
    assert "for %ax0 in 0..1 {" in text and "for %ax1 in 0..12 {" in text
    assert text.index("for %i2") < text.index('block "T"') < text.index('block "O"')
    assert "for %i in" not in text


def test_compute_at_under_a_non_dividing_split_and_parallel_loop():
    def apply(sch):
        sch.split("i2", 4)                         # 10 = 3 * 4 - 2: the last tile is short
        sch.parallel("i2_o")
        sch.compute_at("T", "i2_o")                # 4 rows of t a tile, rows 10, 11 skipped
    sch, m = check(pair(), apply, _pair_ref, exact=True)
    assert "where %i2_o * 4 + %ax0 < 10" in print_module(m)


def test_compute_at_parameter_intermediate_stays_complete():
    text = pair(t_decl="", params="%x: f32[10,12], %t: f32[10,12], %out: f32[10,12]")

    def ref(ins):
        return dict(_pair_ref(ins), t=ins["x"] * 2)
    check(text, lambda s: s.compute_at("T", "j2"), ref, exact=True)


def test_compute_at_reduction_producer():
    text = """
    func @norm(%x: f32[6,9], %out: f32[6,9]) {
      alloc %s: f32[6]
      for %i in 0..6 {
        for %k in 0..9 {
          block "sum"(%vi: spatial[6] = %i, %vk: reduce[9] = %k) {
            init {
              %s[%vi] = 0.0f32
            }
            %s[%vi] = %s[%vi] + %x[%vi, %vk]
          }
        }
      }
      for %i2 in 0..6 {
        for %j in 0..9 {
          block "div"(%vi: spatial[6] = %i2, %vj: spatial[9] = %j) {
            %out[%vi, %vj] = %x[%vi, %vj] / %s[%vi]
          }
        }
      }
    }"""

    def apply(sch):
        assert sch.compute_at("sum", "i2") == ["ax0", "ax1"]
        sch.parallel("i2")
    sch, m = check(text, apply, lambda ins: {"out": ins["x"] / ins["x"].sum(1, keepdims=True)},
                   exact=True)
    assert "init {" in print_module(m)


def test_compute_at_refuses_partial_coverage_of_a_visible_buffer():
    text = pair(t_decl="", params="%x: f32[10,12], %t: f32[10,12], %out: f32[10,12]",
                read="%t[%vi, 0]")
    sch = Schedule(parse_module(text))
    refuses(sch, lambda: sch.compute_at("T", "j2"), 'compute_at block "T"',
            "would not cover everything the block wrote", "the function's caller",
            "dimension 1 is not covered")
    local = Schedule(parse_module(pair(read="%t[%vi, 0]")))
    local.compute_at("T", "j2")                   # a local only this loop reads: fine


def test_compute_at_refuses_a_race_under_a_parallel_loop():
    # each row of out reads rows vi and vi + 1 of t: neighbouring iterations of the parallel
    # loop would both write the shared row
    sch = Schedule(parse_module(pair(read="%t[%vi, %vj] + %t[%vi + 1, %vj]", rows=9)))
    sch.parallel("i2")
    refuses(sch, lambda: sch.compute_at("T", "i2"), "under parallel loop %i2",
            "carries a dependence", "%t[%vi, %vj] written by block \"T\"")


def test_compute_at_structural_refusals():
    sch = Schedule(parse_module(pair()))
    refuses(sch, lambda: sch.compute_at("O", "i"), "runs before the block")
    refuses(sch, lambda: sch.compute_at("T", "j"), "already inside loop %j")
    refuses(sch, lambda: sch.compute_at("T", "q"), "no loop has this variable name")
    two = Schedule(parse_module("""
    func @f(%x: f32[4], %a: f32[4], %b: f32[4]) {
      for %i in 0..4 {
        block "P"(%vi: spatial[4] = %i) {
          %a[%vi] = %x[%vi]
          %b[%vi] = %x[%vi]
        }
      }
      for %i2 in 0..4 {
        block "C"(%vi: spatial[4] = %i2) {
          %x[%vi] = %a[%vi]
        }
      }
    }"""))
    refuses(two, lambda: two.compute_at("P", "i2"), "writes 2 buffers")
    acc = Schedule(parse_module("""
    func @f(%x: f32[4], %a: f32[4], %b: f32[4]) {
      for %i in 0..4 {
        block "P"(%vi: spatial[4] = %i) {
          %a[%vi] = %a[%vi] + %x[%vi]
        }
      }
      for %i2 in 0..4 {
        block "C"(%vi: spatial[4] = %i2) {
          %b[%vi] = %a[%vi]
        }
      }
    }"""))
    refuses(acc, lambda: acc.compute_at("P", "i2"), "without an init",
            "accumulate twice")
    clobber = Schedule(parse_module("""
    func @f(%x: f32[4], %b: f32[4]) {
      alloc %a: f32[4]
      for %i in 0..4 {
        block "P"(%vi: spatial[4] = %i) {
          %a[%vi] = %x[%vi] * 2.0f32
        }
      }
      for %i1 in 0..4 {
        block "Z"(%vi: spatial[4] = %i1) {
          %x[%vi] = 0.0f32
        }
      }
      for %i2 in 0..4 {
        block "C"(%vi: spatial[4] = %i2) {
          %b[%vi] = %a[%vi]
        }
      }
    }"""))
    refuses(clobber, lambda: clobber.compute_at("P", "i2"),
            "%x, which the block reads, is written by block \"Z\" between the block and loop")
