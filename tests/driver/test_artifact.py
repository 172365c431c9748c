"""The one-file artifact: save/load round trip without recompiling, weights mapped not copied,
and every kind of damaged or foreign file refused with one line (the process lives on)."""
import json
import mmap
import struct

import numpy as np
import pytest

import compiler
from backends.llvm.target import host_features
from compiler import plugins
from compiler.driver.artifact import (ALIGN, FORMAT_VERSION, MAGIC, PREFIX, ArtifactError,
                                      read_artifact, write_artifact)

from ._models import elementwise_graph, random_feeds


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(model, path of its saved artifact, feeds, expected outputs)."""
    m = compiler.compile(elementwise_graph(), opt_level=2, disabled_passes=["fuse"])
    path = tmp_path_factory.mktemp("art") / "ew.aicc"
    assert m.save(path) == str(path)
    feeds = random_feeds(m.inputs, 3)
    return m, path, feeds, m.run(feeds)


def layout(path):
    """(data region start, section table) of an artifact file."""
    raw = path.read_bytes()
    _, _, _, hlen, _ = PREFIX.unpack(raw[:PREFIX.size])
    header = json.loads(raw[PREFIX.size:PREFIX.size + hlen])
    return -(-(PREFIX.size + hlen) // ALIGN) * ALIGN, header["sections"]


def test_round_trip_runs_without_recompiling(saved, monkeypatch):
    m, path, feeds, expected = saved

    def no_compiling(*a, **k):
        raise AssertionError("load() must not compile")
    monkeypatch.setattr(plugins, "lower_graph", no_compiling)
    monkeypatch.setattr(plugins.llvm_backend(), "build_shared_library", no_compiling)
    m2 = compiler.load(path)
    for k, v in m2.run(feeds).items():
        np.testing.assert_array_equal(v, expected[k])
    assert m2.inputs == m.inputs and m2.outputs == m.outputs and m2.path == str(path)
    meta = m2.metadata
    assert meta["versions"]["aicc"] and meta["versions"]["llvm"].count(".") == 2
    assert meta["target"]["cpu"] and "avx2" in meta["target"]["features"]
    assert meta["options"]["disabled_passes"] == ["fuse"]
    assert m2.stats == json.loads(json.dumps(m.stats))
    assert "main" in [f["name"] for f in meta["abi"]["functions"]]


def test_weights_are_aligned_views_of_the_mapped_file(saved):
    _, path, _, _ = saved
    art = read_artifact(path)
    (name, w), = art.weights.items()
    np.testing.assert_array_equal(w, elementwise_graph().weights()["w"])
    base = w
    while isinstance(base, np.ndarray):
        base = base.base
    assert isinstance(base, memoryview) and base.obj is art.mapping
    assert isinstance(art.mapping, mmap.mmap) and not w.flags.writeable
    assert w.ctypes.data % ALIGN == 0
    start, sections = layout(path)
    assert all(s["offset"] % ALIGN == 0 for s in sections)
    assert [s["kind"] for s in sections] == ["shared-library", "weight"]


def test_saving_over_the_loaded_file_keeps_both_models_working(saved, tmp_path):
    m, path, feeds, expected = saved
    copy = tmp_path / "copy.aicc"
    copy.write_bytes(path.read_bytes())
    loaded = compiler.load(copy)
    loaded.save(copy)                       # replaces the file the model maps
    again = compiler.load(copy)
    for model in (loaded, again):
        np.testing.assert_array_equal(model.run(feeds)["probs"], expected["probs"])


def damaged(path, tmp_path, edit, name="bad.aicc"):
    raw = bytearray(path.read_bytes())
    new = edit(raw)
    raw = raw if new is None else new
    out = tmp_path / name
    out.write_bytes(bytes(raw))
    return out


def flip(offset):
    def edit(raw):
        raw[offset] ^= 0x5A
    return edit


def refused(path, message):
    with pytest.raises(ArtifactError, match=message) as info:
        compiler.load(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_wrong_magic_empty_and_non_artifact_files(saved, tmp_path):
    _, path, _, _ = saved
    refused(damaged(path, tmp_path, lambda r: r.__setitem__(slice(0, 4), b"\x7fELF")),
            "not an aicc artifact")
    refused(damaged(path, tmp_path, lambda r: bytearray(b"")), "is empty")
    refused(damaged(path, tmp_path, lambda r: bytearray(b"graph @g() {}\n")),
            "not an aicc artifact")
    with pytest.raises(ArtifactError, match="cannot read"):
        compiler.load(tmp_path)


@pytest.mark.parametrize("where", ["magic", "prefix", "header", "code", "weight"])
def test_truncated_files(saved, tmp_path, where):
    _, path, _, _ = saved
    start, sections = layout(path)
    cut = {"magic": 5, "prefix": PREFIX.size - 3, "header": PREFIX.size + 10,
           "code": start + sections[0]["size"] // 2,
           "weight": start + sections[1]["offset"] + 100}[where]
    refused(damaged(path, tmp_path, lambda r: r[:cut]), "is truncated")


def test_checksum_mismatches(saved, tmp_path):
    _, path, _, _ = saved
    start, sections = layout(path)
    refused(damaged(path, tmp_path, flip(PREFIX.size + 20)), r"corrupt \(header checksum")
    refused(damaged(path, tmp_path, flip(start + 1000)),
            r"checksum mismatch in shared-library section 'code'")
    w = sections[1]
    refused(damaged(path, tmp_path, flip(start + w["offset"] + 17)),
            f"checksum mismatch in weight section '{w['name']}'")


def test_unknown_format_version_and_malformed_header(saved, tmp_path):
    _, path, _, _ = saved
    refused(damaged(path, tmp_path, lambda r: r.__setitem__(
        slice(8, 12), struct.pack("<I", FORMAT_VERSION + 1))), "from a newer aicc")
    text = b'{"inputs": []}'
    import hashlib
    bad = PREFIX.pack(MAGIC, FORMAT_VERSION, 0, len(text), hashlib.sha256(text).digest()) + text
    refused(damaged(path, tmp_path, lambda r: bytearray(bad)), "malformed header")


def rewritten(path, tmp_path, change):
    art = read_artifact(path)
    header = json.loads(json.dumps(art.header))
    change(header)
    out = tmp_path / "rewritten.aicc"
    write_artifact(out, header, art.code, art.weights)
    return out


def test_code_for_missing_cpu_features_is_refused(saved, tmp_path):
    _, path, _, _ = saved
    lacking = [f[1:] for f in host_features().split(",") if f.startswith("-")][:1] \
        or ["aicc-test-feature"]

    def add_feature(h):
        h["target"]["features"] += lacking
        h["target"]["cpu"] = "futurecpu"
    bad = rewritten(path, tmp_path, add_feature)
    refused(bad, f"compiled for CPU 'futurecpu' and uses CPU features this machine's CPU "
                 f"\\('.+'\\) lacks: {lacking[0]}; recompile")

    def other_machine(h):
        h["target"]["machine"] = "aarch64"
    refused(rewritten(path, tmp_path, other_machine), "compiled for aarch64/")
    ok = rewritten(path, tmp_path, lambda h: None)       # the rewrite itself is harmless
    assert compiler.load(ok).outputs[0].name == "probs"


def test_entry_function_must_match_the_declared_inputs(saved, tmp_path):
    _, path, _, _ = saved

    def wrong_shape(h):
        h["inputs"][0]["shape"] = [16, 33]
    refused(rewritten(path, tmp_path, wrong_shape), "entry function's parameters")
