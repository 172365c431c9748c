"""Saving a graph with its weights: `m.ir` holds the text, `m.npz` (same stem) the constants that
the text references as `@name`. Weight files are memory-mapped-friendly .npz (uncompressed)."""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import AiccError
from .parser import parse_graph
from .printer import ELIDE_THRESHOLD, is_elided, print_graph


def weights_path(ir_path) -> Path:
    return Path(ir_path).with_suffix(".npz")


def save_graph(graph, path, elide_threshold: int = ELIDE_THRESHOLD) -> list[Path]:
    """Write `path` (IR text) and, if any constant is elided, its weights file. Returns the files."""
    path = Path(path)
    text = print_graph(graph, elide_large=True, elide_threshold=elide_threshold)
    path.write_text(text)
    written = [path]
    big = {c.name: c.data for c in graph.constants if is_elided(c.data, elide_threshold)}
    if big:
        wp = weights_path(path)
        # value names may hold any character: store arrays by position, names as a str array
        np.savez(wp, **{f"w{i}": a for i, a in enumerate(big.values())},
                 __names__=np.array(list(big.keys()), dtype=str))
        written.append(wp)
    return written


def load_weights(path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as z:
            names = [str(n) for n in z["__names__"]]
            return {n: z[f"w{i}"] for i, n in enumerate(names)}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        raise AiccError(f"cannot read weights file {path}: {e}") from None


def load_graph(path):
    """Read `path` (IR text) and the weights file beside it, if there is one."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise AiccError(f"cannot read IR file {path}: {e.strerror}") from None
    wp = weights_path(path)
    weights = load_weights(wp) if os.path.exists(wp) else None
    return parse_graph(text, weights, source_name=str(path))
