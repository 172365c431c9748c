"""Traces (JSON round trip, replay, the apply-schedule pass), the loop-simplify pass, and a
tiled + packed + vectorized + parallel matmul checked with bounds checks on two threads."""
import json

import numpy as np
import pytest

from backends.llvm import compile_module
from compiler.errors import PassError
from compiler.loop import LoopModule, parse_module, print_module
from compiler.transform import PassManager
from passes.loop.schedule import Schedule, ScheduleError
from passes.loop.trace import Trace
from .schedule_helpers import add, matmul, run


def _fast_matmul(sch):
    sch.tile("i", "j", 8, 16)
    sch.split("k", 8)
    sch.reorder("i_o", "j_o", "k_o", "i_i", "k_i", "j_i")
    sch.cache_read("C", "B", "k_o")
    sch.cache_write("C", "C", "k_o")
    sch.vectorize("j_i")
    sch.parallel(sch.fuse("i_o", "j_o"))


def test_tiled_vectorized_parallel_matmul_with_bounds_checks():
    text = matmul(50, 33, 40)                      # no factor divides: predicates everywhere
    m = parse_module(text)
    rng = np.random.default_rng(3)
    ins = {"A": rng.standard_normal((50, 33), np.float32),
           "B": rng.standard_normal((33, 40), np.float32)}
    naive = run(parse_module(text), ins)["C"]
    sch = Schedule(m)
    _fast_matmul(sch)
    printed = print_module(m)
    assert "parallel {" in printed and "vectorized {" in printed
    cm = compile_module(m, bounds_check=True, num_threads=2)
    for threads in (1, 2):
        cm.set_num_threads(threads)
        C = np.full((50, 40), np.nan, np.float32)
        cm["matmul"](ins["A"], ins["B"], C)
        np.testing.assert_array_equal(C, naive)      # same summation order per element
        np.testing.assert_allclose(C, ins["A"] @ ins["B"], rtol=1e-4, atol=1e-4)


def test_trace_json_round_trip_and_replay(tmp_path):
    text = matmul(24, 16, 32)
    sch = Schedule(parse_module(text))
    _fast_matmul(sch)
    js = sch.trace.to_json()
    assert json.loads(js)[0] == {"prim": "tile", "args": {"l1": "i", "l2": "j", "f1": 8,
                                                          "f2": 16}}
    back = Trace.from_json(js)
    assert back == sch.trace and back.to_json() == js
    path = tmp_path / "t.json"
    sch.trace.save(str(path))
    fresh = parse_module(text)
    replayed = Trace.load(str(path)).replay(fresh)
    assert print_module(fresh) == print_module(sch.module)
    assert replayed.trace == sch.trace


def test_apply_schedule_pass_replays_on_the_named_function(tmp_path):
    text = matmul(16, 8, 16) + add(4, 8)
    sch = Schedule(parse_module(text), "matmul")
    sch.tile("i", "j", 4, 8)
    sch.parallel("i_o")
    path = tmp_path / "trace.json"
    sch.trace.save(str(path))
    fresh = parse_module(text)
    PassManager(f"apply-schedule{{trace={path} func=matmul}}").run(fresh)
    assert print_module(fresh) == print_module(sch.module)
    with pytest.raises(PassError, match="needs a trace file"):
        PassManager("apply-schedule").run(parse_module(text))
    with pytest.raises(PassError, match="2 functions; name the one"):
        PassManager(f"apply-schedule{{trace={path}}}").run(parse_module(text))


def test_trace_errors():
    with pytest.raises(ScheduleError, match="not valid JSON"):
        Trace.from_json("[{")
    with pytest.raises(ScheduleError, match="record 0 is not"):
        Trace.from_json('[{"prim": "split"}]')
    m = parse_module(add(4, 4))
    with pytest.raises(ScheduleError, match="unknown primitive"):
        Trace([{"prim": "explode", "args": {}}]).replay(m)
    with pytest.raises(ScheduleError, match="bad arguments"):
        Trace([{"prim": "split", "args": {"loop": "i"}}]).replay(m)
    with pytest.raises(ScheduleError, match="split %i: the factor must be a positive integer"):
        Trace([{"prim": "split", "args": {"loop": "i", "factor": "4"}}]).replay(m)


def test_schedule_of_a_bare_function_and_lookups():
    m = parse_module(matmul(4, 4, 4))
    sch = Schedule(m.funcs[0])
    assert sch.get_loops("C") == ["i", "j", "k"] and sch.get_blocks() == ["C"]
    sch.split("i", 2)
    assert sch.get_loops("C") == ["i_o", "i_i", "j", "k"]
    with pytest.raises(ScheduleError, match="scope arena needs a LoopModule"):
        sch.cache_read("C", "A", "k", scope="arena")
    with pytest.raises(ScheduleError, match='no block has this name'):
        sch.get_loops("D")


def test_loop_simplify_pass():
    m = parse_module("""
    func @f(%x: f32[4,8], %out: f32[32]) {
      for %i in 0..4 {
        for %j in 0..8 {
          %out[(%i + 1) * 8 + %j - 8] = %x[(%i * 8 + %j) / 8, (%i * 8 + %j) % 8]
        }
      }
    }""")
    assert isinstance(m, LoopModule)
    PassManager("loop-simplify").run(m)
    assert "%out[%i * 8 + %j] = %x[%i, %j]" in print_module(m)
    before = print_module(m)
    assert PassManager("loop-simplify").passes[0].run(m, None) is False
    assert print_module(m) == before


def test_loop_names_follow_the_printed_text():
    # the loop variable %j clashes with the buffer %j, so it prints as %j_1: the schedule
    # uses that name, and a trace recorded in memory replays on the text
    from compiler.loop import Buffer, IRBuilder, LoopFunc
    j, out = Buffer("j", "f32", (4, 8)), Buffer("out", "f32", (4, 8))
    b = IRBuilder()
    with b.for_("i", 4) as i:
        with b.for_("j", 8) as jj:
            with b.block("copy", [("vi", 4, "spatial", i), ("vj", 8, "spatial", jj)]) as (vi, vj):
                b.store(out, (vi, vj), j[vi, vj])
    m = LoopModule("m", [LoopFunc("f", [j, out], b.get())])
    text = print_module(m)
    assert "for %j_1 in 0..8 {" in text
    sch = Schedule(m)
    assert print_module(m) == text and sch.get_loops("copy") == ["i", "j_1"]
    sch.split("j_1", 4)
    fresh = parse_module(text)
    Trace.from_json(sch.trace.to_json()).replay(fresh)
    assert print_module(fresh) == print_module(m)
