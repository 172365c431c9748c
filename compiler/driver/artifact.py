"""The one-file artifact of a compiled model (`model.aicc`): code, weights and metadata.

Layout (little endian):

    offset 0   magic  b"\\x89AICC\\r\\n\\x1a"  (a high byte and line ends catch text-mode damage)
           8   u32    format version (FORMAT_VERSION)
          12   u32    flags (0)
          16   u64    header length in bytes
          24   32 B   sha256 of the header
          56   header: UTF-8 JSON (metadata, see below), then zero padding to a 64-byte boundary
               = the data region: sections, each at a 64-byte aligned offset from its start

The header holds the model's inputs/outputs (name, dtype, shape), the target (machine, LLVM
triple, CPU name and the CPU features the code was built for), the versions of aicc, llvmlite
and LLVM, the compile options and statistics, the runtime ABI of the code, and the section
table: {name, kind ("shared-library" | "weight"), offset (from the data region), size, sha256,
and dtype/shape for weights}. Weights are raw C-order bytes; `read_artifact` maps the file and
views them with np.frombuffer (no copy). Every way a file can be damaged is refused with one
ArtifactError line: wrong magic, unknown version, truncation, checksum mismatch, bad header."""
from __future__ import annotations

import hashlib
import json
import mmap
import os
import platform
import struct
import tempfile
from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np

from ..errors import AiccError
from ..ir.dtypes import from_name, from_numpy

MAGIC = b"\x89AICC\r\n\x1a"
FORMAT_VERSION = 1
ALIGN = 64
PREFIX = struct.Struct("<8sIIQ32s")
MAX_HEADER = 1 << 28         # a header this long is damage, not metadata


class ArtifactError(AiccError):
    """A file is not a loadable aicc artifact (damaged, foreign, or built for another CPU)."""


@dataclass
class Artifact:
    header: dict                                  # the metadata (without "sections" in memory)
    code: Union[bytes, memoryview]                # the shared library
    weights: dict = field(default_factory=dict)   # {const name: np.ndarray}
    path: Optional[str] = None                    # where it was read from
    mapping: Optional[mmap.mmap] = field(default=None, repr=False)   # keeps views valid


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _bytes_of(a: np.ndarray) -> memoryview:
    return memoryview(np.ascontiguousarray(a).reshape(-1).view(np.uint8))


