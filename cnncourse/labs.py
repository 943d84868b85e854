"""The labs as a student gets them: list them, write one into a folder, check its version.

    cnncourse labs                     list the labs shipped with this package
    cnncourse labs get LAB [DIR]       write the student release of LAB into DIR (default ./LAB)

The student releases are exactly the committed `exercises/LAB/` folders (what
`nbgrader generate_assignment` wrote). A wheel carries them as `cnncourse/releases/` (setup.py
copies them in); a checkout of the course repository reads `exercises/` itself.

Each lab's source notebook starts with a *setup cell* (`stamp_setup_cell`, applied by
`cnncourse release`): where the package is missing, as on Colab, it installs the version the lab
was released with; where it is installed, it only calls `check_version`, which warns when the
installed package is not the one the lab was released with. The same version is recorded in the
notebook's metadata under "cnncourse".
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shutil
import subprocess
import warnings
from importlib import resources
from pathlib import Path

import cnncourse

PACKAGE_ROOT = Path(__file__).resolve().parent
COURSE_ROOT = PACKAGE_ROOT.parent  # the course repository, in a checkout
CHECKOUT_RELEASES = COURSE_ROOT / "exercises"
SETUP_CELL_ID = "cnncourse-setup"
# How a lab's code imports Keras (its setup cell then installs the [keras] extra); the labs use
# cnncourse.quiet.import_keras(), which hides TensorFlow's start-up lines.
KERAS_IMPORTS = ("import keras", "from keras", "import_keras()")


# ----------------------------------------------------------------------------- where it lives
# The course's address is set once, as the book's `repository: url:` (and `branch:`) in
# _config.yml; a checkout whose _config.yml has none takes its git remote `origin`. An installed
# package has neither: it reads the address its labs were released with (their setup cell).
# `cnncourse release` writes it into the setup cells and the course's links (README.md,
# book/*.md: `follow_repository`).
DEFAULT_REPOSITORY = "https://github.com/cnncourse/cnn-course"
_CONFIG_REPOSITORY = re.compile(r"^repository:[ \t]*\n((?:[ \t]+.*\n?)*)", re.M)
_RELEASED_FROM = re.compile(r"git\+(https://[^@\s\"']+)@v")


def _config_repository(root: Path) -> dict[str, str]:
    """The `repository:` block of root/_config.yml as {key: value} ({} without one)."""
    config = Path(root) / "_config.yml"
    block = _CONFIG_REPOSITORY.search(config.read_text()) if config.is_file() else None
    if block is None:
        return {}
    pairs = (line.split(":", 1) for line in block[1].splitlines() if ":" in line)
    return {key.strip(): value.split(" #")[0].strip().strip("\"'") for key, value in pairs}


def _git_remote(root: Path) -> str | None:
    """root's git remote `origin` as an https address, or None."""
    try:
        done = subprocess.run(["git", "-C", str(root), "remote", "get-url", "origin"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    url = done.stdout.strip() if done.returncode == 0 else ""
    if not url:
        return None
    url = re.sub(r"^git@([^:]+):", r"https://\1/", url)
    return url.removesuffix(".git")


def _released_repository() -> str | None:
    """The address the shipped lab releases install from (their setup cell), or None."""
    try:
        releases = releases_dir()
    except FileNotFoundError:
        return None
    for notebook in sorted(releases.glob("*/*.ipynb")):
        try:
            found = _RELEASED_FROM.search(notebook.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        if found:
            return found[1]
    return None


def repository_url(root: Path = COURSE_ROOT) -> str:
    """The course's repository address (no trailing slash): see the section's comment."""
    url = _config_repository(root).get("url") or _git_remote(root)
    if not url and Path(root).resolve() != COURSE_ROOT:
        return repository_url(COURSE_ROOT)  # a course folder of its own: this package's
    url = (url or _released_repository() or DEFAULT_REPOSITORY).rstrip("/")
    if not re.fullmatch(r"https://[\w.-]+/[\w.-]+/[\w.-]+", url):
        raise ValueError(f"the course's repository address must look like "
                         f"https://github.com/OWNER/NAME; got {url!r} (set it in _config.yml)")
    return url


def repository_branch(root: Path = COURSE_ROOT) -> str:
    """The branch the links point into: _config.yml's `repository: branch:`, else main."""
    return _config_repository(root).get("branch") or "main"


def colab_base(repository: str, branch: str = "main") -> str:
    """Colab's address of the repository's files at `branch` (Colab opens GitHub files)."""
    return f"https://colab.research.google.com/github/" \
           f"{repository.removeprefix('https://github.com/')}/blob/{branch}"


# The course's own links to itself, as README.md and book/*.md write them (any owner and name).
_NAME = r"[\w.-]+/[\w.-]+"
_LINKS = [
    (re.compile(rf"https://colab\.research\.google\.com/github/{_NAME}/blob/[\w.-]+/"),
     lambda repo, branch: f"{colab_base(repo, branch)}/"),
    (re.compile(rf"https://github\.com/{_NAME}/blob/[\w.-]+/exercises/"),
     lambda repo, branch: f"{repo}/blob/{branch}/exercises/"),
    (re.compile(rf"git\+https://github\.com/{_NAME}(?=[@\"' ])"),
     lambda repo, branch: f"git+{repo}"),
    (re.compile(rf"git clone https://github\.com/{_NAME} && cd [\w.-]+"),
     lambda repo, branch: f"git clone {repo} && cd {repo.rsplit('/', 1)[1]}"),
]


def follow_repository(root: Path, repository: str, branch: str = "main") -> list[Path]:
    """Point the course's links in root/README.md and root/book/*.md at `repository`; return
    the files that changed."""
    changed = []
    for path in [Path(root) / "README.md", *sorted((Path(root) / "book").glob("*.md"))]:
        if not path.is_file():
            continue
        text = original = path.read_text(encoding="utf-8")
        for pattern, link in _LINKS:
            text = pattern.sub(lambda _, link=link: link(repository, branch), text)
        if text != original:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def package_version() -> str:
    """Version of the installed cnncourse distribution ("0+unknown" when it is not installed)."""
    return cnncourse.__version__


def releases_dir() -> Path:
    """The folder holding one subfolder per lab release (packaged copy first, then checkout)."""
    packaged = resources.files("cnncourse") / "releases"
    if packaged.is_dir():
        return Path(str(packaged))
    if CHECKOUT_RELEASES.is_dir():
        return CHECKOUT_RELEASES
    raise FileNotFoundError(
        f"no lab releases found: neither {packaged} (installed package) nor "
        f"{CHECKOUT_RELEASES} (course checkout) exists; reinstall cnncourse")


# Where the course lives online: the Colab links and the setup cell's install come from here.
# Resolved on first use, not at import (it reads _config.yml, runs git or reads the releases):
# every lab's setup cell and every graded kernel imports this module.
@functools.cache
def course_repository() -> str:
    return repository_url()


@functools.cache
def course_colab_base() -> str:
    return colab_base(course_repository(), repository_branch())


def __getattr__(name: str) -> str:
    """`labs.REPOSITORY` and `labs.COLAB_URL`, resolved when first read."""
    lazy = {"REPOSITORY": course_repository, "COLAB_URL": course_colab_base}
    if name in lazy:
        return lazy[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def available_labs() -> list[str]:
    """Names of the labs, in course order (lab1_convolution, lab2_conv_layer, ...)."""
    root = releases_dir()
    return sorted(p.name for p in root.iterdir() if (p / f"{p.name}.ipynb").is_file())


def get_lab(lab: str, directory: Path | None = None) -> Path:
    """Write the student release of `lab` into `directory` (default ./LAB); return the notebook.

    Refuses, with FileExistsError, to overwrite any file already there: it may be a student's work.
    """
    labs = available_labs()
    if lab not in labs:
        raise ValueError(f"unknown lab {lab!r}; the labs are: {', '.join(labs)}")
    source = releases_dir() / lab
    target = Path(lab) if directory is None else Path(directory)
    files = [p for p in sorted(source.rglob("*")) if p.is_file()]
    clashes = [target / p.relative_to(source) for p in files
               if (target / p.relative_to(source)).exists()]
    if clashes:
        raise FileExistsError(
            f"{clashes[0]} already exists and may hold your work; nothing was written. "
            f"Rename it, or get a fresh copy into another folder: cnncourse labs get {lab} DIR")
    for path in files:
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
    return target / f"{lab}.ipynb"


def check_version(lab: str, released_with: str) -> bool:
    """Warn when the installed package differs from the one `lab` was released with.

    Returns True when they agree. The lab's tests compare against this package, so a different
    version may grade a correct answer differently.
    """
    installed = package_version()
    if installed == released_with:
        return True
    warnings.warn(
        f"{lab} was released with cnncourse {released_with}, but cnncourse {installed} is "
        f"installed; its checks may differ. Install the matching version: "
        f"pip install 'cnncourse @ git+{course_repository()}@v{released_with}'",
        stacklevel=2,
    )
    return False


def colab_link(lab: str, root: Path | None = None) -> str:
    """Address that opens the student release of `lab` in Google Colab (of the course in
    `root`; default: this package's)."""
    if root is None:
        base = course_colab_base()
    else:
        base = colab_base(repository_url(root), repository_branch(root))
    return f"{base}/exercises/{lab}/{lab}.ipynb"


# ----------------------------------------------------------------------------- the setup cell
def setup_cell_source(lab: str, version: str, *, keras: bool = False,
                      repository: str | None = None) -> str:
    """Code of a lab's first code cell: install cnncourse when missing, then check its version.

    keras: the lab imports Keras, so the install takes the [keras] extra (a TensorFlow that is
    already there, as on Colab, is kept). repository: where it installs from (REPOSITORY).
    """
    extra = "[keras]" if keras else ""
    repository = repository or course_repository()
    return (
        f"# Setup: installs the course package (cnncourse {version}) where it is missing, as on\n"
        f"# Colab; where it is installed (your Jupyter, the grader) it only checks the version.\n"
        f"import importlib.util\n"
        f"import subprocess\n"
        f"import sys\n"
        f"\n"
        f'if importlib.util.find_spec("cnncourse") is None:\n'
        f"    subprocess.check_call([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\",\n"
        f"                           \"cnncourse{extra} @ git+{repository}@v{version}\"])\n"
        f"import cnncourse.labs\n"
        f"\n"
        f'cnncourse.labs.check_version("{lab}", "{version}");'  # ";": no bare True shown
    )


def stamp_setup_cell(notebook_path: Path, version: str | None = None,
                     repository: str | None = None) -> bool:
    """Make the setup cell a lab's first code cell and record the version in its metadata.

    Idempotent: returns True when the file changed. The lab's name is the notebook's stem;
    repository: where the cell installs from (default REPOSITORY).
    """
    version = version or package_version()
    notebook_path = Path(notebook_path)
    original = notebook_path.read_text(encoding="utf-8")
    notebook = json.loads(original)
    lab = notebook_path.stem
    cells = [c for c in notebook["cells"] if c.get("id") != SETUP_CELL_ID]
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    uses_keras = any(keras_import in code for keras_import in KERAS_IMPORTS)
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": SETUP_CELL_ID,
        # locked: nbgrader puts the released version back when it grades, whatever a student did
        "metadata": {"editable": False, "deletable": False, "nbgrader": {
            "grade": False, "grade_id": SETUP_CELL_ID, "locked": True, "schema_version": 3,
            "solution": False}},
        "outputs": [],
        "source": setup_cell_source(lab, version, keras=uses_keras,
                                    repository=repository).splitlines(keepends=True),
    }
    if (notebook.get("nbformat"), notebook.get("nbformat_minor", 0)) < (4, 5):
        # cell ids arrived with nbformat 4.5; a 4.4 notebook with one id would be invalid
        notebook["nbformat"], notebook["nbformat_minor"] = 4, 5
        for index, other in enumerate(cells):
            other.setdefault("id", f"cell-{index:02d}")
    first_code = next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), len(cells))
    notebook["cells"] = [*cells[:first_code], cell, *cells[first_code:]]
    notebook["metadata"]["cnncourse"] = {"lab": lab, "version": version}
    # nbformat's own layout, so that nbgrader rewriting the file changes nothing
    updated = json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if updated == original:
        return False
    notebook_path.write_text(updated, encoding="utf-8")
    return True


# ----------------------------------------------------------------------------- command line
def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """Register `cnncourse labs` (list) and `cnncourse labs get LAB [DIR]`."""
    labs = subparsers.add_parser("labs", help="list the labs, or get one to work on")
    actions = labs.add_subparsers(dest="labs_command")
    get = actions.add_parser("get", help="write a lab's student notebook into a folder")
    get.add_argument("lab", help="e.g. lab1_convolution (see `cnncourse labs`)")
    get.add_argument("dir", nargs="?", type=Path, default=None,
                     help="folder to write into (default: ./LAB); existing files are never "
                          "overwritten")  # fmt: skip
    labs.set_defaults(func=run_labs)


def run_labs(args: argparse.Namespace) -> int:
    if args.labs_command != "get":
        for lab in available_labs():
            print(f"{lab:28s} {colab_link(lab)}")
        print("\nGet one: cnncourse labs get LAB [DIR]")
        return 0
    try:
        notebook = get_lab(args.lab, args.dir)
    except (ValueError, FileExistsError) as error:
        print(f"cnncourse labs get: {error}")
        return 1
    print(f"Wrote {notebook}. Open it with: jupyter lab {notebook}")
    return 0
