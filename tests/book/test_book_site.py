"""The built book read as a reader would: every page in headless Chromium, plus its links.

`python3 tasks.py test` builds the book before pytest runs, so these tests read _build/html and
never build it themselves. One browser and one local http.server serve every page.

Every page is loaded once at a desktop width (1280 px) and once at a phone's (390 px), with every
request to another host refused and recorded (the site must work offline: MathJax, fonts and
scripts come from the site itself). What the tests check is measured during those two loads
(`desktop_view`, `phone_view`, cached per page); each test asserts one property, so a failure
names the page and the property. The chapters (every page of _toc.yml but the introduction and
the references) follow the book's conventions: a "What you will learn" block, a Summary,
exercises with worked answers hidden until clicked, static figures, one output per cell, code no
wider than the column (80 characters).
"""

from __future__ import annotations

import functools
import http.server
import io
import re
import threading
import tomllib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import nbformat
import pytest
import yaml

from tests.axe import AXE_RUN_JS, AXE_TAGS, axe_source
from tests.book_pages import (
    CHAPTERS,
    PAGES,
    QuietHandler,
    source_of,
)

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# The text column holds 80 characters of code (BOOK_CONVENTIONS: 0 code lines wider than 80).
MAX_CODE_COLUMNS = 80
MIN_STATIC_FIGURES = 2
MIN_EXERCISES = 3
# Text that only an exception escaping a chapter's code would leave on a page.
ERROR_MARKERS = ("Traceback (most recent call last)", "Exception ignored in")
ERROR_OUTPUT_SELECTOR = ".cell_output .traceback, .cell_output .stderr, .cell_output .error"


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


# ---------------------------------------------------------------------------------------------
# Colab and Binder: the buttons open the executed chapter, published as .ipynb on a branch.

REPOSITORY_URL = CONFIG["repository"]["url"].rstrip("/")
NOTEBOOKS_BRANCH = CONFIG["sphinx"]["config"]["launch_notebooks_branch"]


def published_notebook(site: Path, page: str) -> nbformat.NotebookNode:
    """The executed chapter as the site publishes it (_sources/book/x.ipynb)."""
    path = site / "_sources" / Path(page).with_suffix(".ipynb")
    assert path.exists(), f"{page}: no executed notebook {path} for Colab and Binder"
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("page", CHAPTERS)
def test_launch_buttons_open_the_published_notebook(built_site: Path, page: str) -> None:
    notebook_path = Path(page).with_suffix(".ipynb").as_posix()
    github = REPOSITORY_URL.removeprefix("https://github.com/")
    launch = CONFIG["launch_buttons"]
    assert launch["notebook_interface"] == "jupyterlab", launch
    expected = {
        f"{launch['colab_url']}/github/{github}/blob/{NOTEBOOKS_BRANCH}/{notebook_path}",
        f"{launch['binderhub_url']}/v2/gh/{github}/{NOTEBOOKS_BRANCH}?urlpath=lab/tree/"
        f"{notebook_path}",
    }
    links = set(parse_page(built_site / page).hrefs)
    assert expected <= links, f"{page}: launch links {sorted(expected - links)} are missing"
    notebook = published_notebook(built_site, page)
    executed = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.outputs]
    assert executed, f"{page}: the published notebook has no outputs (not executed)"


def run_install_cell(source: str, *, cnncourse_installed: bool) -> list[tuple[str, str]]:
    """Runs the install cell as IPython would; returns the line magics it called."""
    import importlib.util

    from IPython.core.inputtransformer2 import TransformerManager

    magics: list[tuple[str, str]] = []

    class Shell:
        def run_line_magic(self, name: str, line: str) -> None:
            magics.append((name, line))

    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        if name == "cnncourse" and not cnncourse_installed:
            return None
        return real_find_spec(name, *args)

    code = TransformerManager().transform_cell(source)
    importlib.util.find_spec = find_spec
    try:
        exec(code, {"get_ipython": Shell})  # noqa: S102  (the cell of our own site)
    finally:
        importlib.util.find_spec = real_find_spec
    return magics


