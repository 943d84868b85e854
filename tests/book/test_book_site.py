"""The built book read as a reader would: every chapter in headless Chromium, plus its links.

`python3 tasks.py test` builds the book before pytest runs, so these tests read _build/html and
never build it themselves. One browser and one local http.server serve every page.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import pytest
import yaml

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Text that only an exception escaping a chapter's code would leave on a page.
ERROR_MARKERS = ("Traceback (most recent call last)", "Exception ignored in")
ERROR_OUTPUT_SELECTOR = ".cell_output .traceback, .cell_output .stderr, .cell_output .error"


def toc_files(entries: list[dict]) -> Iterator[str]:
    """Every `file:` of _toc.yml, depth first, in reading order."""
    for entry in entries:
        if "file" in entry:
            yield entry["file"]
        for key in ("chapters", "sections", "parts"):
            yield from toc_files(entry.get(key, []))


def chapter_pages() -> list[str]:
    """Paths of the built pages, relative to _build/html, one per file of _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [f"{name}.html" for name in [toc["root"], *toc_files(toc.get("chapters", []))]]


PAGES = chapter_pages()


def source_of(page: str) -> str:
    """The MyST source of a built page (book/x.html -> book/x.md)."""
    return (ROOT / page).with_suffix(".md").read_text(encoding="utf-8")


# Chapters whose code shows an animation: the page must carry at least one working player.
ANIMATED_PAGES = {page for page in PAGES if "animation_html(" in source_of(page)}


@pytest.fixture(scope="session")
def built_site() -> Path:
    if not (HTML / "index.html").exists():
        pytest.fail(
            f"The book is not built: {HTML / 'index.html'} is missing. "
            "Run `python3 tasks.py book` first (`python3 tasks.py test` does it for you)."
        )
    return HTML


class LinkCollector(HTMLParser):
    """Collects element ids, link targets and image sources of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.image_sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("href"):
            self.hrefs.append(attributes["href"])
        if tag == "img" and attributes.get("src"):
            self.image_sources.append(attributes["src"])


@functools.cache
def parse_page(path: Path) -> LinkCollector:
    collector = LinkCollector()
    collector.feed(path.read_text(encoding="utf-8"))
    return collector


def is_internal(url: str) -> bool:
    parsed = urlparse(url)
    return not parsed.scheme and not parsed.netloc and not url.startswith(("mailto:", "data:"))


def broken_links(page: Path) -> list[str]:
    """Internal links of `page` whose file or #anchor does not exist in the built site."""
    problems = []
    for href in parse_page(page).hrefs:
        if not is_internal(href):
            continue
        target_url, anchor = urldefrag(href)
        target = (page.parent / unquote(target_url)).resolve() if target_url else page
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            problems.append(f"{href} -> missing file {target}")
        elif anchor and target.suffix == ".html" and anchor not in parse_page(target).ids:
            problems.append(f"{href} -> no element with id {anchor!r} in {target.name}")
    return problems


def test_every_toc_file_is_built(built_site: Path) -> None:
    missing = [page for page in PAGES if not (built_site / page).exists()]
    assert not missing, f"chapters listed in _toc.yml but not built: {missing}"
    assert len(PAGES) >= 11, f"expected the introduction, nine chapters and references: {PAGES}"
    assert len(ANIMATED_PAGES) >= 3, f"arithmetic, pooling and training animate: {ANIMATED_PAGES}"


def test_solutions_are_not_published(built_site: Path) -> None:
    leaked = [p for p in built_site.rglob("*") if "solutions" in p.relative_to(built_site).parts]
    assert not leaked, f"files from solutions/ reached the site: {leaked[:5]}"


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_and_images_resolve(built_site: Path, page: str) -> None:
    path = built_site / page
    problems = broken_links(path)
    for src in parse_page(path).image_sources:
        if is_internal(src) and not (path.parent / unquote(src)).resolve().exists():
            problems.append(f"<img src={src!r}> -> missing file")
    assert not problems, f"{page}:\n" + "\n".join(problems)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="session")
def site_url(built_site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser(site_url: str) -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `python3 tasks.py test` installs Debian's chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# Runs in the page: the broken <img> elements, and the frames of every jshtml animation.
IMAGES_JS = """
() => Array.from(document.images)
    .filter(img => !img.id.startsWith('_anim_img'))
    .filter(img => !(img.complete && img.naturalWidth > 0))
    .map(img => img.getAttribute('src').slice(0, 80))
"""
ANIMATIONS_JS = """
async () => {
  const result = [];
  for (const img of document.querySelectorAll('.animation img[id^="_anim_img"]')) {
    const anim = window['anim' + img.id.slice('_anim_img'.length)];
    if (!anim) { result.push({id: img.id, frames: 0, broken: -1}); continue; }
    await Promise.all(anim.frames.map(f => f.decode().catch(() => null)));
    const broken = anim.frames.filter(f => !(f.naturalWidth > 0)).length;
    anim.last_frame();
    result.push({id: img.id, frames: anim.frames.length, broken: broken,
                 shown: img.complete && img.naturalWidth > 0});
  }
  return result;
}
"""


def block_outside_requests(route: object) -> None:
    """The test machine is offline: CDN fonts and scripts are refused at once, not timed out."""
    if urlparse(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


@pytest.fixture(scope="session")
def reader_context(browser: object) -> Iterator[object]:
    context = browser.new_context()
    context.route("**/*", block_outside_requests)
    context.set_default_timeout(30_000)
    yield context
    context.close()


@pytest.mark.parametrize("page_path", PAGES)
def test_chapter_renders_in_a_browser(
    reader_context: object, site_url: str, page_path: str
) -> None:
    reader = reader_context.new_page()
    script_errors: list[str] = []
    failed: list[str] = []
    reader.on("pageerror", lambda error: script_errors.append(str(error)))
    reader.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    try:
        reader.goto(urljoin(site_url, page_path), wait_until="load")
        heading = reader.locator("main h1").first.inner_text().strip()
        title = reader.title().strip()
        broken_images = reader.evaluate(IMAGES_JS)
        animations = reader.evaluate(ANIMATIONS_JS)
        error_outputs = reader.locator(ERROR_OUTPUT_SELECTOR).count()
        outputs = " ".join(reader.locator(".cell_output").all_inner_texts())
    finally:
        reader.close()

    assert heading, f"{page_path}: no <h1> heading"
    assert title, f"{page_path}: empty <title>"
    assert not broken_images, f"{page_path}: images that did not load: {broken_images}"
    if page_path in ANIMATED_PAGES:
        assert animations, f"{page_path}: the chapter animates, but no animation is on the page"
    for animation in animations:
        assert animation["frames"] > 1, f"{page_path}: animation without frames: {animation}"
        assert animation["broken"] == 0, f"{page_path}: frames that did not load: {animation}"
        assert animation["shown"], f"{page_path}: animation shows no frame: {animation}"
    assert error_outputs == 0, f"{page_path}: {error_outputs} error or stderr outputs"
    for marker in ERROR_MARKERS:
        assert marker not in outputs, f"{page_path}: a cell output contains {marker!r}"
    assert not failed, f"{page_path}: local requests that failed: {failed}"
    assert not script_errors, f"{page_path}: JavaScript errors: {script_errors}"
