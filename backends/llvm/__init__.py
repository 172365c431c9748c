"""The LLVM backend: loop IR -> LLVM IR (llvmlite) -> native code, in-process (JIT) or as a
shared library (AOT).

    from backends.llvm import compile_module, build_shared_library, load_shared_library
    cm = compile_module(loop_module, fast_math=False, bounds_check=False, num_threads=2)
    cm["f"](x, out)                      # numpy arrays, checked against the parameters
    print(emit_llvm_ir(loop_module)); print(emit_asm(loop_module))

Options (target.CompileOptions): opt_level, fast_math, bounds_check, num_threads, parallel,
math ("poly" | "libm"), cpu / features (default: the host's).

ABI (version 1) of a compiled module, JIT or .so:

* one exported function per LoopFunc `f`:
      int32_t aicc_f(T0 *p0, ..., Tn-1 *pn-1, uint8_t *arena)
  parameters in declaration order, each a pointer to the buffer's first element (distinct,
  non-overlapping: they are `noalias`), then the module's arena (64-byte aligned,
  `arena_size` bytes; may be NULL when the size is 0). Arena buffers live at their byte
  offsets in it. The result is a status: 0 ok, 1 out-of-bounds access, 2 integer division by
  zero (only with bounds_check; then no memory was touched by the failing access).
* `void *__aicc_const_<name>`: one global per const buffer (weight); the loader stores the
  address of the weight's C-contiguous data there before the first call.
* `int32_t __aicc_num_threads`: threads for parallel loops (0 = OpenMP's default).
* `int64_t __aicc_error[6]`: status, function index, buffer index (into the ABI metadata's
  `buffers` table), dimension, offending index, extent of the last runtime-check failure.
* Parallel loops call GOMP_parallel from libgomp; math may call libm.

`module_abi` (in abi.py) gives this as a JSON-able dict; `CompiledModule` wraps either kind."""
from .abi import ArgumentError, CompiledFunction, CompiledModule, RuntimeCheckError, module_abi
from .aot import SharedLibrary, build_shared_library, emit_object, load_shared_library
from .codegen import build_llvm_module, emit_llvm_ir
from .jit import compile_module, emit_asm
from .target import CompileOptions

__all__ = ["ArgumentError", "CompiledFunction", "CompiledModule", "RuntimeCheckError",
           "module_abi", "SharedLibrary", "build_shared_library", "emit_object",
           "load_shared_library", "build_llvm_module", "emit_llvm_ir", "compile_module",
           "emit_asm", "CompileOptions"]