@pytest.mark.parametrize("page", CHAPTERS)
def test_published_chapter_installs_the_course_where_it_is_missing(
    built_site: Path, page: str
) -> None:
    first = published_notebook(built_site, page).cells[0]
    assert first.cell_type == "code", f"{page}: the first cell is not the install cell"
    assert run_install_cell(first.source, cnncourse_installed=True) == [], (
        f"{page}: the first cell does something although cnncourse is installed"
    )
    magics = run_install_cell(first.source, cnncourse_installed=False)
    # The commit the book was built from, or the branch where git could not say.
    revision = f"([0-9a-f]{{40}}|{re.escape(CONFIG['repository']['branch'])})"
    expected = re.escape(f"cnncourse[keras] @ git+{REPOSITORY_URL}@") + revision
    assert len(magics) == 1 and magics[0][0] == "pip", f"{page}: {magics}"
    assert re.search(f'"{expected}"', magics[0][1]), (
        f"{page}: without cnncourse the first cell should `%pip install` {expected}: {magics}"
    )
    assert "remove-cell" in first.metadata.get("tags", []), f"{page}: install cell not hidden"


def test_the_workflow_publishes_the_branch_the_buttons_open() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    publish = [run for run in runs if f"HEAD:refs/heads/{NOTEBOOKS_BRANCH}" in run]
    assert publish, f"no workflow step pushes the branch {NOTEBOOKS_BRANCH!r} the buttons open"
    assert "_build/html/_sources/book/*.ipynb" in publish[0], publish[0]


def test_binder_installs_the_course_with_its_python() -> None:
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    requirements = [line.strip() for line in lines if line.strip() and line[0] != "#"]
    assert ".[keras]" in requirements, (
        "binder/requirements.txt must install the course with Keras from the launched commit "
        f"('.[keras]'): {requirements}"
    )
    constraints = [line.split(maxsplit=1)[1] for line in requirements if line.startswith("-c ")]
    assert constraints and (ROOT / "binder" / constraints[0]).resolve() == (
        (ROOT / "constraints.txt").resolve()
    ), "binder/requirements.txt should pin the book's versions with -c ../constraints.txt"
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    minimum = re.fullmatch(r">=\s*3\.(\d+)", project["requires-python"])
    match = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert minimum and match and int(match[1]) >= int(minimum[1]), (
        f"binder/runtime.txt {runtime!r} does not satisfy {project['requires-python']}"
    )


# ---------------------------------------------------------------------------------------------
# The site in a browser.


