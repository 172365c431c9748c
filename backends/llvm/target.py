"""The host target: LLVM initialisation, the target machine (host CPU name and features, never a
generic x86-64), the optimisation pipeline (new pass manager, O3 with loop and SLP
vectorisation) and the compile options."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

import llvmlite.binding as llvm

MATH_MODES = ("poly", "libm")


@dataclass(frozen=True)
class CompileOptions:
    """Options of one compilation.

    opt_level     LLVM optimisation level 0..3 (the new pass manager's O-level pipeline)
    fast_math     put the `fast` flags on float operations (reassociation, FMA contraction,
                  no NaN/inf/signed-zero guarantees). Default off: IEEE semantics, no
                  contraction (an explicit `fma` intrinsic is still one fused operation)
    bounds_check  check every index of every load/store against the buffer's shape (and
                  integer division by zero); a violation makes the call return an error
                  status instead of touching memory, and Python raises RuntimeCheckError
    num_threads   threads for `parallel` loops (the initial value of the module's
                  __aicc_num_threads; CompiledModule.set_num_threads changes it); 0 = OpenMP's
                  default (OMP_NUM_THREADS or all cores)
    parallel      False runs parallel loops serially (no OpenMP)
    math          "poly": exp/log/tanh/erf/sigmoid of f32 use inline, vectorisable
                  polynomials (about 1-2 ulp); "libm": they call the C library
    cpu/features  override the host CPU name / feature string (tests, cross-compiling)"""
    opt_level: int = 3
    fast_math: bool = False
    bounds_check: bool = False
    num_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    parallel: bool = True
    math: str = "poly"
    cpu: Optional[str] = None
    features: Optional[str] = None

    def __post_init__(self):
        if not 0 <= self.opt_level <= 3:
            raise ValueError(f"opt_level must be 0..3, got {self.opt_level}")
        if self.math not in MATH_MODES:
            raise ValueError(f"math must be one of {MATH_MODES}, got {self.math!r}")
        if self.num_threads < 0:
            raise ValueError(f"num_threads must be >= 0, got {self.num_threads}")


def as_options(options=None, **overrides) -> CompileOptions:
    if options is None:
        options = CompileOptions()
    elif isinstance(options, dict):
        options = CompileOptions(**options)
    if overrides:
        from dataclasses import replace
        options = replace(options, **overrides)
    return options


@lru_cache(maxsize=None)
def init_llvm() -> None:
    """Initialise LLVM's native target once (llvm.initialize() raises in llvmlite >= 0.44)."""
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()


@lru_cache(maxsize=None)
def host_cpu() -> str:
    init_llvm()
    return llvm.get_host_cpu_name()


@lru_cache(maxsize=None)
def host_features() -> str:
    init_llvm()
    return llvm.get_host_cpu_features().flatten()


def cpu_and_features(options: CompileOptions) -> tuple[str, str]:
    return options.cpu or host_cpu(), options.features if options.features is not None \
        else host_features()


def has_feature(features: str, name: str) -> bool:
    return re.search(r"(^|,)\+" + re.escape(name) + r"(,|$)", features) is not None


def native_vector_bits(options: CompileOptions) -> int:
    _, feats = cpu_and_features(options)
    if has_feature(feats, "avx512f"):
        return 512
    if has_feature(feats, "avx"):
        return 256
    return 128


def create_target_machine(options: CompileOptions, *, jit: bool = False, pic: bool = False):
    init_llvm()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    cpu, feats = cpu_and_features(options)
    return target.create_target_machine(
        cpu=cpu, features=feats, opt=options.opt_level,
        reloc="pic" if pic else "default",
        codemodel="jitdefault" if jit else "default", jit=jit)


def optimize(module_ref, tm, options: CompileOptions) -> None:
    """Run the O-level pipeline (with loop and SLP vectorisation) on a parsed module."""
    if options.opt_level == 0:
        return
    pto = llvm.create_pipeline_tuning_options(speed_level=options.opt_level)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pto.loop_unrolling = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(module_ref, pb)
