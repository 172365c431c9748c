"""Native code in and out of the backend: building the shared library of a loop module, loading
one from bytes, and what the host machine is (all through the late-import hook to backends.llvm).

The dynamic linker does not load a path twice, so each load writes the library to a fresh
temporary file, dlopens it and unlinks it at once: the mapping lives as long as the handle,
which the returned CompiledModule keeps."""
from __future__ import annotations

import os
import tempfile
from importlib import metadata

from ..errors import AiccError
from .. import plugins
from .artifact import target_record


def backend_options(config):
    """The backend's CompileOptions for a CompileConfig (-O sets the LLVM level, as clang's)."""
    return plugins.llvm_backend().CompileOptions(
        opt_level=config.opt_level, fast_math=config.fast_math,
        bounds_check=config.bounds_check, num_threads=config.threads, math=config.math)


def lower_target(options) -> dict:
    """The fields of passes.lower's LowerTarget for backend `options`."""
    target = plugins.llvm_backend().target
    _, features = target.cpu_and_features(options)
    return {"vector_bits": target.native_vector_bits(options),
            "num_threads": options.num_threads, "parallel": options.parallel,
            "features": tuple(f[1:] for f in features.split(",") if f.startswith("+")),
            "bounds_check": options.bounds_check}


def build_library(lm, options) -> tuple[bytes, dict]:
    """(shared library bytes, ABI metadata) of a loop module."""
    backend = plugins.llvm_backend()
    with tempfile.TemporaryDirectory(prefix="aicc-build-") as d:
        lib = backend.build_shared_library(lm, os.path.join(d, "model.so"), options)
        with open(lib.path, "rb") as f:
            return f.read(), lib.abi


def load_library(code, abi: dict, weights: dict, num_threads: int):
    """A CompiledModule running `code` (the bytes of a shared library) with `weights`."""
    backend = plugins.llvm_backend()
    fd, path = tempfile.mkstemp(prefix="aicc-model-", suffix=".so")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(code)
        try:
            module = backend.load_shared_library(path, abi, consts=weights)
        except AiccError as e:      # name the model's code, not the temporary file
            raise AiccError(f"cannot load the model's code: {str(e).replace(path, 'model.so')}") \
                from None
    finally:
        os.unlink(path)
    module.set_num_threads(num_threads)
    return module


def host_target() -> tuple[str, str]:
    """(CPU name, LLVM feature string) of this machine."""
    target = plugins.llvm_backend().target
    return target.host_cpu(), target.host_features()


def code_target(options) -> dict:
    """The header's record of what `options` compile for."""
    target = plugins.llvm_backend().target
    cpu, features = target.cpu_and_features(options)
    return target_record(cpu, features, target.llvm.get_process_triple())


def versions() -> dict:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "unknown"
    llvm_info = getattr(plugins.llvm_backend().target.llvm, "llvm_version_info", None)
    return {"aicc": version("aicc"), "llvmlite": version("llvmlite"),
            "llvm": ".".join(map(str, llvm_info)) if llvm_info else "unknown"}
