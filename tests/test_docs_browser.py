"""The built documentation site, opened page by page in a real headless Chromium.

On every page: the formulas are rendered (no raw TeX delimiters left in the text a reader sees), every
image loads, the console stays free of errors, and no request leaves the machine (the site serves its own
math renderer, fonts and scripts: it must work offline or behind a firewall). Each page's screenshot is
kept under a temporary folder, printed at the start of the run, for a person to look at.

Needs Debian's ``chromium`` (``apt-get install chromium``; or set CYCLR_CHROMIUM to a Chromium binary)
and the ``playwright`` package, used only as a driver: no browser is downloaded. Without them the tests
skip, saying which is missing; with CYCLR_REQUIRE_BROWSER=1 (set by .ci/run when it could install
Chromium) they fail instead.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(path.relative_to(ROOT / "docs").as_posix() for path in (ROOT / "docs").glob("*.md"))
TEX_DELIMITERS = ("\\[", "\\]", "\\(", "\\)", "$$")

VISIBLE_TEXT = """() => {
    // The text a reader sees as prose: rendered formulas (KaTeX keeps its TeX source in hidden MathML),
    // code and scripts are left out. Raw TeX anywhere in what remains is a formula that did not render.
    const copy = document.body.cloneNode(true);
    copy.querySelectorAll(".katex, pre, code, script, style").forEach((node) => node.remove());
    return copy.textContent;
}"""
UNRENDERED = """() => Array.from(document.querySelectorAll(".arithmatex"))
    .filter((node) => !node.querySelector(".katex"))
    .map((node) => node.textContent.slice(0, 80))"""
BROKEN_IMAGES = """() => Array.from(document.images)
    .filter((image) => !image.complete || image.naturalWidth === 0)
    .map((image) => image.currentSrc || image.src)"""


def _unavailable(reason: str) -> None:
    if os.environ.get("CYCLR_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CYCLR_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _chromium() -> str:
    candidates = [os.environ.get("CYCLR_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")]
    found = next((candidate for candidate in candidates if candidate), None)
    if found is None:
        _unavailable("no Chromium: apt-get install chromium (Debian's package), or set CYCLR_CHROMIUM")
    return str(found)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built by ``mkdocs build --strict``, served on 127.0.0.1 (a free port) while the module runs."""
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(target)],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 0, done.stderr[-3000:]

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(target)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright; it drives Debian's chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def screenshots():
    folder = Path(os.environ.get("CYCLR_ARTIFACTS") or tempfile.mkdtemp(prefix="cyclr-artifacts-")) / "docs-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\ndocs screenshots: {folder}", file=sys.__stderr__)
    return folder


def _url(page: str) -> str:
    return "/" if page == "index.md" else "/" + page.removesuffix(".md") + "/"


@pytest.mark.parametrize("page", PAGES)
def test_the_page_renders_offline_in_a_real_browser(page, site, browser, screenshots):
    host = urlsplit(site).netloc
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()

    def route(request_route):
        if urlsplit(request_route.request.url).netloc == host or request_route.request.url.startswith("data:"):
            request_route.continue_()
        else:
            problems.append(f"request leaving the machine: {request_route.request.url}")
            request_route.abort()

    tab.route("**/*", route)
    tab.on("console", lambda message: message.type == "error" and problems.append(f"console error: {message.text}"))
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    tab.on("requestfailed", lambda request: problems.append(f"request failed: {request.url} ({request.failure})"))
    tab.on("response", lambda response: response.status >= 400 and problems.append(f"HTTP {response.status}: {response.url}"))
    try:
        tab.goto(site + _url(page), wait_until="networkidle")
        tab.evaluate("document.fonts.ready")
        tab.screenshot(path=str(screenshots / (page.removesuffix(".md") + ".png")), full_page=True)
        text = tab.evaluate(VISIBLE_TEXT)
        unrendered = tab.evaluate(UNRENDERED)
        broken = tab.evaluate(BROKEN_IMAGES)
        formulas = tab.evaluate("document.querySelectorAll('.katex').length")
        sources = (ROOT / "docs" / page).read_text().count("$$")
    finally:
        context.close()
    raw = [delimiter for delimiter in TEX_DELIMITERS if delimiter in text]
    assert not raw, f"{page}: raw TeX left in the rendered text: {raw}"
    assert not unrendered, f"{page}: formulas KaTeX did not render: {unrendered}"
    assert not broken, f"{page}: images that did not load: {broken}"
    assert not problems, f"{page}:\n" + "\n".join(problems)
    assert formulas >= sources // 2, f"{page}: {sources // 2} display formulas in the source, {formulas} rendered"
