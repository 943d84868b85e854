"""axe-core in headless Chromium: the WCAG 2.1 A and AA rules the book and the feedback pages are
checked against, and checks of one saved HTML file (axe, width on a phone) that need no shared
browser.

The book's tests share one Chromium (tests/book/conftest.py); `violations_of_file` starts its own
in a thread of its own, because Playwright's sync API refuses to start in a thread where an
asyncio loop runs, which grading code run earlier in the same test process may leave behind.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.book.conftest import CHROMIUM, CHROMIUM_ARGS

# axe-core itself, as the PyPI package axe-playwright-python ships it (installed with the dev
# extra, read from disk: nothing is fetched at test time).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@functools.cache
def axe_source() -> str:
    import axe_playwright_python  # a missing package fails, never skips

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


# Runs in the page once MathJax is done: axe's violations, each with the elements it names (at
# most five, with what axe says is wrong).
AXE_RUN_JS = """
async (tags) => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  // axe leaves its experimental rules out unless asked: those of these levels are run too
  // (label-content-name-mismatch, WCAG 2.5.3, is one).
  const experimental = Object.fromEntries(axe.getRules(tags)
      .filter(rule => rule.tags.includes('experimental'))
      .map(rule => [rule.ruleId, {enabled: true}]));
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                          rules: experimental, resultTypes: ['violations']});
  return {theme: document.documentElement.dataset.theme,
          violations: result.violations.map(v => ({
              id: v.id, impact: v.impact, count: v.nodes.length,
              nodes: v.nodes.slice(0, 12).map(n => n.target.join(' ') + ': '
                  + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 160))}))};
}
"""


def violations_of_file(page: Path) -> list[dict]:
    """axe-core's violations of a stand-alone HTML file, loaded with every request that is not
    a local file refused (the page must need nothing from any host)."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(_violations_in_fresh_chromium, page).result()


def page_overflow_of_file(page: Path, width: int) -> int:
    """How many pixels wider than a `width`-pixel screen the page is (0 or less: it fits)."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(_overflow_in_fresh_chromium, page, width).result()


def _overflow_in_fresh_chromium(page: Path, width: int) -> int:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            reader = browser.new_page(viewport={"width": width, "height": 800})
            reader.goto(page.as_uri(), wait_until="load")
            return reader.evaluate("document.documentElement.scrollWidth") - width
        finally:
            browser.close()


def _violations_in_fresh_chromium(page: Path) -> list[dict]:
    from playwright.sync_api import sync_playwright  # a missing driver fails, never skips

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.route("**/*", lambda route: route.continue_()
                          if route.request.url.startswith("file:") else route.abort())  # fmt: skip
            reader = context.new_page()
            reader.goto(page.as_uri(), wait_until="load")
            reader.add_script_tag(content=axe_source())
            return reader.evaluate(AXE_RUN_JS, AXE_TAGS)["violations"]
        finally:
            browser.close()