def _sha(data) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- writing -------------------------------------------------------------------------------------
def write_artifact(path, header: dict, code, weights: dict) -> int:
    """Write the artifact atomically (a temporary file renamed over `path`, so a model that
    was loaded from `path`, and maps it, keeps its data). Returns the file size."""
    blobs = [("code", "shared-library", memoryview(code), {})]
    for name, arr in weights.items():
        arr = np.asarray(arr)
        meta = {"dtype": _aicc_dtype(arr.dtype, name), "shape": list(arr.shape)}
        blobs.append((name, "weight", _bytes_of(arr), meta))
    sections, offset = [], 0
    for name, kind, data, meta in blobs:
        sections.append({"name": name, "kind": kind, "offset": offset, "size": data.nbytes,
                         "sha256": _sha(data), **meta})
        offset = _align(offset + data.nbytes)
    text = json.dumps({**header, "sections": sections}, sort_keys=True).encode()
    prefix = PREFIX.pack(MAGIC, FORMAT_VERSION, 0, len(text), hashlib.sha256(text).digest())
    data_start = _align(PREFIX.size + len(text))
    path = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".aicc-", suffix=".tmp", dir=directory)
    except OSError as e:
        raise AiccError(f"cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(prefix + text + bytes(data_start - PREFIX.size - len(text)))
            for sec, (_, _, data, _) in zip(sections, blobs):
                f.write(bytes(data_start + sec["offset"] - f.tell()))
                f.write(data)
            size = f.tell()
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        os.unlink(tmp)
        raise AiccError(f"cannot write {path}: {e.strerror or e}") from None
    return size


def _aicc_dtype(dtype: np.dtype, what: str) -> str:
    try:
        return from_numpy(dtype).name
    except ValueError:
        raise AiccError(f"weight '{what}' has dtype {dtype}, which an artifact cannot "
                        "store") from None


# ---- reading -------------------------------------------------------------------------------------
def read_artifact(path, verify_checksums: bool = True) -> Artifact:
    """Map and check an artifact file; ArtifactError (one line) for anything wrong with it."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(PREFIX.size)
            if not head:
                raise ArtifactError(f"{path} is empty (not an aicc artifact)")
            if head[:len(MAGIC)] != MAGIC[:len(head)]:
                raise ArtifactError(f"{path} is not an aicc artifact (it does not start with "
                                    "the artifact magic bytes)")
            if len(head) < PREFIX.size:
                raise ArtifactError(f"{path} is truncated ({size} bytes, shorter than the "
                                    f"{PREFIX.size}-byte artifact prefix)")
            mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as e:
        raise ArtifactError(f"cannot read {path}: {e.strerror}") from None
    _, version, _flags, header_len, header_sha = PREFIX.unpack(head)
    if version != FORMAT_VERSION:
        newer = "a newer" if version > FORMAT_VERSION else "an older, unsupported"
        raise ArtifactError(f"{path} has artifact format version {version}, from {newer} "
                            f"aicc (this aicc reads version {FORMAT_VERSION}); recompile it")
    if header_len > MAX_HEADER:
        raise ArtifactError(f"{path} is corrupt (its header claims {header_len} bytes)")
    header_end = PREFIX.size + header_len
    if header_end > size:
        raise ArtifactError(f"{path} is truncated ({size} bytes; the header alone needs "
                            f"{header_end})")
    text = mapping[PREFIX.size:header_end]
    if hashlib.sha256(text).digest() != header_sha:
        raise ArtifactError(f"{path} is corrupt (header checksum mismatch)")
    try:
        header = json.loads(text)
        sections = header.pop("sections")
        data_start = _align(header_end)
        table = {s["name"]: s for s in sections}
        code_sec = next(s for s in sections if s["kind"] == "shared-library")
        for key in ("inputs", "outputs", "target", "abi", "entry"):
            header[key]
    except (ValueError, KeyError, TypeError, StopIteration, AttributeError) as e:
        raise ArtifactError(f"{path} is corrupt (malformed header: "
                            f"{type(e).__name__} {e})") from None
    for s in sections:
        end = data_start + s["offset"] + s["size"]
        if end > size:
            raise ArtifactError(f"{path} is truncated ({size} bytes; section '{s['name']}' "
                                f"ends at byte {end})")
        if verify_checksums and _sha(memoryview(mapping)[end - s["size"]:end]) != s["sha256"]:
            raise ArtifactError(f"{path} is corrupt (checksum mismatch in {s['kind']} "
                                f"section '{s['name']}')")
    view = memoryview(mapping)
    start = data_start + code_sec["offset"]
    code = view[start:start + code_sec["size"]]
    weights = {}
    for name, s in table.items():
        if s["kind"] != "weight":
            continue
        dt = from_name(s["dtype"]).np_dtype
        count = int(np.prod(s["shape"], dtype=np.int64))
        if count * dt.itemsize != s["size"]:
            raise ArtifactError(f"{path} is corrupt (weight '{name}' is {s['size']} bytes, "
                                f"but {s['dtype']}{s['shape']} needs {count * dt.itemsize})")
        arr = np.frombuffer(mapping, dt, count, data_start + s["offset"])
        weights[name] = arr.reshape(s["shape"])
    return Artifact(header, code, weights, path, mapping)


# ---- the target ----------------------------------------------------------------------------------
def target_record(cpu: str, features: str, triple: str) -> dict:
    """What the header says about the machine code: built for this CPU and these features."""
    enabled = sorted(f[1:] for f in features.split(",") if f.startswith("+"))
    return {"machine": platform.machine(), "system": platform.system(), "triple": triple,
            "cpu": cpu, "features": enabled}


def check_target(header: dict, host_cpu: str, host_features: str, where: str) -> None:
    """Refuse code built for another kind of machine, or for CPU features this one lacks."""
    t = header["target"]
    here = (platform.machine(), platform.system())
    if (t.get("machine"), t.get("system")) != here:
        raise ArtifactError(f"{where} was compiled for {t.get('machine')}/{t.get('system')} "
                            f"({t.get('triple')}); this machine is {here[0]}/{here[1]}")
    have = {f[1:] for f in host_features.split(",") if f.startswith("+")}
    missing = [f for f in t.get("features", []) if f not in have]
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8
                                         else "")
        raise ArtifactError(f"{where} was compiled for CPU '{t.get('cpu')}' and uses CPU "
                            f"features this machine's CPU ('{host_cpu}') lacks: {shown}; "
                            "recompile the model on this machine")
