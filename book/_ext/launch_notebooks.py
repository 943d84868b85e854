"""Sphinx extension of the book: Colab and Binder buttons that open the executed chapter.

The chapters are MyST Markdown, which Colab cannot open. So:

1. Every executed chapter is written to the site as `_sources/<page>.ipynb` (the page's .ipynb
   download button) with one cell added at the top that installs the course package where it is
   missing (Colab; it does nothing where `cnncourse` imports, as on Binder or the student's
   machine). It installs the commit the book was built from (the branch when git cannot say),
   so the package matches the outputs. Its outputs come from the execution cache: myst-nb 1.4 writes
   `jupyter_execute/<page>.ipynb` without outputs when the chapter was not executed again
   (it merges the cached outputs into a copy), which is every chapter of a cached CI build.
2. The GitHub workflow (.github/workflows/book.yml) commits those notebooks, on top of the
   commit that was built, to the branch named by `launch_notebooks_branch` (default `notebooks`).
3. The Colab and Binder buttons that sphinx-book-theme draws are pointed at `<page>.ipynb` on that
   branch. Binder builds its environment from binder/ on that branch (the course installed from
   the same commit).
"""

from __future__ import annotations

import subprocess
from contextlib import suppress
from pathlib import Path
from typing import Any

import nbformat
from jupyter_cache import get_cache
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

INSTALL_CELL_ID = "install-cnncourse"
INSTALL_CELL_TEMPLATE = """\
#@title Install the course package where it is missing (Colab)
# Does nothing where cnncourse is already installed (Binder, the course's own set-up).
import importlib.util

if importlib.util.find_spec("cnncourse") is None:
    %pip install --quiet "cnncourse[keras] @ git+{repository_url}@{revision}"
    importlib.invalidate_caches()"""


def install_cell_source(repository_url: str, revision: str) -> str:
    """The first cell of a published chapter: `pip install` the course from its repository,
    with Keras (the version ranges of pyproject.toml keep Colab's own TensorFlow)."""
    return INSTALL_CELL_TEMPLATE.format(
        repository_url=repository_url.rstrip("/"), revision=revision
    )


def built_commit(folder: Path) -> str | None:
    """The git commit checked out in `folder` (40 hex digits), None outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "HEAD"],
            cwd=folder, capture_output=True, text=True, check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip() or None


def with_install_cell(notebook: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """`notebook` with the install cell first (replacing an older copy of it), hidden in
    Colab (a form), JupyterLab (collapsed input) and Jupyter Book (remove-cell)."""
    cell = nbformat.v4.new_code_cell(
        source,
        id=INSTALL_CELL_ID,
        metadata={
            "cellView": "form",
            "jupyter": {"source_hidden": True},
            "tags": ["remove-cell"],
        },
    )
    cells = [c for c in notebook.cells if c.get("id") != INSTALL_CELL_ID]
    notebook.cells = [cell, *cells]
    notebook.nbformat_minor = max(notebook.get("nbformat_minor", 0), 5)  # cell ids
    return notebook


def launch_urls(
    theme_options: dict[str, Any], pagename: str, branch: str
) -> dict[str, str] | None:
    """Colab and Binder URLs of `pagename`.ipynb on `branch` (None unless on GitHub)."""
    repository_url = theme_options.get("repository_url", "").rstrip("/")
    if not repository_url.startswith("https://github.com/"):
        return None
    org, repo = repository_url.removeprefix("https://github.com/").split("/")[:2]
    launch = theme_options.get("launch_buttons", {})
    urls = {}
    if launch.get("colab_url"):
        colab = launch["colab_url"].rstrip("/")
        urls["Colab"] = f"{colab}/github/{org}/{repo}/blob/{branch}/{pagename}.ipynb"
    if launch.get("binderhub_url"):
        binder = launch["binderhub_url"].rstrip("/")
        interface = {"classic": "tree", "jupyterlab": "lab/tree"}[
            launch.get("notebook_interface", "classic")
        ]
        urls["Binder"] = (
            f"{binder}/v2/gh/{org}/{repo}/{branch}?urlpath={interface}/{pagename}.ipynb"
        )
    return urls


def retarget_launch_buttons(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Point the theme's Colab and Binder buttons at the published .ipynb of the page, and
    put the install cell into the page's .ipynb download."""
    launch_group = next(
        (b for b in context.get("header_buttons", []) if b.get("label") == "launch-buttons"),
        None,
    )
    if launch_group is None:  # not an executed chapter
        return
    options = app.config.html_theme_options
    urls = launch_urls(options, pagename, app.config.launch_notebooks_branch) or {}
    for button in launch_group["buttons"]:
        if button.get("text") in urls:
            button["url"] = urls[button["text"]]
    write_published_notebook(app, pagename)


def executed_notebook(app: Sphinx, pagename: str) -> nbformat.NotebookNode | None:
    """The chapter as myst-nb read it, with the outputs of its execution (from the cache when
    the chapter was not executed in this build); None when myst-nb wrote no notebook."""
    path = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not path.exists():
        return None
    notebook = nbformat.read(path, as_version=4)
    config = app.env.mystnb_config
    if config.execution_mode == "cache" and config.execution_cache_path:
        with suppress(KeyError):  # not in the cache: the notebook is as executed
            _, notebook = get_cache(config.execution_cache_path).merge_match_into_notebook(
                notebook
            )
    return notebook


def write_published_notebook(app: Sphinx, pagename: str) -> None:
    """Write `_sources/<pagename>.ipynb`: the executed chapter with the install cell first."""
    executed = executed_notebook(app, pagename)
    if executed is None:
        logger.warning(f"no executed notebook for {pagename}", type="launch")
        return
    options = app.config.html_theme_options
    revision = built_commit(Path(app.srcdir)) or options.get("repository_branch", "main")
    source = install_cell_source(options.get("repository_url", ""), revision)
    notebook = with_install_cell(executed, source)
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("launch_notebooks_branch", "notebooks", "html", types=[str])
    # After sphinx-book-theme's add_launch_buttons (priority 501), which fills the buttons.
    app.connect("html-page-context", retarget_launch_buttons, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
