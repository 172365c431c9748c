"""The docs' examples are executed: every ```python block of a page runs in order in one namespace,
and a plain ``` block introduced by a line ending in "prints" must equal what the preceding python
block printed."""
import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
# intro = the last non-blank line before the fence
BLOCK = re.compile(r"(?P<intro>[^\n]*)\n(?:[ \t]*\n)*```(?P<lang>[a-z]*)\n(?P<body>.*?)\n```", re.S)


def pages():
    return sorted(p for p in DOCS.glob("*.md") if "```python" in p.read_text())


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_doc_examples_run_and_show_real_output(page):
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    last_output = None
    checked = 0
    for m in BLOCK.finditer(page.read_text()):
        lang, body = m.group("lang"), m.group("body")
        if lang == "python":
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(body, f"{page.name}:python-block", "exec"), namespace)
            last_output = buf.getvalue()
        elif lang == "" and m.group("intro").strip().endswith("prints"):
            assert last_output is not None, f"{page.name}: 'prints' block without code before it"
            assert last_output.rstrip("\n") == body.rstrip("\n"), f"{page.name}: output differs"
            checked += 1
    expected = len(re.findall(r"prints\s*\n\s*\n```\n", page.read_text()))
    assert checked == expected, f"{page.name}: compared {checked} of {expected} 'prints' blocks"


def test_simplify_rule_table_in_docs_matches_the_code():
    from compiler import plugins
    plugins.load_passes()
    from passes.graph.simplify import rule_table_markdown
    text = (DOCS / "passes.md").read_text()
    table = text.split("<!-- simplify-rules:begin -->\n")[1].split("\n<!-- simplify-rules:end -->")[0]
    assert table == rule_table_markdown().strip()
