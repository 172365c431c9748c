"""Golden IR tests: every `*.ir` file here carries `// RUN:` lines (lit style) that are run by
pytest. `%s` is the file itself, `aicc` is this checkout's CLI and `filecheck` the FileCheck
implementation installed with the dev extra. A RUN line may pipe commands (`|`); it fails when
any command in it fails, unless it starts with `not ` (the command must then fail)."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _substitute(cmd: str, path: Path, tmpdir: Path) -> str:
    aicc = f"{shlex.quote(sys.executable)} -m compiler.cli.main"
    filecheck = shlex.quote(str(BIN / "filecheck")) if (BIN / "filecheck").exists() else "filecheck"
    words = []
    for w in cmd.split(" "):
        if w == "aicc":
            w = aicc
        elif w == "filecheck":
            w = filecheck
        words.append(w)
    cmd = " ".join(words)
    return cmd.replace("%s", shlex.quote(str(path))).replace("%t", shlex.quote(str(tmpdir / "t")))


def run_lines(path: Path) -> list[str]:
    runs, current = [], ""
    for line in path.read_text().splitlines():
        s = line.strip()
        if s.startswith("// RUN:"):
            part = s[len("// RUN:"):].strip()
            if current.endswith("\\"):
                current = current[:-1] + " " + part
            else:
                if current:
                    runs.append(current)
                current = part
    if current:
        runs.append(current)
    return runs


class GoldenItem(pytest.Item):
    """One file is one test (as in lit): its RUN lines run in order and share `%t`."""
    def __init__(self, *, runs: list, **kw):
        super().__init__(**kw)
        self.runs = runs

    def runtest(self):
        tmpdir = Path(self.config._tmp_path_factory.mktemp(self.path.stem))
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        for run_line in self.runs:
            expect_failure = run_line.startswith("not ")
            line = run_line[4:] if expect_failure else run_line
            cmd = _substitute(line, self.path, tmpdir)
            proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=300)
            failed = proc.returncode != 0
            if failed != expect_failure:
                raise GoldenFailure(run_line, cmd, proc)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, GoldenFailure):
            f = excinfo.value
            return (f"RUN: {f.run_line}\n$ {f.cmd}\nexit code {f.proc.returncode}\n"
                    f"--- stdout ---\n{f.proc.stdout}\n--- stderr ---\n{f.proc.stderr}")
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"golden: {self.path.name}"


class GoldenFailure(Exception):
    def __init__(self, run_line, cmd, proc):
        super().__init__(run_line)
        self.run_line, self.cmd, self.proc = run_line, cmd, proc


class GoldenFile(pytest.File):
    def collect(self):
        runs = run_lines(self.path)
        if not runs:
            raise pytest.UsageError(f"golden test {self.path} has no // RUN: line")
        yield GoldenItem.from_parent(self, name="RUN", runs=runs)


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".ir" and file_path.is_relative_to(Path(__file__).parent):
        return GoldenFile.from_parent(parent, path=file_path)
    return None
