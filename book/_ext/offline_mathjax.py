"""Sphinx extension of the book: MathJax 3 served by the site itself, never from a CDN.

Sphinx loads MathJax from a CDN by default, and a reader who is offline or behind a firewall then
sees raw `\\(...\\)`. The PyPI package `sphinx-mathjax-offline` (installed with the book's
dependencies) ships MathJax 3.2.2's browser build; this extension copies the part of it that the
book uses into `_static/mathjax/` and points `mathjax_path` there:

- `tex-chtml.js`: TeX input and HTML-CSS output, with the context menu, in one file;
- `input/tex/extensions/`: TeX packages MathJax loads on demand (`\\boldsymbol`, `\\cancel`...);
- `output/chtml/fonts/woff-v2/`: the math fonts;
- `ui/`, `a11y/`, `sre/`: what the context menu loads when a reader turns on accessibility.

The package's own Sphinx extension is not used: it copies all 24 MB (SVG output and other
bundles included) and sets `mathjax_path` in a way the book's configuration could overwrite.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util.fileutil import copy_asset
from sphinx.util.osutil import copyfile, ensuredir

MATHJAX_DISTRIBUTION = "sphinx-mathjax-offline"
MATHJAX_ENTRY = "tex-chtml.js"
# What of MathJax's browser build the site needs, relative to its folder (see the docstring).
MATHJAX_FOLDERS = ("input/tex/extensions", "output/chtml/fonts/woff-v2", "ui", "a11y", "sre")
# Where the copy goes, relative to the site's _static/ (and so what mathjax_path says).
SITE_FOLDER = "mathjax"


def mathjax_source() -> Path:
    """Folder of the installed MathJax 3 browser build (the one that holds tex-chtml.js)."""
    try:
        distribution = importlib.metadata.distribution(MATHJAX_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as error:
        raise ExtensionError(
            f"the book serves MathJax itself and needs the PyPI package {MATHJAX_DISTRIBUTION}: "
            "install the project's book dependencies (python3 tasks.py book does)"
        ) from error
    folder = Path(distribution.locate_file("sphinx-mathjax-offline/static/mathjax"))
    if not (folder / MATHJAX_ENTRY).is_file():
        raise ExtensionError(f"{MATHJAX_DISTRIBUTION} has no {MATHJAX_ENTRY} in {folder}")
    return folder


def use_local_mathjax(app: Sphinx, config: Config) -> None:
    """Point Sphinx at the site's own copy, whatever _config.yml or Jupyter Book set."""
    mathjax_source()  # fail at the start of the build, not after executing every chapter
    config.mathjax_path = f"{SITE_FOLDER}/{MATHJAX_ENTRY}"


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """Copy MathJax into the built site (files already there and identical are left alone)."""
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / SITE_FOLDER
    ensuredir(target)
    copyfile(source / MATHJAX_ENTRY, target / MATHJAX_ENTRY)
    for folder in MATHJAX_FOLDERS:
        copy_asset(source / folder, target / folder)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", use_local_mathjax, priority=900)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
