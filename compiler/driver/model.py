"""CompiledModel: a compiled model ready to run (from `compiler.compile` or `compiler.load`).

    outs = m.run({"x": x})          # {output name: np.ndarray}, new arrays every call
    y = m(x)                        # positional (or by name); one output -> an array, else a tuple
    m.save("model.aicc"); m.num_threads = 4; m.inputs; m.outputs; m.stats

An inference is one native call (the entry function runs every kernel); Python only checks the
inputs (names, dtypes, shapes) and allocates the outputs. The memory arena for intermediates is
allocated once per model, so calls on one model are serialised by a lock."""
from __future__ import annotations

import difflib
import os
import threading
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..errors import AiccError
from ..ir.dtypes import from_name
from .artifact import Artifact, ArtifactError, check_target, read_artifact, write_artifact
from .native import host_target, load_library


class InputError(AiccError, ValueError):
    """The inputs given to a compiled model do not match what it takes."""


@dataclass(frozen=True)
class TensorSpec:
    """An input or output of a compiled model."""
    name: str
    dtype: str                 # aicc dtype name, e.g. "f32"
    shape: tuple

    @property
    def np_dtype(self) -> np.dtype:
        return from_name(self.dtype).np_dtype

    def __str__(self) -> str:
        return f"{self.name}: {self.dtype}[{','.join(map(str, self.shape))}]"

    @classmethod
    def from_json(cls, d: dict) -> "TensorSpec":
        return cls(str(d["name"]), str(d["dtype"]), tuple(int(x) for x in d["shape"]))


