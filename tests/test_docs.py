"""Every ```python block in README.md and docs/*.md runs: a page's blocks in order, in one namespace."""

from __future__ import annotations

import os
import re
import sys
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


def test_readme_gives_exactly_two_marked_set_up_commands():
    """CI runs README's main-job and test commands verbatim (.ci/run extracts them by their markers)."""
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        from readme_command import readme_command
    finally:
        sys.path.remove(str(ROOT / ".ci"))
    readme = (ROOT / "README.md").read_text()
    assert readme.count("<!-- README command:") == 2
    main_job, tests = readme_command("main job", readme), readme_command("tests", readme)
    assert main_job == 'pip install -e ".[demo]" && cyclr demo'
    assert tests.startswith("pip install torch==") and tests.endswith('pip install -e ".[test]" && python -m pytest')
    with pytest.raises(ValueError, match="one marked command 'nothing'"):
        readme_command("nothing", readme)
    with pytest.raises(ValueError, match="must be one line"):
        readme_command("x", "<!-- README command: x -->\n```bash\npip install a\npip install b\n```\n")
    index = (ROOT / "docs" / "index.md").read_text()  # the site's Install section repeats both
    assert main_job in index and tests in index
