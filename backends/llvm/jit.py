"""In-process compilation: loop IR -> LLVM IR -> optimised machine code in an MCJIT engine.

    cm = compile_module(loop_module, fast_math=False, num_threads=2)
    cm["add_relu"](x, y, out)
    print(emit_asm(loop_module))"""
from __future__ import annotations

import ctypes.util
from functools import lru_cache

import llvmlite.binding as llvm

from compiler.errors import AiccError

from .abi import CompiledModule, module_abi
from .codegen import build_llvm_module
from .target import as_options, create_target_machine, init_llvm, optimize


@lru_cache(maxsize=None)
def load_runtime_libraries() -> None:
    """Make libgomp's and libm's symbols visible to JIT code (once per process)."""
    init_llvm()
    for name, fallback in (("gomp", "libgomp.so.1"), ("m", "libm.so.6")):
        path = ctypes.util.find_library(name) or fallback
        try:
            llvm.load_library_permanently(path)
        except RuntimeError as e:
            raise AiccError(f"cannot load the runtime library {path} (needed for parallel "
                            f"loops / math): {e}") from None


def parse_and_optimize(text: str, options, *, jit: bool = False, pic: bool = False):
    """(llvm module, target machine): the IR parsed, verified and optimised."""
    init_llvm()
    mod = llvm.parse_assembly(text)
    mod.verify()
    tm = create_target_machine(options, jit=jit, pic=pic)
    optimize(mod, tm, options)
    return mod, tm


def optimize_text(text: str, options):
    return parse_and_optimize(text, as_options(options))[0]


def compile_module(lm, options=None, **overrides) -> CompiledModule:
    """JIT-compile every function of loop module `lm`; options: a CompileOptions, a dict, or
    keyword overrides (fast_math=True, bounds_check=True, num_threads=2, ...)."""
    opts = as_options(options, **overrides)
    load_runtime_libraries()
    cg = build_llvm_module(lm, opts)
    text = cg.finalize_text()
    mod, tm = parse_and_optimize(text, opts, jit=True)
    engine = llvm.create_mcjit_compiler(mod, tm)
    engine.finalize_object()

    def resolve(symbol: str) -> int:
        addr = engine.get_global_value_address(symbol)
        if not addr:
            addr = engine.get_function_address(symbol)
        if not addr:
            raise AiccError(f"JIT: symbol {symbol} not found")
        return addr

    return CompiledModule(module_abi(lm, cg), resolve, lm.weights(), keepalive=(engine, tm),
                          llvm_ir=text)


def emit_asm(lm, options=None, **overrides) -> str:
    """The optimised native assembly of a loop module (for `--emit asm`)."""
    opts = as_options(options, **overrides)
    cg = build_llvm_module(lm, opts)
    mod, tm = parse_and_optimize(cg.finalize_text(), opts, pic=True)
    return tm.emit_assembly(mod)
