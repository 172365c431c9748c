"""unroll, vectorize and parallel: results unchanged, and refusals for too many iterations,
non-innermost loops, loops bound into reduce variables and loops carrying a dependence."""
from compiler.loop import parse_module, print_module
from passes.loop.schedule import Schedule
from .schedule_helpers import add, check, matmul, refuses, rowsum

SCAN = """
func @scan(%x: f32[16], %out: f32[16]) {
  for %i in 0..15 {
    block "scan"(%vi: spatial[15] = %i) {
      %out[%vi + 1] = %out[%vi] + %x[%vi + 1]
    }
  }
}"""


def _mm_ref(ins):
    return {"C": ins["A"] @ ins["B"]}


def test_unroll_inner_reduction_steps():
    def apply(sch):
        sch.split("k", 4)
        sch.unroll("k_i")
        sch.unroll("j")
    sch, m = check(matmul(6, 12, 5), apply, _mm_ref, exact=True)
    assert "for %k_i in 0..4 unrolled {" in print_module(m)


def test_unroll_refuses_more_than_1024_iterations():
    sch = Schedule(parse_module(add(2, 2048)))
    refuses(sch, lambda: sch.unroll("j"), "unroll %j", "2048 iterations", "at most 1024")


def test_vectorize_innermost_spatial_loop():
    def apply(sch):
        sch.split("j", 8)            # 21 = 3 * 8 - 3: the vector loop is predicated
        sch.reorder("k", "j_o", "j_i")   # i, k, j_o, j_i: each j_i writes its own C element
        sch.vectorize("j_i")
    text = matmul(9, 11, 21)
    sch, m = check(text, apply, _mm_ref, exact=True)
    assert "for %j_i in 0..8 vectorized {" in print_module(m)
    check(add(3, 37), lambda s: s.vectorize("j"), lambda ins: {"out": ins["x"] + ins["y"]})


def test_vectorize_refusals():
    sch = Schedule(parse_module(matmul(4, 4, 4)))
    refuses(sch, lambda: sch.vectorize("j"), "vectorize %j", "not innermost",
            "loop %k is inside it")
    refuses(sch, lambda: sch.vectorize("k"), "vectorize %k",
            'bound into reduce variable %vk of block "C"')
    scan = Schedule(parse_module(SCAN))
    refuses(scan, lambda: scan.vectorize("i"), "vectorize %i", "carries a dependence",
            "%out", 'block "scan"')


def test_parallel_outer_and_fused_loops():
    check(matmul(13, 6, 10), lambda s: s.parallel("i"), _mm_ref, exact=True)

    def fused(sch):
        f = sch.fuse("i", "j")
        sch.parallel(f)
    sch, m = check(add(7, 9), fused, lambda ins: {"out": ins["x"] + ins["y"]})
    assert "for %i_j_fused in 0..63 parallel {" in print_module(m)


def test_parallel_split_of_fused_loop_and_rowsum():
    def apply(sch):
        f = sch.fuse("i", "j")
        o, _ = sch.split(f, 5)
        sch.parallel(o)
    check(add(4, 6), apply, lambda ins: {"out": ins["x"] + ins["y"]})
    check(rowsum(11, 5), lambda s: s.parallel("i"), lambda ins: {"out": ins["x"].sum(1)},
          exact=True)


def test_parallel_refusals():
    sch = Schedule(parse_module(rowsum(4, 8)))
    refuses(sch, lambda: sch.parallel("k"), "parallel %k",
            'loop %k is bound into reduce variable %vk of block "sum"')
    scan = Schedule(parse_module(SCAN))
    refuses(scan, lambda: scan.parallel("i"), "parallel %i", "carries a dependence",
            "%out[%vi + 1] written by block \"scan\"", "%out[%vi] read")
    # a block that writes one element in every iteration: not data-parallel
    last = Schedule(parse_module("""
    func @f(%x: f32[8], %out: f32[1]) {
      for %i in 0..8 {
        block "last"(%vi: spatial[8] = %i) {
          %out[0] = %x[%vi]
        }
      }
    }"""))
    refuses(last, lambda: last.parallel("i"), "carries a dependence", "%out[0] written")


def test_parallel_accepts_buffers_private_to_an_iteration():
    text = """
    func @f(%x: f32[6,8], %out: f32[6,8]) {
      for %i in 0..6 {
        alloc %row: f32[8]
        for %j in 0..8 {
          %row[%j] = %x[%i, %j] * 2.0f32
        }
        for %j2 in 0..8 {
          %out[%i, %j2] = %row[7 - %j2]
        }
      }
    }"""
    check(text, lambda s: s.parallel("i"), lambda ins: {"out": ins["x"][:, ::-1] * 2})
