"""The loop IR: buffers, loops, TensorIR-style blocks, scalar and vector expressions.

    from compiler.loop import *
    x = Buffer("x", "f32", (4, 8)); out = Buffer("out", "f32", (4, 8))
    body = loop("i", 4, lambda i: loop("j", 8, lambda j: out.store((i, j), max_(x[i, j], 0.0))))
    m = LoopModule("m", [LoopFunc("relu", [x, out], body)])
    verify(m); print(m)

Modules: expr (expressions), stmt (statements), buffer, module (LoopFunc, LoopModule),
visitor (walk / Mutator / substitute), arith (ranges, affine forms), simplify (rewrite rules),
printer / parser (text form), verifier, intrinsics (math function table), builder (an imperative
builder), kind (the "loop" IRKind for the pass manager). See README.md beside this file."""
from . import kind as _kind  # noqa: F401  (registers IRKind "loop")
from .buffer import Buffer, const_buffer
from .builder import IRBuilder
from .expr import (INDEX, Binary, Broadcast, Call, Cast, Expr, FloatImm, IntImm, Load, Not, Ramp,
                   Select, Var, as_expr, binary, call, cast, const, max_, min_, select)
from .module import LoopFunc, LoopModule
from .parser import parse_module
from .printer import print_func, print_module
from .simplify import simplify, simplify_stmt
from .stmt import (Allocate, Block, CallFunc, Evaluate, For, IfThenElse, IterVar, LetStmt, Seq,
                   Stmt, Store, loop, seq)
from .verifier import verify
from .visitor import Mutator, free_vars, substitute, walk

__all__ = ["Buffer", "const_buffer", "IRBuilder", "INDEX", "Binary", "Broadcast", "Call", "Cast",
           "Expr", "FloatImm", "IntImm", "Load", "Not", "Ramp", "Select", "Var", "as_expr",
           "binary", "call", "cast", "const", "max_", "min_", "select", "LoopFunc", "LoopModule",
           "parse_module", "print_func", "print_module", "simplify", "simplify_stmt", "Allocate",
           "Block", "CallFunc", "Evaluate", "For", "IfThenElse", "IterVar", "LetStmt", "Seq",
           "Stmt", "Store", "loop", "seq", "verify", "Mutator", "free_vars", "substitute", "walk"]