@pytest.fixture(scope="session")
def site_url(built_site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


# The browser (fixture `browser`) is the session's one Chromium, from conftest.py.


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
# Runs in the page once MathJax is done: the formulas, and what a chapter is made of.
CONTENT_JS = """
async (columns) => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const article = document.querySelector('article.bd-article') || document.body;
  const words = el => el.textContent.replace(/\\s+/g, ' ').replace(/#$/, '').trim();
  const firstLine = cell => {
    const pre = cell.querySelector('.cell_input pre');
    return pre ? pre.textContent.trim().split('\\n')[0].slice(0, 70) : '(no input)';
  };
  const math = Array.from(article.querySelectorAll('.math'));
  const objectives = Array.from(article.querySelectorAll('.admonition.learning-objectives'));
  const summary = Array.from(article.querySelectorAll('section > h2'))
      .filter(h => /^([0-9]+\\.)*\\s*Summary$/.test(words(h))).map(h => h.parentElement);
  const codeLines = Array.from(article.querySelectorAll('.cell_input pre'))
      .concat(Array.from(article.querySelectorAll('div.highlight pre'))
              .filter(pre => !pre.closest('.cell_output') && !pre.closest('.cell_input')))
      .flatMap(pre => pre.textContent.split('\\n'));
  return {
    math: math.length,
    untypeset: math.filter(m => !m.querySelector('mjx-container'))
                   .map(m => m.textContent.slice(0, 60)),
    typeset: article.querySelectorAll('mjx-container').length,
    tex_errors: Array.from(article.querySelectorAll('mjx-merror'))
                    .map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 80)),
    objectives: objectives.map(o => ({
        title: words(o.querySelector('.admonition-title')),
        items: o.querySelectorAll('li').length})),
    summary_items: summary.map(s => s.querySelectorAll('li').length),
    exercises: Array.from(article.querySelectorAll('.exercise[id]')).map(e => e.id),
    solved: Array.from(article.querySelectorAll('.solution'))
        .map(s => s.querySelector('.admonition-title a[href^="#"]'))
        .filter(a => a).map(a => a.getAttribute('href').slice(1)),
    static_figures: Array.from(article.querySelectorAll('img'))
        .filter(img => !img.id.startsWith('_anim_img')).length,
    image_alts: Array.from(article.querySelectorAll('img'))
        .map(img => ({src: (img.getAttribute('src') || '').slice(0, 60),
                      alt: img.getAttribute('alt')})),
    split_outputs: Array.from(article.querySelectorAll('.cell'))
        .map(cell => ({cell: firstLine(cell),
                       outputs: Array.from(cell.querySelectorAll(':scope > .cell_output > *'))
                                    .map(out => out.tagName === 'IMG' ? 'image' :
                                         out.className.split(' ').slice(0, 2).join(' '))}))
        .filter(c => c.outputs.length > 1),
    wide_code_lines: codeLines.filter(line => line.length > columns)
        .map(line => line.slice(0, 90)),
  };
}
"""
# Runs in the page: what runs past the text column at the current width.
LAYOUT_JS = """
() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const label = el => (el.id || el.getAttribute('alt') || el.getAttribute('src')
                       || el.textContent || el.tagName).trim().split('\\n')[0].slice(0, 60);
  // Where an element's visible space ends: the text column, or the box that scrolls it.
  const visibleRight = el => {
    for (let box = el.parentElement; box && box !== article; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== 'visible') {
        return box.getBoundingClientRect().left + box.clientLeft + box.clientWidth;
      }
    }
    const rect = article.getBoundingClientRect();
    return rect.right - parseFloat(getComputedStyle(article).paddingRight);
  };
  // Is el inside a box that scrolls sideways (what runs past that box can be scrolled to)?
  const scrollsInABox = el => {
    for (let box = el.parentElement; box && box !== article; box = box.parentElement) {
      const overflow = getComputedStyle(box).overflowX;
      if (overflow !== 'visible') return overflow === 'auto' || overflow === 'scroll';
    }
    return false;
  };
  return {
    page_overflow: document.documentElement.scrollWidth - window.innerWidth,
    cut_images: Array.from(article.querySelectorAll('img'))
        .filter(img => img.getBoundingClientRect().width > 0)
        .filter(img => img.getBoundingClientRect().right > visibleRight(img) + 1)
        .map(img => `${label(img)} (right edge ${Math.round(img.getBoundingClientRect().right)}`
                    + ` px, visible up to ${Math.round(visibleRight(img))} px)`),
    // Formulas, tables, explorers and figures whose right part is hidden: past the column or
    // past the box that scrolls them (a formula that scrolls in its own box is not cut).
    cut_content: Array.from(article.querySelectorAll(
            'mjx-container, table, .cnnx, img, svg, .animation'))
        .filter(el => !el.closest('mjx-container mjx-container, .cnnx canvas'))
        .filter(el => el.getBoundingClientRect().width > 0)
        .filter(el => el.getBoundingClientRect().right > visibleRight(el) + 1)
        .filter(el => !scrollsInABox(el))
        .map(el => `${el.tagName.toLowerCase()} ${label(el)} (right edge `
                   + `${Math.round(el.getBoundingClientRect().right)} px, visible up to `
                   + `${Math.round(visibleRight(el))} px)`),
    // Formula and table boxes that scroll must show it (course.css: shadow cues).
    uncued_scrolling: Array.from(article.querySelectorAll(
            'div.math, mjx-container, .pst-scrollable-table-container, .output.text_html'))
        .filter(el => el.scrollWidth > el.clientWidth + 1)
        .filter(el => !getComputedStyle(el).backgroundImage.includes('gradient'))
        .map(el => `${el.tagName.toLowerCase()}.${el.className} ${label(el)}`),
    // Figures shown smaller than drawn (their text below its size): each must open at full size
    // with a tap, as a link to its own image file. Hidden ones (a diagram's other layout) not.
    shrunk_figures: Array.from(article.querySelectorAll(
            '.cell_output img, figure.phone-layout img'))
        .filter(img => !img.id.startsWith('_anim_img') && img.naturalWidth > 0)
        .filter(img => img.getBoundingClientRect().width > 0)
        .map(img => ({src: img.getAttribute('src').slice(0, 70),
                      scale: img.getBoundingClientRect().width / img.naturalWidth,
                      link: img.closest('a') ? img.closest('a').href : null,
                      file: img.src})),
    // Diagrams drawn twice (course.css): the page's, in cells tagged has-phone-layout, and the
    // phone's, in figures of class phone-layout; which is shown, at what share of its size.
    diagram_layouts: Array.from(article.querySelectorAll(
            '.tag_has-phone-layout .cell_output img, figure.phone-layout img'))
        .map(img => ({layout: img.closest('figure.phone-layout') ? 'phone' : 'page',
                      alt: (img.getAttribute('alt') || '').slice(0, 60),
                      shown: img.getBoundingClientRect().width > 0,
                      scale: img.getBoundingClientRect().width / img.naturalWidth})),
    scrolling_blocks: Array.from(article.querySelectorAll('pre'))
        .filter(pre => pre.scrollWidth > pre.clientWidth + 1)
        .map(pre => `${pre.textContent.trim().split('\\n')[0].slice(0, 60)} `
                    + `(${pre.scrollWidth} px in ${pre.clientWidth} px)`),
  };
}
"""
# Runs in the page: is the body of each answer (everything but its title) shown?
ANSWERS_SHOWN_JS = """
() => Array.from(document.querySelectorAll('article .solution')).map(s =>
    Array.from(s.children).filter(c => !c.classList.contains('admonition-title'))
         .some(c => c.checkVisibility() && c.getBoundingClientRect().height > 0))
"""


class PageView:
    """One page loaded in Chromium at one width, requests to other hosts refused and recorded."""

    def __init__(self, browser: Any, url: str, viewport: dict[str, int]) -> None:
        self.outside_requests: list[str] = []
        self.failed_requests: list[str] = []
        self.script_errors: list[str] = []
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(60_000)
        context.route("**/*", self.refuse_other_hosts)
        reader = context.new_page()
        reader.on("pageerror", lambda error: self.script_errors.append(str(error)))
        reader.on(
            "response", lambda r: self.failed_requests.append(r.url) if r.status >= 400 else None
        )
        try:
            reader.goto(url, wait_until="load")
            self.measure(reader)
        finally:
            context.close()

    def refuse_other_hosts(self, route: Any) -> None:
        """The site must work offline: anything from another host is a bug, recorded here."""
        if urlparse(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.outside_requests.append(route.request.url)
            route.abort()

    def measure(self, reader: Any) -> None:
        self.heading = reader.locator("main h1").first.inner_text().strip()
        self.title = reader.title().strip()
        self.content = reader.evaluate(CONTENT_JS, MAX_CODE_COLUMNS)
        self.broken_images = reader.evaluate(IMAGES_JS)
        self.animations = reader.evaluate(ANIMATIONS_JS)
        self.layout = reader.evaluate(LAYOUT_JS)
        self.error_outputs = reader.locator(ERROR_OUTPUT_SELECTOR).count()
        self.outputs = " ".join(reader.locator(".cell_output").all_inner_texts())
        self.answers_shown_before = reader.evaluate(ANSWERS_SHOWN_JS)
        for title in reader.locator("article .solution > .admonition-title").all():
            title.click()
        self.answers_shown_after = reader.evaluate(ANSWERS_SHOWN_JS)
        # The fonts the shown answers need (MathJax's) are requested, and recorded, by now.
        reader.evaluate("async () => { await document.fonts.ready; }")


@pytest.fixture(scope="module")
def desktop_view(browser: Any, site_url: str) -> Any:
    return functools.cache(lambda page: PageView(browser, urljoin(site_url, page), DESKTOP))


@pytest.fixture(scope="module")
def phone_view(browser: Any, site_url: str) -> Any:
    return functools.cache(lambda page: PageView(browser, urljoin(site_url, page), PHONE))


@pytest.mark.parametrize("page", PAGES)
def test_chapter_renders_in_a_browser(desktop_view: Any, page: str) -> None:
    view = desktop_view(page)
    assert view.heading, f"{page}: no <h1> heading"
    assert view.title, f"{page}: empty <title>"
    assert not view.broken_images, f"{page}: images that did not load: {view.broken_images}"
    if page in ANIMATED_PAGES:
        assert view.animations, f"{page}: the chapter animates, but no animation is on the page"
    for animation in view.animations:
        assert animation["frames"] > 1, f"{page}: animation without frames: {animation}"
        assert animation["broken"] == 0, f"{page}: frames that did not load: {animation}"
        assert animation["shown"], f"{page}: animation shows no frame: {animation}"
    assert view.error_outputs == 0, f"{page}: {view.error_outputs} error or stderr outputs"
    for marker in ERROR_MARKERS:
        assert marker not in view.outputs, f"{page}: a cell output contains {marker!r}"
    assert not view.failed_requests, f"{page}: local requests that failed: {view.failed_requests}"
    assert not view.script_errors, f"{page}: JavaScript errors: {view.script_errors}"


@pytest.mark.parametrize("page", PAGES)
def test_nothing_is_requested_from_another_host(
    desktop_view: Any, phone_view: Any, page: str
) -> None:
    outside = desktop_view(page).outside_requests + phone_view(page).outside_requests
    assert not outside, f"{page}: requests to other hosts (refused): {sorted(set(outside))}"


@pytest.mark.parametrize("page", PAGES)
def test_formulas_are_typeset_offline(desktop_view: Any, page: str) -> None:
    content = desktop_view(page).content
    assert not content["untypeset"], f"{page}: formulas left as TeX: {content['untypeset']}"
    assert not content["tex_errors"], f"{page}: formulas MathJax could not read: " + str(
        content["tex_errors"]
    )


def test_the_book_has_typeset_formulas(desktop_view: Any) -> None:
    typeset = {page: desktop_view(page).content["typeset"] for page in CHAPTERS}
    assert sum(typeset.values()) > 0, f"no formula typeset by MathJax in any chapter: {typeset}"


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_starts_with_its_objectives(desktop_view: Any, page: str) -> None:
    objectives = desktop_view(page).content["objectives"]
    assert len(objectives) == 1, (
        f"{page}: expected one 'What you will learn' block (class learning-objectives), "
        f"found {objectives}"
    )
    assert objectives[0]["title"] == "What you will learn", f"{page}: {objectives[0]}"
    assert objectives[0]["items"] >= 2, f"{page}: objectives without a list: {objectives[0]}"


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_has_a_summary(desktop_view: Any, page: str) -> None:
    summary = desktop_view(page).content["summary_items"]
    assert summary, f"{page}: no '## Summary' section"
    assert summary[0] >= 2, f"{page}: the summary has {summary[0]} bullet points"


@pytest.mark.parametrize("page", CHAPTERS)
def test_exercises_have_worked_answers(desktop_view: Any, page: str) -> None:
    content = desktop_view(page).content
    exercises, solved = content["exercises"], content["solved"]
    assert len(exercises) >= MIN_EXERCISES, f"{page}: {len(exercises)} exercises: {exercises}"
    unanswered = sorted(set(exercises) - set(solved))
    assert not unanswered, f"{page}: exercises without a worked answer: {unanswered}"


@pytest.mark.parametrize("page", CHAPTERS)
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_answers_stay_hidden_until_their_title_is_clicked(
    desktop_view: Any, phone_view: Any, page: str, width: str
) -> None:
    """A click (a tap) in the middle of an answer's title shows it; before, it is hidden."""
    view = (desktop_view if width == "desktop" else phone_view)(page)
    solved = view.content["solved"]
    assert solved, f"{page}: no worked answers"
    shown = [ex for ex, visible in zip(solved, view.answers_shown_before, strict=True) if visible]
    assert not shown, f"{page} ({width}): answers shown before the reader asks: {shown}"
    hidden = [ex for ex, vis in zip(solved, view.answers_shown_after, strict=True) if not vis]
    assert not hidden, f"{page} ({width}): answers still hidden after a click: {hidden}"
    assert not view.script_errors, f"{page} ({width}): JavaScript errors: {view.script_errors}"


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_has_static_figures(desktop_view: Any, page: str) -> None:
    figures = desktop_view(page).content["static_figures"]
    assert figures >= MIN_STATIC_FIGURES, f"{page}: {figures} static figures"


@pytest.mark.parametrize("page", PAGES)
def test_one_output_area_per_cell(desktop_view: Any, page: str) -> None:
    split = desktop_view(page).content["split_outputs"]
    assert not split, f"{page}: cells with several output areas: {split}"


@pytest.mark.parametrize("page", PAGES)
def test_code_fits_the_column(desktop_view: Any, page: str) -> None:
    view = desktop_view(page)
    wide = view.content["wide_code_lines"]
    assert not wide, f"{page}: {len(wide)} code lines over {MAX_CODE_COLUMNS} characters: {wide}"
    scrolling = view.layout["scrolling_blocks"]
    assert not scrolling, f"{page}: code or output wider than the column at 1280 px: {scrolling}"


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_nothing_runs_past_the_page(
    desktop_view: Any, phone_view: Any, page: str, width: str
) -> None:
    view = (desktop_view if width == "desktop" else phone_view)(page)
    assert not view.layout["cut_images"], f"{page} ({width}): images cut off at the right " + str(
        view.layout["cut_images"]
    )
    assert view.layout["page_overflow"] <= 0, (
        f"{page} ({width}): the page is {view.layout['page_overflow']} px wider than the screen"
    )
    assert not view.broken_images, f"{page} ({width}): images that did not load"


# ---------------------------------------------------------------------------------------------
# Accessibility: WCAG 2.1 A and AA as axe-core checks it, in the light and the dark theme.

THEMES = ["light", "dark"]


def axe_report(browser: Any, url: str, theme: str) -> dict:
    """axe-core's WCAG 2.1 AA violations of one page in one theme (the reader's saved choice)."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(60_000)
    context.route(
        "**/*",
        lambda route: route.continue_()
        if urlparse(route.request.url).hostname in LOCAL_HOSTS
        else route.abort(),
    )
    # pydata-sphinx-theme reads the reader's choice from localStorage before it paints.
    context.add_init_script(
        f"localStorage.setItem('mode', '{theme}'); localStorage.setItem('theme', '{theme}');"
    )
    try:
        reader = context.new_page()
        reader.goto(url, wait_until="load")
        reader.add_script_tag(content=axe_source())
        return reader.evaluate(AXE_RUN_JS, AXE_TAGS)
    finally:
        context.close()


@pytest.fixture(scope="module")
def axe_view(browser: Any, site_url: str) -> Any:
    return functools.cache(lambda page, theme: axe_report(browser, urljoin(site_url, page), theme))


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("page", PAGES)
def test_no_accessibility_violations(axe_view: Any, page: str, theme: str) -> None:
    report = axe_view(page, theme)
    assert report["theme"] == theme, f"{page}: the page did not switch to the {theme} theme"
    violations = report["violations"]
    listed = "\n".join(
        f"{v['id']} ({v['impact']}, {v['count']} elements): " + "; ".join(v["nodes"])
        for v in violations
    )
    assert not violations, f"{page} ({theme}): {len(violations)} axe-core violations:\n{listed}"


# What a figure's alt text must not be: empty, or a file name or path (the HTML writer's default).
PATH_LIKE = re.compile(r"(^|/)[\w.-]+\.(png|svg|jpe?g|gif)$|^\.\./|/_images/")
# The package's figures are drawn at 100 dpi with labels down to 7 pt (9.7 px; 5 pt in some
# kernel annotations): shown at less than 93% of its drawn size, a figure may put text below
# 9 px, so it must open at full size with a tap.
MIN_FIGURE_SCALE = 0.93


@pytest.mark.parametrize("page", PAGES)
def test_every_image_has_an_alt_text_not_a_path(desktop_view: Any, page: str) -> None:
    images = desktop_view(page).content["image_alts"]
    bad = [image for image in images
           if not (image["alt"] or "").strip() or PATH_LIKE.search(image["alt"].strip())]
    assert not bad, f"{page}: images whose alt text is missing or a path: {bad}"


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_nothing_is_cut_off(desktop_view: Any, phone_view: Any, page: str, width: str) -> None:
    layout = (desktop_view if width == "desktop" else phone_view)(page).layout
    assert not layout["cut_content"], f"{page} ({width}): content cut off at the right: " + str(
        layout["cut_content"])
    assert not layout["uncued_scrolling"], (
        f"{page} ({width}): boxes that scroll without a cue: {layout['uncued_scrolling']}")


@pytest.mark.parametrize("page", CHAPTERS)
def test_small_figures_open_at_full_size(phone_view: Any, page: str) -> None:
    """On a phone, a figure shown below its drawn size (text under 9 px) opens with a tap."""
    figures = phone_view(page).layout["shrunk_figures"]
    assert figures, f"{page}: no figure measured"
    unreadable = [f for f in figures if f["scale"] < MIN_FIGURE_SCALE and f["link"] != f["file"]]
    assert not unreadable, (
        f"{page}: figures shown at less than {MIN_FIGURE_SCALE:.0%} of their size that a tap "
        f"does not open at full size: {unreadable}")


# The architecture diagrams (cnncourse.viz.architecture) are wide: at 390 px the page's drawing
# would be shown at half its size, its text at 6 px. Each is also drawn for a phone (layout=
# "phone"), and a phone shows that one, at its drawn size, instead.
DIAGRAM_CALL = re.compile(r"\bplot_(architecture|architectures|vgg_configurations)\(")
DIAGRAM_PAGES = [page for page in CHAPTERS if DIAGRAM_CALL.search(source_of(page))]


def page_diagrams(page: str) -> int:
    """Code cells of a chapter that draw an architecture diagram for the page (not the phone)."""
    cells = re.findall(r"```\{code-cell\}.*?\n```", source_of(page), flags=re.S)
    return sum(1 for cell in cells if DIAGRAM_CALL.search(cell) and 'layout="phone"' not in cell)


@pytest.mark.parametrize("page", DIAGRAM_PAGES)
def test_a_phone_shows_each_diagram_in_its_phone_layout_at_its_size(
    phone_view: Any, page: str
) -> None:
    layouts = phone_view(page).layout["diagram_layouts"]
    phone = [d for d in layouts if d["layout"] == "phone"]
    assert len(phone) == page_diagrams(page) > 0, (
        f"{page}: {page_diagrams(page)} diagrams drawn, {len(phone)} in a phone layout")
    assert all(d["shown"] and d["scale"] >= MIN_FIGURE_SCALE for d in phone), (
        f"{page}: phone diagrams hidden or shown below {MIN_FIGURE_SCALE:.0%} (text < 9 px): "
        f"{phone}")
    assert not [d for d in layouts if d["layout"] == "page" and d["shown"]], (
        f"{page}: page-width diagrams still shown on a phone: {layouts}")


@pytest.mark.parametrize("page", DIAGRAM_PAGES)
def test_a_desktop_shows_each_diagram_in_its_page_layout_only(
    desktop_view: Any, page: str
) -> None:
    layouts = desktop_view(page).layout["diagram_layouts"]
    shown = sorted(d["layout"] for d in layouts if d["shown"])
    assert shown == ["page"] * page_diagrams(page), f"{page}: shown at 1280 px: {layouts}"


# In the dark theme a diagram is light lines and text on the dark page, not a white slab: the
# commonest colour of its picture as shown is dark, and some of it (text, lines) is light.
DARK_GROUND = 0.25  # relative luminance of the commonest colour at most
LIGHT_INK = 0.6  # what counts as light...
LIGHT_SHARE = 0.005  # ...and the least share of the picture's pixels that are (its text)
FRAME_TOLERANCE = 0.03  # its corners are the ground's colour: no card or padding round it


def luminance_histogram(png: bytes) -> list[int]:
    """Pixel counts of the 256 grey levels of a screenshot."""
    from PIL import Image  # matplotlib's own dependency

    return Image.open(io.BytesIO(png)).convert("L").histogram()


def corner_luminances(png: bytes) -> list[float]:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    right, bottom = image.width - 1, image.height - 1
    return [image.getpixel(xy) / 255 for xy in ((0, 0), (right, 0), (0, bottom), (right, bottom))]


def shown_diagrams(browser: Any, url: str, viewport: dict[str, int], theme: str) -> list[bytes]:
    """Screenshots of the diagrams shown on a page in a theme at a width."""
    context = browser.new_context(viewport=viewport)
    context.add_init_script(
        f"localStorage.setItem('mode', '{theme}'); localStorage.setItem('theme', '{theme}');"
    )
    try:
        reader = context.new_page()
        reader.goto(url, wait_until="load")
        images = reader.locator(".tag_has-phone-layout .cell_output img, figure.phone-layout img")
        return [image.screenshot() for image in images.all() if image.is_visible()]
    finally:
        context.close()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_dark_theme_draws_diagrams_light_on_the_dark_page(
    browser: Any, site_url: str, width: str
) -> None:
    url = urljoin(site_url, "book/model_zoo.html")
    shots = shown_diagrams(browser, url, DESKTOP if width == "desktop" else PHONE, "dark")
    assert len(shots) == page_diagrams("book/model_zoo.html")
    for number, shot in enumerate(shots, start=1):
        counts = luminance_histogram(shot)
        ground = max(range(256), key=counts.__getitem__) / 255
        assert ground <= DARK_GROUND, f"diagram {number} ({width}): a light slab ({ground:.2f})"
        corners = corner_luminances(shot)
        assert all(abs(corner - ground) <= FRAME_TOLERANCE for corner in corners), (
            f"diagram {number} ({width}): framed: corners {corners}, ground {ground:.2f}")
        light = sum(counts[round(LIGHT_INK * 255):]) / sum(counts)
        assert light >= LIGHT_SHARE, (
            f"diagram {number} ({width}): {light:.1%} light pixels: no light text or lines")
