"""Every ```python block in README.md and docs/*.md runs: a page's blocks in order, in one namespace."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
PAGES_WITH_EXAMPLES = [page for page in PAGES if BLOCK.search(page.read_text())]


def test_most_pages_have_examples():
    """The parametrization below is not empty by accident (a changed fence style would empty it)."""
    assert len(PAGES_WITH_EXAMPLES) >= len(PAGES) // 2, [str(page) for page in PAGES_WITH_EXAMPLES]


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES, ids=lambda page: str(page.relative_to(ROOT)))
def test_examples_on_the_page_run(page, tmp_path, monkeypatch):
    blocks = BLOCK.findall(page.read_text())
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__main__"}
    for number, source in enumerate(blocks, 1):
        code = compile(source, f"{page.name}, example {number}", "exec")
        exec(code, namespace)  # noqa: S102
    assert os.getcwd() == str(tmp_path)


def test_the_site_builds_strict(tmp_path):
    """``mkdocs build --strict``: every page, link and API reference resolves (figures are drawn)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "api" / "index.html").exists()
    assert (ROOT / "docs" / "img" / "generated" / "exactness.png").exists()
