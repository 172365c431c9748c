"""The runtime ABI shared by the JIT and shared libraries: a JSON-able description of a compiled
module, and the Python wrapper that calls its functions with numpy arrays through ctypes.

    abi = module_abi(loop_module, codegen)      # what a loader needs besides the code
    cm = CompiledModule(abi, resolve, consts)   # resolve(symbol) -> address
    cm["add_relu"](x, y, out)                   # checks dtype/shape/strides, raises on errors

See backends/llvm/__init__.py for the ABI itself (symbols, argument order, status codes)."""
from __future__ import annotations

import ctypes
from typing import Callable, Mapping, Optional

import numpy as np

from compiler.errors import AiccError
from compiler.loop.stmt import CallFunc, Store
from compiler.loop.visitor import walk

ABI_VERSION = 1
STATUS_MESSAGES = {1: "out-of-bounds access", 2: "integer division by zero"}


class RuntimeCheckError(AiccError):
    """A compiled function failed a runtime check (bounds_check mode): the message names the
    function, the buffer, the dimension and the offending index."""


class ArgumentError(AiccError, ValueError):
    """A compiled function was called with arrays that do not match its parameters."""


def written_params(lm) -> dict:
    """{func name: set of param indices the function (or a callee) may write}."""
    out = {f.name: set() for f in lm.funcs}
    changed = True
    while changed:
        changed = False
        for f in lm.funcs:
            pos = {id(p): k for k, p in enumerate(f.params)}
            new = set(out[f.name])
            for n in walk(f.body):
                if isinstance(n, Store) and id(n.buffer) in pos:
                    new.add(pos[id(n.buffer)])
                elif isinstance(n, CallFunc):
                    for k, b in enumerate(n.args):
                        if k in out.get(n.func, ()) and id(b) in pos:
                            new.add(pos[id(b)])
            if new != out[f.name]:
                out[f.name], changed = new, True
    return out


def module_abi(lm, cg) -> dict:
    from .codegen import ERROR_FIELDS, ERROR_SYMBOL, NUM_THREADS_SYMBOL, func_symbol
    written = written_params(lm)
    return {
        "abi_version": ABI_VERSION,
        "module": lm.name,
        "functions": [{
            "name": f.name, "symbol": func_symbol(f.name),
            "params": [{"name": p.name, "dtype": p.dtype.name, "shape": list(p.shape),
                        "strides": list(p.strides), "written": k in written[f.name]}
                       for k, p in enumerate(f.params)]} for f in lm.funcs],
        "consts": [{"name": b.name, "symbol": cg.const_symbols[b.name], "dtype": b.dtype.name,
                    "shape": list(b.shape)} for b in lm.consts],
        "arena_size": lm.arena_size,
        "error_symbol": ERROR_SYMBOL, "error_fields": list(ERROR_FIELDS),
        "num_threads_symbol": NUM_THREADS_SYMBOL,
        "buffers": cg.buffer_table,
        "status_codes": {str(k): v for k, v in STATUS_MESSAGES.items()},
    }


class CompiledFunction:
    def __init__(self, owner: "CompiledModule", spec: dict, address: int):
        self.owner, self.spec, self.name = owner, spec, spec["name"]
        self.params = spec["params"]
        n = len(self.params) + 1
        self._cfunc = ctypes.CFUNCTYPE(ctypes.c_int32, *([ctypes.c_void_p] * n))(address)
        self._np = [(np.dtype(_np_name(p["dtype"])), tuple(p["shape"]),
                     tuple(s * np.dtype(_np_name(p["dtype"])).itemsize for s in p["strides"]))
                    for p in self.params]

    def __repr__(self) -> str:
        sig = ", ".join(f"%{p['name']}: {p['dtype']}{p['shape']}" for p in self.params)
        return f"<compiled @{self.name}({sig})>"

    def check(self, arrays) -> None:
        if len(arrays) != len(self.params):
            raise ArgumentError(f"@{self.name} takes {len(self.params)} arrays "
                                f"({', '.join('%' + p['name'] for p in self.params)}), got "
                                f"{len(arrays)}")
        for a, p, (dt, shape, strides) in zip(arrays, self.params, self._np):
            what = f"@{self.name}: argument %{p['name']}"
            if not isinstance(a, np.ndarray):
                raise ArgumentError(f"{what} must be a numpy array, got {type(a).__name__}")
            if a.dtype != dt:
                raise ArgumentError(f"{what} has dtype {a.dtype}, expected {dt}")
            if a.shape != shape:
                raise ArgumentError(f"{what} has shape {a.shape}, expected {shape}")
            if a.size and any(n > 1 and s != e for n, s, e in zip(shape, a.strides, strides)):
                raise ArgumentError(f"{what} has strides {a.strides} bytes, expected {strides} "
                                    "(pass a C-contiguous array: np.ascontiguousarray)")
            if not a.flags.aligned:
                raise ArgumentError(f"{what} is not aligned to its element size")
            if p["written"] and not a.flags.writeable:
                raise ArgumentError(f"{what} is written by the function but is read-only")
        for i, (a, p) in enumerate(zip(arrays, self.params)):
            if not p["written"] or a.size == 0:
                continue
            for j, b in enumerate(arrays):
                if j != i and b.size and np.may_share_memory(a, b):
                    raise ArgumentError(f"@{self.name}: %{p['name']} is written and overlaps "
                                        f"%{self.params[j]['name']} (parameters must not alias)")

    def __call__(self, *arrays) -> None:
        self.check(arrays)
        self.call_unchecked(*arrays)

    def call_unchecked(self, *arrays) -> None:
        ptrs = [a.ctypes.data for a in arrays] + [self.owner.arena_ptr]
        rc = self._cfunc(*ptrs)
        if rc != 0:
            raise self.owner.decode_error(rc, self.name)