class CompiledModel:
    def __init__(self, artifact: Artifact, num_threads=None):
        header = artifact.header
        self._artifact = artifact
        where = artifact.path or "the compiled model"
        try:
            self.inputs = [TensorSpec.from_json(d) for d in header["inputs"]]
            self.outputs = [TensorSpec.from_json(d) for d in header["outputs"]]
            for spec in self.inputs + self.outputs:
                spec.np_dtype           # an unknown dtype name raises here
        except (KeyError, TypeError, ValueError) as e:
            raise ArtifactError(f"{where}: malformed input/output metadata ({e})") from None
        threads = num_threads or header.get("options", {}).get("num_threads") or \
            os.cpu_count() or 1
        self._module = load_library(artifact.code, header["abi"], artifact.weights, threads)
        self._main = self._module[header["entry"]]
        self._check_entry(where)
        self._np_inputs = [(s, s.np_dtype) for s in self.inputs]
        self._np_outputs = [(s.shape, s.np_dtype) for s in self.outputs]
        self._by_name = {s.name: k for k, s in enumerate(self.inputs)}
        self._lock = threading.Lock()

    def _check_entry(self, where: str) -> None:
        params = self._main.params
        specs = self.inputs + self.outputs
        if len(params) != len(specs) or any(
                p["dtype"] != s.dtype or tuple(p["shape"]) != s.shape
                for p, s in zip(params, specs)):
            got = ", ".join(f"{p['dtype']}{p['shape']}" for p in params)
            raise ArtifactError(f"{where}: the entry function's parameters ({got}) do not "
                                f"match the model's inputs and outputs "
                                f"({', '.join(map(str, specs))})")

    # ---- running -----------------------------------------------------------------------------
    def run(self, feeds: Mapping) -> dict:
        """Run one inference: {input name: array} -> {output name: new np.ndarray}."""
        if not isinstance(feeds, Mapping):
            raise InputError(f"run() takes a dict {{input name: array}}, got "
                             f"{type(feeds).__name__}; call the model (m(x, ...)) to pass "
                             "arrays by position")
        if len(feeds) != len(self.inputs) or any(k not in self._by_name for k in feeds):
            self._name_error(feeds)
        return self._run([feeds[s.name] for s in self.inputs])

    def __call__(self, *args, **kwargs):
        """Inputs by position (in `.inputs` order) and/or by name; returns the output array,
        or a tuple of them when the model has several."""
        if len(args) > len(self.inputs):
            raise InputError(f"the model takes {len(self.inputs)} input(s) "
                             f"({self._signature()}), got {len(args)} positional arrays")
        feeds = {s.name: a for s, a in zip(self.inputs, args)}
        for k, v in kwargs.items():
            if k in feeds:
                raise InputError(f"input '{k}' is given both by position and by name")
            feeds[k] = v
        outs = self.run(feeds)
        values = [outs[s.name] for s in self.outputs]
        return values[0] if len(values) == 1 else tuple(values)

    def _run(self, arrays: list) -> dict:
        ins = [self._check(a, spec, dt) for a, (spec, dt) in zip(arrays, self._np_inputs)]
        outs = [np.empty(shape, dt) for shape, dt in self._np_outputs]
        with self._lock:
            self._main.call_unchecked(*ins, *outs)
        return {s.name: o for s, o in zip(self.outputs, outs)}

    @staticmethod
    def _check(a, spec: TensorSpec, dt: np.dtype) -> np.ndarray:
        if not isinstance(a, np.ndarray):
            try:
                a = np.asarray(a)
            except Exception as e:  # noqa: BLE001 - any failure means "not array-like"
                raise InputError(f"input '{spec.name}' ({spec}) must be a numpy array, got "
                                 f"{type(a).__name__} ({e})") from None
        if a.dtype != dt:
            raise InputError(f"input '{spec.name}' has dtype {a.dtype}, expected {dt} ({spec});"
                             f" convert it with .astype(np.{dt.name})")
        if a.shape != spec.shape:
            raise InputError(f"input '{spec.name}' has shape {a.shape}, expected {spec.shape} "
                             f"({spec})")
        if not (a.flags.c_contiguous and a.flags.aligned):
            a = np.require(a, requirements=["C", "A"])     # the code reads dense rows
        return a

    def _name_error(self, feeds: Mapping) -> None:
        names = [s.name for s in self.inputs]
        for k in feeds:
            if k not in self._by_name:
                close = [n for n in names if n.lower() == str(k).lower()] or \
                    difflib.get_close_matches(str(k), names, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise InputError(f"unexpected input '{k}'{hint}; the model takes "
                                 f"{self._signature()}")
        missing = [s for s in self.inputs if s.name not in feeds]
        raise InputError(f"missing input{'s' if len(missing) > 1 else ''} "
                         + ", ".join(f"'{s.name}' ({s})" for s in missing)
                         + f"; the model takes {self._signature()}")

    def _signature(self) -> str:
        return ", ".join(map(str, self.inputs)) or "no inputs"

    # ---- settings and metadata ----------------------------------------------------------------
    @property
    def num_threads(self) -> int:
        return self._module.num_threads

    @num_threads.setter
    def num_threads(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise AiccError(f"num_threads must be a positive integer, got {n!r}")
        with self._lock:
            self._module.set_num_threads(int(n))

    @property
    def metadata(self) -> dict:
        """The artifact header: inputs, outputs, target, versions, options, stats, ABI."""
        return self._artifact.header

    @property
    def stats(self) -> dict:
        """Compilation statistics: seconds per phase and per pass, op counts, sizes."""
        return self._artifact.header.get("stats", {})

    @property
    def path(self):
        """The artifact file this model was loaded from (None when compiled in-process)."""
        return self._artifact.path

    def save(self, path) -> str:
        """Write the one-file artifact (code, weights, metadata); returns the path."""
        a = self._artifact
        write_artifact(path, a.header, a.code, a.weights)
        return os.fspath(path)

    def __repr__(self) -> str:
        outs = ", ".join(map(str, self.outputs))
        return f"<CompiledModel {self.metadata.get('model', '?')}({self._signature()}) -> {outs}>"


def load(path, num_threads=None, verify_checksums: bool = True) -> CompiledModel:
    """Open an artifact written by `CompiledModel.save` / `aicc compile` (no recompiling).
    Refuses (ArtifactError) damaged files and code for CPU features this machine lacks."""
    artifact = read_artifact(path, verify_checksums=verify_checksums)
    cpu, features = host_target()
    check_target(artifact.header, cpu, features, os.fspath(path))
    return CompiledModel(artifact, num_threads)
