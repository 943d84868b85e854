"""Book build time and page weight.

Two builds into one fresh temporary folder, with their own execution cache, so the project's
_build/ is left alone and the first build really executes everything: a clean build and a
rebuild with nothing changed. Prints both wall-clock times, their ratio and the course's targets
(clean < 10 min, no-change rebuild < 20 s on the 2-core machine), then the page weight of every
page of the book: its HTML, the images it shows, and the scripts and stylesheets it loads
(shared by every page and cached by the browser after the first one, so listed apart).

    python3 tasks.py bench            (runs every benchmark)
    .venv/bin/python benchmarks/bench_book.py
    .venv/bin/python benchmarks/bench_book.py --weights _build/html   (weights of a built site)
"""

from __future__ import annotations

import argparse
import functools
import gzip
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tasks import course_env  # noqa: E402  (the environment of `python3 tasks.py book`)

JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")
CLEAN_TARGET_S = 600.0
REBUILD_TARGET_S = 20.0
# MathJax's entry script; the fonts and TeX packages it loads on demand are not counted.
MATHJAX_NOTE = "(MathJax fonts and TeX packages load on demand and are not counted)"


def timed_build(output: Path) -> float:
    """Seconds taken by `jupyter-book build . -W -n --keep-going` writing into `output`."""
    command = [str(JUPYTER_BOOK), "build", ".", "-W", "-n", "--keep-going",
               "--path-output", str(output)]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=course_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"book build failed ({result.returncode}) after {elapsed:.0f} s: its time "
                 f"says nothing\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return elapsed


class Assets(HTMLParser):
    """The local files one page loads: images, scripts and stylesheets."""

    def __init__(self) -> None:
        super().__init__()
        self.images: set[str] = set()
        self.scripts: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "img" and attributes.get("src"):
            self.images.add(attributes["src"])
        elif tag == "script" and attributes.get("src"):
            self.scripts.add(attributes["src"])
        elif tag == "link" and attributes.get("rel") == "stylesheet" and attributes.get("href"):
            self.scripts.add(attributes["href"])


@dataclass
class PageWeight:
    """Bytes one page costs a first-time reader: its own HTML and images, and the shared
    scripts and stylesheets (the same on every page); `sent` is the total as a web server
    sends it, HTML, scripts and styles gzipped (GitHub Pages does), images as they are."""

    page: str
    html: int
    images: int
    scripts: int
    sent: int

    @property
    def total(self) -> int:
        return self.html + self.images + self.scripts


def local_file(page: Path, url: str) -> Path | None:
    """The site file that `url` (relative to `page`) names; None for data: or remote URLs."""
    parsed = urlparse(url)
    if parsed.scheme or parsed.netloc:
        return None
    path = (page.parent / unquote(parsed.path)).resolve()
    return path if path.is_file() else None


@functools.cache
def gzipped_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=6))


def page_weight(site: Path, page: str) -> PageWeight:
    path = site / page
    assets = Assets()
    assets.feed(path.read_text(encoding="utf-8"))
    images = {f for f in (local_file(path, src) for src in assets.images) if f}
    scripts = {f for f in (local_file(path, src) for src in assets.scripts) if f}
    return PageWeight(
        page=page,
        html=path.stat().st_size,
        images=sum(f.stat().st_size for f in images),
        scripts=sum(f.stat().st_size for f in scripts),
        sent=gzipped_size(path)
        + sum(f.stat().st_size for f in images)
        + sum(gzipped_size(f) for f in scripts),
    )


def book_pages() -> list[str]:
    """The built pages of _toc.yml, in reading order (book/x -> book/x.html)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files, stack = [toc["root"]], list(toc.get("chapters", []))
    while stack:
        entry = stack.pop(0)
        files += [entry["file"]] if "file" in entry else []
        stack = [*entry.get("sections", []), *stack]
    return [f"{name}.html" for name in files]


def print_weights(site: Path) -> None:
    print(f"page weight (KB) of {site} {MATHJAX_NOTE}")
    print(f"{'page':36s} {'html':>8s} {'images':>8s} {'scripts':>8s} {'total':>8s} "
          f"{'gzipped':>8s}")
    weights = [page_weight(site, page) for page in book_pages() if (site / page).exists()]
    for w in weights:
        print(f"{w.page:36s} {w.html / 1e3:8.0f} {w.images / 1e3:8.0f} "
              f"{w.scripts / 1e3:8.0f} {w.total / 1e3:8.0f} {w.sent / 1e3:8.0f}")
    heaviest = max(weights, key=lambda w: w.total)
    print(f"book: heaviest page {heaviest.page} {heaviest.total / 1e6:.1f} MB "
          f"({heaviest.sent / 1e6:.1f} MB gzipped); all pages' own "
          f"HTML and images {sum(w.html + w.images for w in weights) / 1e6:.1f} MB")


def print_build_times(clean: float, rebuild: float) -> None:
    print(f"book: clean build {clean:7.1f} s (target < {CLEAN_TARGET_S:.0f} s)"
          f"{'' if clean < CLEAN_TARGET_S else '  OVER TARGET'}")
    print(f"book: no-change rebuild {rebuild:7.1f} s (target < {REBUILD_TARGET_S:.0f} s)"
          f"{'' if rebuild < REBUILD_TARGET_S else '  OVER TARGET'}")
    print(f"book: clean build / no-change rebuild = {clean / rebuild:.1f}x "
          f"(cpu cores: {os.cpu_count()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, metavar="SITE",
                        help="only print the page weights of an already built site")
    arguments = parser.parse_args()
    if arguments.weights:
        print_weights(arguments.weights)
        return
    with tempfile.TemporaryDirectory(prefix="bench-book-") as folder:
        output = Path(folder)
        clean = timed_build(output)
        rebuild = timed_build(output)
        print_build_times(clean, rebuild)
        print_weights(output / "_build" / "html")


if __name__ == "__main__":
    main()