def _np_name(dtype_name: str) -> str:
    from compiler.ir.dtypes import from_name
    return from_name(dtype_name).np_dtype.name


class CompiledModule:
    """Callable functions of a compiled loop module (JIT or shared library)."""

    def __init__(self, abi: dict, resolve: Callable[[str], int],
                 consts: Optional[Mapping[str, np.ndarray]] = None, keepalive=(),
                 llvm_ir: Optional[str] = None):
        if abi.get("abi_version") != ABI_VERSION:
            raise AiccError(f"compiled module has ABI version {abi.get('abi_version')}; this "
                            f"runtime reads version {ABI_VERSION}")
        self.abi, self._keepalive, self.llvm_ir = abi, list(keepalive), llvm_ir
        self._error = (ctypes.c_int64 * len(abi["error_fields"])).from_address(
            resolve(abi["error_symbol"]))
        self._num_threads = ctypes.c_int32.from_address(resolve(abi["num_threads_symbol"]))
        self._consts = {}
        consts = consts or {}
        for c in abi["consts"]:
            if c["name"] not in consts:
                raise AiccError(f"compiled module needs the weight %{c['name']}, which was not "
                                "given")
            arr = np.ascontiguousarray(consts[c["name"]])
            if arr.dtype != np.dtype(_np_name(c["dtype"])) or list(arr.shape) != c["shape"]:
                raise AiccError(f"weight %{c['name']} is {arr.dtype}{list(arr.shape)}, expected "
                                f"{c['dtype']}{c['shape']}")
            self._consts[c["name"]] = arr
            ctypes.c_void_p.from_address(resolve(c["symbol"])).value = arr.ctypes.data
        size = abi["arena_size"]
        self._arena = np.zeros(size + 64, np.uint8) if size else None
        self.arena_ptr = None if self._arena is None else \
            self._arena.ctypes.data + (-self._arena.ctypes.data) % 64
        self.functions = {f["name"]: CompiledFunction(self, f, resolve(f["symbol"]))
                          for f in abi["functions"]}

    def __getitem__(self, name: str) -> CompiledFunction:
        try:
            return self.functions[name]
        except KeyError:
            raise KeyError(f"compiled module @{self.abi['module']} has no function @{name} "
                           f"(has: {', '.join('@' + n for n in self.functions)})") from None

    def __getattr__(self, name: str):
        funcs = self.__dict__.get("functions", {})
        if name in funcs:
            return funcs[name]
        raise AttributeError(name)

    @property
    def num_threads(self) -> int:
        return self._num_threads.value

    def set_num_threads(self, n: int) -> None:
        """Threads for parallel loops from now on (0 = OpenMP's default)."""
        if n < 0:
            raise ValueError("num_threads must be >= 0")
        self._num_threads.value = int(n)

    def decode_error(self, rc: int, func_name: str) -> AiccError:
        rec = dict(zip(self.abi["error_fields"], list(self._error)))
        for k in range(len(self._error)):
            self._error[k] = 0
        what = STATUS_MESSAGES.get(rc, f"error status {rc}")
        funcs = self.abi["functions"]
        where = funcs[rec["func"]]["name"] if 0 <= rec["func"] < len(funcs) else func_name
        if rc == 1 and 0 <= rec["buffer"] < len(self.abi["buffers"]):
            buf = self.abi["buffers"][rec["buffer"]]["buffer"]
            return RuntimeCheckError(
                f"{what} in @{where} (called as @{func_name}): buffer %{buf}, dimension "
                f"{rec['dim']}: index {rec['index']} is outside [0, {rec['extent']})")
        return RuntimeCheckError(f"{what} in @{where} (called as @{func_name})")
