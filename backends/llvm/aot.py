"""Ahead-of-time compilation: loop IR -> a position-independent object file -> a shared library
(`cc -shared ... -lgomp -lm`), and a loader that gives the same callables as the JIT.

    lib = build_shared_library(loop_module, "build/model.so")      # -> SharedLibrary(path, abi)
    cm = load_shared_library(lib.path, lib.abi, consts=loop_module.weights())
    cm["main"](x, out)

`lib.abi` is a JSON-able dict (functions, parameters, weights, arena size, symbols); store it
beside the library (a packager bundles .so + weights + abi into one artifact). A path that is
already loaded in this process is not reloaded by the dynamic linker: write new builds to new
paths."""
from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Mapping, Optional

from compiler.errors import AiccError

from .abi import CompiledModule, module_abi
from .codegen import build_llvm_module
from .jit import parse_and_optimize
from .target import as_options


@dataclass
class SharedLibrary:
    path: str
    abi: dict


def emit_object(lm, options=None, **overrides) -> tuple[bytes, dict]:
    """(ELF object bytes, abi) of a loop module, compiled position-independent."""
    opts = as_options(options, **overrides)
    cg = build_llvm_module(lm, opts)
    mod, tm = parse_and_optimize(cg.finalize_text(), opts, pic=True)
    return tm.emit_object(mod), module_abi(lm, cg)


def find_c_compiler() -> str:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    raise AiccError("no C compiler (cc, gcc or clang) found to link the shared library")


def build_shared_library(lm, path: str, options=None, **overrides) -> SharedLibrary:
    obj, abi = emit_object(lm, options, **overrides)
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        obj_path = os.path.join(d, "module.o")
        with open(obj_path, "wb") as f:
            f.write(obj)
        # -Bsymbolic: the library's references to its own globals never bind elsewhere
        cmd = [find_c_compiler(), "-shared", "-Wl,-Bsymbolic", "-o", path, obj_path, "-lgomp",
               "-lm"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise AiccError(f"linking {path} failed ({' '.join(cmd)}):\n{proc.stderr.strip()}")
    return SharedLibrary(path, abi)


def load_shared_library(path: str, abi: dict,
                        consts: Optional[Mapping] = None) -> CompiledModule:
    """Load a library built by build_shared_library; `consts` gives the weights by name."""
    try:
        lib = ctypes.CDLL(os.path.abspath(path))
    except OSError as e:
        raise AiccError(f"cannot load shared library {path}: {e}") from None

    def resolve(symbol: str) -> int:
        try:
            return ctypes.addressof(ctypes.c_char.in_dll(lib, symbol))
        except ValueError:
            raise AiccError(f"{path}: symbol {symbol} not found (library and ABI metadata do "
                            "not match)") from None

    return CompiledModule(abi, resolve, consts, keepalive=(lib,))
