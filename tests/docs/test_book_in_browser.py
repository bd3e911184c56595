"""The lesson book builds (quick mode) and works in a real browser: headless Chromium.

`docs/build.py book --quick` runs every lesson and writes the site; then Chromium,
driven by Playwright, opens every page from disk (file://, as a reader who downloaded
the site would) and checks: no console errors, no failed requests (nothing is fetched
from the network), every picture decoded, every formula typeset by MathJax, every
internal link pointing at a page and anchor that exist. The same site, served by a
plain static web server on 127.0.0.1, must answer every internal link with 200. The
search box must find a lesson from file:// too. A screenshot of one page per level is
saved under test-artifacts/book/ (the test prints where).

Skips, saying why, when the `docs` extra (mkdocs-material, mkdocs-jupyter,
sphinx-mathjax-offline, playwright) or a Chromium binary is missing: CI installs
Chromium with apt-get and the extra in its "torch" leg.
"""

import functools
import html
import http.server
import importlib.metadata
import os
import posixpath
import re
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from docs_support import ROOT

CHROMIUM_FLAGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "book"
PREFERRED_SCREENSHOTS = {"hard": "lessons/hard/01_formal_mixers.html"}  # the page with equations


def _chromium() -> str | None:
    for candidate in (os.environ.get("MINIMIXER_CHROMIUM"), shutil.which("chromium"),
                      shutil.which("chromium-browser"), "/usr/bin/chromium"):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _need_book_tools():
    for module in ("mkdocs", "material", "mkdocs_jupyter", "playwright"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install -e \".[docs]\")")
    try:
        importlib.metadata.distribution("sphinx-mathjax-offline")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("sphinx-mathjax-offline (MathJax for the book) is not installed (pip install -e \".[docs]\")")
    chromium = _chromium()
    if chromium is None:
        pytest.skip("no Chromium binary (apt-get install chromium, or set MINIMIXER_CHROMIUM)")
    return chromium


@pytest.fixture(scope="module")
def chromium():
    return _need_book_tools()


@pytest.fixture(scope="module")
def site(chromium, build, lesson_runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("book") / "site"
    build.build_book(out, mode="quick", figures=lesson_runs.figures, runs=lesson_runs, log=lambda line: None)
    return out


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


class Visit:
    """One page opened in a fresh tab, with what went wrong while it loaded."""

    def __init__(self, browser, url):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.problems = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} {r.failure}"))
        self.page.goto(url, wait_until="load")
        # MathJax loads deferred and typesets asynchronously: wait until it is done.
        self.page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
        self.page.evaluate("() => MathJax.startup.promise.then(() => true)")
        self.page.evaluate("""() => Promise.all(Array.from(document.images).map(img => {
            img.loading = "eager"; return img.decode().catch(() => null); }))""")

    def close(self):
        self.page.close()


def _pages(site: Path) -> list:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html") if p.name != "404.html")


def _lesson_pages(site: Path) -> list:
    return [p for p in _pages(site) if re.match(r"lessons/(easy|moderate|hard)/\d", p)]


def test_the_book_has_a_page_for_every_lesson_and_exercise(site, build):
    pages = _pages(site)
    assert "index.html" in pages and "lessons/index.html" in pages
    for lesson in build.lessons():
        assert f"lessons/{lesson.name}.html" in pages
    for exercise in build.exercises():
        assert f"lessons/exercises/{exercise.stem}.html" in pages
    # The teacher's guide is a page of the book and in its navigation; the answers it
    # points to (lessons/exercises/solutions/) stay out of the book.
    assert "lessons/TEACHING.html" in pages
    assert 'href="lessons/TEACHING.html"' in (site / "index.html").read_text(encoding="utf-8")
    assert not [page for page in pages if "solutions" in page]
    # The front page carries the README: every section (results and benchmark tables
    # included), every table and every figure.
    front = (site / "index.html").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", front))
    for heading in re.findall(r"^#{2,3} (.+)$", readme, flags=re.M):
        assert re.sub(r"[`*]", "", heading) in text
    assert front.count("<table>") == len(re.findall(r"^\|[-|]+\|$", readme, flags=re.M))
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme):
        assert f'src="{image}"' in front


def test_every_page_loads_cleanly_from_disk(site, browser, build, lesson_runs):
    report = []
    display_formulas = 0
    for name in _pages(site):
        visit = Visit(browser, (site / name).as_uri())
        page = visit.page
        broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                               ".map(i => i.src.slice(0, 80))")
        math = page.evaluate("""() => ({
            typeset: document.querySelectorAll("mjx-container").length,
            errors: document.querySelectorAll("mjx-merror, [data-mjx-error]").length,
            raw: (document.querySelector("article") || document.body).innerText.includes("$$")})""")
        problems = visit.problems + [f"image not loaded: {src}" for src in broken]
        if math["errors"] or math["raw"]:
            problems.append(f"maths not typeset: {math}")
        lesson = re.match(r"lessons/((?:easy|moderate|hard)/\d[^.]*)\.html", name)
        if lesson:
            run = lesson_runs.get_run(lesson.group(1))
            pictures = page.evaluate("document.querySelectorAll('.jp-OutputArea-output img').length")
            if pictures != len(run.figures):
                problems.append(f"{pictures} figures shown, the run made {len(run.figures)}")
            note = page.evaluate("(document.querySelector('.build-note') || {}).innerText || ''")
            if "quick mode" not in note:
                problems.append(f"no note saying the page ran in quick mode: {note!r}")
        display_formulas += page.evaluate("document.querySelectorAll('mjx-container[display]').length")
        if name == "lessons/hard/01_formal_mixers.html" and math["typeset"] < 2:
            problems.append(f"the formal lesson's equations were not typeset: {math}")
        report += [f"{name}: {problem}" for problem in problems]
        visit.close()
    assert not report, "\n".join(report)
    assert display_formulas >= 2, "the lessons' display equations must be typeset somewhere"


