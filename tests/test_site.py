"""The built web site (`make site`, build/site/) in headless Chromium, with no network.

Skipped when there is no built site or no Chromium, except under `make test-site`
(COURSE_SITE_TEST=required), where that is an error; it never executes a chapter. The site is
served from 127.0.0.1; Chromium gets a dead proxy for every other address, and every request it
makes is recorded: one to anywhere else fails the test.
Chromium is driven through the DevTools protocol over a pipe (--remote-debugging-pipe), so no
package beyond the standard library is needed. Screenshots go to build/site-screenshots/.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "build" / "site"
BOOK = ROOT / "build" / "book"  # the chapters as rendered (executed, with the site's changes)
SHOTS = ROOT / "build" / "site-screenshots"
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHROMIUM = os.environ.get("CHROMIUM") or next(
    (
        shutil.which(n)
        for n in ("chromium", "chromium-browser", "google-chrome")
        if shutil.which(n)
    ),
    None,
)
MISSING = (
    "no built site in build/site/: run `make site` first"
    if not (SITE / "intro.html").is_file()
    else "no Chromium to drive (`make test-site` installs Debian's; CHROMIUM= names another)"
    if CHROMIUM is None
    else ""
)
# `make test-site` sets COURSE_SITE_TEST=required: there a missing site or browser is a failure.
if MISSING and os.environ.get("COURSE_SITE_TEST") == "required":
    raise RuntimeError(MISSING)
pytestmark = pytest.mark.skipif(bool(MISSING), reason=MISSING)

# Wait for MathJax (if the page loads it) to finish typesetting.
MATHJAX_DONE = """(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  return true;
})()"""

# The code blocks of a page (cells and their printed output) that scroll sideways: their
# widest line does not fit the block at the window's width (1,280 px).
WIDE_CODE = """(main => [...main.querySelectorAll('pre')]
  .filter(p => p.scrollWidth > p.clientWidth)
  .map(p => ({scroll: p.scrollWidth, client: p.clientWidth,
              line: p.textContent.split('\\n').reduce((a, l) => l.length > a.length ? l : a, '')}))
)"""

# What a page holds, read from its DOM once loaded and typeset.
PAGE_FACTS = (
    """(() => {
  const main = document.querySelector('main') || document.body;
  const text = main.cloneNode(true);
  text.querySelectorAll('pre, code, script, style, .highlight, mjx-container')
    .forEach(e => e.remove());
  const imgs = [...main.querySelectorAll('img')];
  const outputImgs = [...main.querySelectorAll('.cell_output img')];
  return {
    title: document.title,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.name),
    rawMath: (text.textContent.match(/\\$\\$|\\$\\\\|\\\\\\(|\\\\\\[/g) || []).length,
    mathNodes: main.querySelectorAll('.math').length,
    typeset: main.querySelectorAll('mjx-container').length,
    mathErrors: main.querySelectorAll('mjx-merror').length,
    brokenImages: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
    outputImages: outputImgs.filter(i => i.complete && i.naturalWidth > 0).length,
    quickNote: [...main.querySelectorAll('.admonition')]
      .some(a => /quick mode/i.test(a.textContent)),
    prevNext: [...document.querySelectorAll('.prev-next-area a')].map(a => a.href),
    pageToc: document.querySelectorAll('.bd-toc-nav a, #bd-toc-nav a, .page-toc a').length,
    sidebar: [...document.querySelectorAll('.bd-sidebar-primary a')].map(a => a.href),
    colab: [...document.querySelectorAll('a')]
      .some(a => a.href.includes('colab.research.google.com')),
    github: [...document.querySelectorAll('a')].some(a => a.href.startsWith('https://github.com/')),
    codeBlocks: main.querySelectorAll('pre').length,
    wideCode: ("""
    + WIDE_CODE
    + """)(main),
  };
})()"""
)


class Chromium:
    """Headless Chromium, spoken to over the DevTools protocol on a pipe (fd 3 in, fd 4 out)."""

    def __init__(self, executable: str, profile: str):
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # Move the child's ends above 10 so bash's `3<&N 4>&M` cannot clobber them (dash
        # takes only one-digit descriptors: hence bash).
        child_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD_CLOEXEC, 10)
        for fd in (to_chrome_r, from_chrome_w):
            os.close(fd)
        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            # No network: every address but loopback goes to a proxy that is not there, and no
            # name resolves (belt and braces; requests are also recorded and checked).
            "--proxy-server=http://127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            "about:blank",
        ]
        self.proc = subprocess.Popen(
            [
                shutil.which("bash") or "/bin/bash",
                "-c",
                f'exec "$0" "$@" 3<&{child_r} 4>&{child_w}',
                executable,
                *flags,
            ],
            pass_fds=(child_r, child_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(child_r)
        os.close(child_w)
        self.out, self.inp = to_chrome_w, from_chrome_r
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict] = []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.inp], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.inp, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float = 60,
    ) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read(deadline))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self.out)
        os.close(self.inp)


class Tab:
    """One page in Chromium, with every request it makes recorded."""

    def __init__(self, browser: Chromium):
        self.browser = browser
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.send(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        )["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        )
        self.requests: list[str] = []
        self.urls: dict[str, str] = {}
        self.failures: list[str] = []  # requests that failed or got an error status

    def send(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        return self.browser.send(method, params, self.session, timeout)

    def _collect_requests(self) -> None:
        keep = []
        for event in self.browser.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent":
                self.requests.append(params["request"]["url"])
                self.urls[params["requestId"]] = params["request"]["url"]
            elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
                self.failures.append(f"{params['response']['status']} {params['response']['url']}")
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                self.failures.append(
                    f"{params.get('errorText')} {self.urls.get(params['requestId'])}"
                )
            else:
                keep.append(event)
        self.browser.events[:] = keep

    def open(self, url: str) -> None:
        self.browser.events.clear()
        self.send("Page.navigate", {"url": url})
        self.browser.wait_event("Page.loadEventFired")
        self.evaluate(MATHJAX_DONE)
        self._collect_requests()

    def evaluate(self, expression: str, timeout: float = 60):
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30):
        """Poll until `expression` is truthy. A page that is being replaced (a redirect) can
        make one evaluation fail; that counts as not yet true."""
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except RuntimeError as error:
                value, last_error = None, error
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"never true: {expression} (last error: {last_error})")

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))


@pytest.fixture(scope="module")
def server():
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(SITE)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def tab(server):
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        browser = Chromium(CHROMIUM, profile)
        try:
            yield Tab(browser)
        finally:
            browser.close()


@pytest.fixture(scope="module")
def pages(tab, server):
    """Every page of the site, opened in Chromium: {path: facts}. (index.html only leads to
    intro.html: the home page test follows it.)"""
    facts = {}
    for html in sorted(SITE.rglob("*.html")):
        path = html.relative_to(SITE).as_posix()
        if path == "index.html" or path.startswith("_"):
            continue
        tab.open(server + path)
        facts[path] = tab.evaluate(PAGE_FACTS)
    return facts


def chapter_page(stem: str) -> str:
    return f"notebooks/{stem}.html"


def test_home_page_lists_every_chapter_and_says_how_to_run(tab, server, pages):
    home = pages["intro.html"]
    linked = {urlparse(link).path.lstrip("/") for link in home["links"]}
    missing = [stem for stem in CHAPTERS if chapter_page(stem) not in linked]
    assert not missing, f"the home page does not link to: {missing}"
    tab.open(server + "index.html")  # the site's root leads to the home page
    # The redirect replaces the page: wait until the new page's content is there.
    text = tab.wait_for(
        "location.pathname.endsWith('intro.html')"
        " && document.readyState === 'complete'"
        " && document.querySelector('main')?.innerText",
        timeout=20,
    )
    for words in ("Who it is for", "Run it yourself", "Colab", "make course"):
        assert words in text, f"the home page does not say {words!r}"


def test_every_chapter_page_has_title_navigation_toc_and_buttons(pages):
    for stem in CHAPTERS:
        page = pages.get(chapter_page(stem))
        assert page is not None, f"no page for chapter {stem}"
        number = stem[:2]
        assert page["title"].startswith(f"{number} · "), f"{stem}: title {page['title']!r}"
        assert page["prevNext"], f"{stem}: no previous / next links"
        assert page["pageToc"] > 0, f"{stem}: no table of contents of the page"
        assert len(page["sidebar"]) >= len(CHAPTERS), f"{stem}: the sidebar lacks chapters"
        assert page["colab"] and page["github"], f"{stem}: no Colab or GitHub link"


def test_every_internal_link_resolves(pages, server):
    broken = []
    for path, page in pages.items():
        for link in page["links"]:
            if not link.startswith(server):
                continue
            target, fragment = urldefrag(link)
            relative = urlparse(target).path.lstrip("/") or "index.html"
            if relative.endswith("/"):
                relative += "index.html"
            if not (SITE / relative).is_file():
                broken.append(f"{path} -> {link} (no such file)")
            elif fragment and relative in pages and fragment not in pages[relative]["ids"]:
                broken.append(f"{path} -> {link} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(sorted(set(broken)))


def test_every_formula_is_rendered(pages):
    problems = []
    for path, page in pages.items():
        if page["rawMath"]:
            problems.append(f"{path}: {page['rawMath']} raw $$ / $\\ / \\( / \\[ left in the text")
        if page["mathErrors"]:
            problems.append(f"{path}: {page['mathErrors']} formula(s) MathJax could not parse")
        if page["mathNodes"] and page["typeset"] < page["mathNodes"]:
            problems.append(f"{path}: {page['typeset']} of {page['mathNodes']} formulas typeset")
    assert not problems, "\n".join(problems)
    assert any(page["typeset"] for page in pages.values()), "no formula anywhere on the site"


def test_every_chapter_page_has_its_figures(pages):
    problems = []
    for path, page in pages.items():
        if page["brokenImages"]:
            problems.append(f"{path}: images that do not load: {page['brokenImages']}")
    for stem in CHAPTERS:
        page = pages.get(chapter_page(stem))
        source = BOOK / "notebooks" / f"{stem}.ipynb"
        if page is None or not source.is_file():
            problems.append(f"{stem}: not built")
            continue
        nb = nbformat.read(source, as_version=4)
        figures = sum(
            1
            for cell in nb.cells
            for out in cell.get("outputs", [])
            if any(m.startswith("image/") for m in out.get("data", {}))
        )
        if page["outputImages"] < figures:
            problems.append(f"{stem}: {page['outputImages']} of its {figures} figures shown")
    assert not problems, "\n".join(problems)


def test_quick_mode_pages_say_so(pages):
    """A chapter run in quick mode carries the note; one run in full mode does not."""
    for stem in CHAPTERS:
        source = BOOK / "notebooks" / f"{stem}.ipynb"
        page = pages.get(chapter_page(stem))
        if page is None or not source.is_file():
            continue
        quick = any(
            "QUICK MODE" in "".join(out.get("text", ""))
            for cell in nbformat.read(source, as_version=4).cells
            for out in cell.get("outputs", [])
        )
        assert page["quickNote"] == quick, (
            f"{stem}: quick-mode note {page['quickNote']}, run quick: {quick}"
        )


# Chapters whose code or printed lines are still over 79 characters (issue 33 stays open for
# them); every other page, the home page included, must fit, and each listed one must not yet.
WIDE_LEFT: set[str] = set()


def _chapter_number(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[:2] if name[:2].isdigit() else ""


def test_no_code_block_scrolls_sideways_at_1280_pixels(tab, server, pages):
    """Chapter code (79 characters a line at most) and what it prints fit their blocks in a
    1,280-pixel-wide window: nothing hides behind a horizontal scroll bar."""
    wide = [
        f"{path}: {w['scroll']} px of text in a {w['client']} px block: {w['line'][:90]!r}"
        for path, page in sorted(pages.items())
        for w in page["wideCode"]
        if _chapter_number(path) not in WIDE_LEFT
    ]
    assert not wide, f"{len(wide)} code block(s) scroll sideways:\n" + "\n".join(wide)
    fitted = sorted(
        n
        for n in WIDE_LEFT
        if not any(page["wideCode"] for path, page in pages.items() if _chapter_number(path) == n)
    )
    assert not fitted, f"chapters {fitted} fit now: drop them from WIDE_LEFT"
    chapters = [chapter_page(s) for s in CHAPTERS if chapter_page(s) in pages]
    assert chapters and all(pages[c]["codeBlocks"] > 2 for c in chapters), "no code blocks seen"
    # The check sees a line that does not fit: an 80-character line and a 200-character one,
    # added to a chapter page, are found (the first only when 79 characters fit, as above).
    fitting = [c for c in chapters if _chapter_number(c) not in WIDE_LEFT]
    tab.open(server + fitting[0])
    found = tab.evaluate(
        """(() => {
      const main = document.querySelector('main');
      const cell = main.querySelector('div.highlight pre');
      for (const n of [79, 200]) {
        const pre = cell.cloneNode(false);
        pre.textContent = 'x'.repeat(n);
        cell.parentNode.appendChild(pre);
      }
      return ("""
        + WIDE_CODE
        + """)(main).map(w => w.line.length);
    })()"""
    )
    assert found == [200], found


def test_search_finds_grad_cam(tab, server):
    tab.open(server + "search.html?q=Grad-CAM")
    results = tab.wait_for(
        "(() => { const r = [...document.querySelectorAll('#search-results li a')];"
        " return r.length ? r.map(a => a.href) : null; })()",
        timeout=30,
    )
    assert any("09_visualising_convnets" in href for href in results), results


def test_nothing_is_fetched_from_outside_and_screenshots(tab, server, pages):
    tab.open(server + "intro.html")
    tab.screenshot(SHOTS / "home.png")
    chapter = next(
        (s for s in CHAPTERS if "09_" in s and chapter_page(s) in pages),
        next(s for s in CHAPTERS if chapter_page(s) in pages),
    )
    tab.open(server + chapter_page(chapter))
    tab.screenshot(SHOTS / "chapter.png")
    outside = sorted(
        {url for url in tab.requests if not url.startswith((server, "data:", "blob:", "about:"))}
    )
    assert not outside, f"pages asked for files from outside the site: {outside}"
    failed = sorted(
        {f for f in tab.failures if not f.endswith("/favicon.ico")}
    )  # the browser's own
    assert not failed, f"requests that failed: {failed}"
    assert len(tab.requests) > len(pages), "no requests were recorded: the check saw nothing"
    for shot in ("home.png", "chapter.png"):
        assert (SHOTS / shot).stat().st_size > 10_000