def _internal_links(site: Path) -> dict:
    """{page: [(target file, fragment)]} for every link that stays inside the site."""
    links = {}
    for name in _pages(site):
        html = (site / name).read_text(encoding="utf-8")
        found = []
        for href in re.findall(r'<a [^>]*href="([^"]*)"', html):
            href = href.replace("&amp;", "&")
            if re.match(r"^[a-z][a-z0-9+.-]*:", href) or href.startswith("//"):
                continue
            path, _, fragment = href.partition("#")
            target = (site / name).parent / urllib.parse.unquote(path) if path else site / name
            found.append((Path(os.path.normpath(target)), fragment))
        links[name] = found
    return links


def test_every_internal_link_leads_somewhere(site):
    missing = []
    ids = {}
    for name, links in _internal_links(site).items():
        for target, fragment in links:
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                missing.append(f"{name}: {target.relative_to(site)} does not exist")
                continue
            if fragment and target.suffix == ".html":
                if target not in ids:
                    ids[target] = set(re.findall(r'id="([^"]+)"', target.read_text(encoding="utf-8")))
                if fragment not in ids[target]:
                    missing.append(f"{name}: no #{fragment} in {target.relative_to(site)}")
    assert not missing, "\n".join(missing)


def test_a_static_web_server_serves_every_link(site, browser):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        targets = {target for links in _internal_links(site).values() for target, _ in links}
        statuses = {}
        for target in sorted(targets):
            url = base + target.relative_to(site).as_posix()
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    statuses[url] = response.status
            except urllib.error.HTTPError as error:
                statuses[url] = error.code
        assert len(statuses) > 20
        assert {url: s for url, s in statuses.items() if s != 200} == {}
        for name in ("index.html", "lessons/hard/01_formal_mixers.html"):
            visit = Visit(browser, base + name)
            assert not visit.problems, visit.problems
            visit.close()
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_navigation_goes_easy_moderate_hard_exercises(site, build):
    page = "lessons/easy/01_painting_with_blocks.html"
    html = (site / page).read_text(encoding="utf-8")
    nav = html[html.index('<nav class="md-nav md-nav--primary'):]
    order = []
    for href in re.findall(r'href="([^"#]+\.html)"', nav):
        target = posixpath.normpath(posixpath.join(posixpath.dirname(page), href))
        match = re.match(r"lessons/(easy|moderate|hard|exercises)/(\d[^/]*)\.html$", target)
        if match and match.group(0) not in [m.group(0) for m in order]:
            order.append(match)
    levels = [m.group(1) for m in order]
    assert levels == sorted(levels, key=["easy", "moderate", "hard", "exercises"].index)
    lessons = [f"{m.group(1)}/{m.group(2)}" for m in order if m.group(1) != "exercises"]
    assert lessons == [lesson.name for lesson in build.lessons()]
    assert len(order) == len(lessons) + len(build.exercises())
    assert "md-footer__link--next" in html, "each lesson page links to the next one"


def test_search_finds_a_lesson_from_disk(site, browser):
    visit = Visit(browser, (site / "index.html").as_uri())
    page = visit.page
    page.click("input.md-search__input")
    page.wait_for_function("!document.querySelector('.md-search-result__meta').innerText.includes('Initializing')",
                           timeout=20_000)  # the index is loaded into the search worker
    page.keyboard.type("depthwise")
    page.wait_for_selector(".md-search-result__item", timeout=20_000)
    results = page.evaluate("Array.from(document.querySelectorAll('.md-search-result__item a'))"
                            ".map(a => a.getAttribute('href'))")
    assert any("depthwise" in href for href in results), results
    assert not visit.problems, visit.problems
    visit.close()


def _screenshot_pages(site: Path) -> dict:
    """{level: page}: the first page of each level (or a preferred one), and the front page."""
    pages = _pages(site)
    chosen = {"front": "index.html"}
    for level in ("easy", "moderate", "hard", "exercises"):
        of_level = [p for p in pages if re.match(rf"lessons/{level}/\d", p)]
        preferred = PREFERRED_SCREENSHOTS.get(level)
        chosen[level] = preferred if preferred in of_level else of_level[0]
    return chosen


def test_screenshots_of_one_page_per_level(site, browser, capsys):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for level, name in _screenshot_pages(site).items():
        visit = Visit(browser, (site / name).as_uri())
        page = visit.page
        page.screenshot(path=str(ARTIFACTS / f"{level}.png"))
        figure = page.locator(".jp-OutputArea-output img, mjx-container[display], article img").first
        if figure.count():
            figure.scroll_into_view_if_needed()
            page.wait_for_timeout(400)  # the header's title swap after scrolling
            page.screenshot(path=str(ARTIFACTS / f"{level}-figure.png"))
        assert not visit.problems, visit.problems
        visit.close()
    with capsys.disabled():
        print(f"\nscreenshots of the lesson book: {ARTIFACTS}")
