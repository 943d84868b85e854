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
import json
import shutil
import warnings
from importlib import resources
from pathlib import Path

import cnncourse

PACKAGE_ROOT = Path(__file__).resolve().parent
CHECKOUT_RELEASES = PACKAGE_ROOT.parent / "exercises"
# Where the course lives online: the Colab links and the setup cell's install come from here.
REPOSITORY = "https://github.com/cnncourse/cnn-course"
COLAB_URL = "https://colab.research.google.com/github/cnncourse/cnn-course/blob/main"
SETUP_CELL_ID = "cnncourse-setup"


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
        f"pip install 'cnncourse @ git+{REPOSITORY}@v{released_with}'",
        stacklevel=2,
    )
    return False


def colab_link(lab: str) -> str:
    """Address that opens the student release of `lab` in Google Colab."""
    return f"{COLAB_URL}/exercises/{lab}/{lab}.ipynb"


# ----------------------------------------------------------------------------- the setup cell
def setup_cell_source(lab: str, version: str, *, keras: bool = False) -> str:
    """Code of a lab's first code cell: install cnncourse when missing, then check its version.

    keras: the lab imports Keras, so the install takes the [keras] extra (a TensorFlow that is
    already there, as on Colab, is kept).
    """
    extra = "[keras]" if keras else ""
    return (
        f"# Setup: installs the course package (cnncourse {version}) where it is missing, as on\n"
        f"# Colab; where it is installed (your Jupyter, the grader) it only checks the version.\n"
        f"import importlib.util\n"
        f"import subprocess\n"
        f"import sys\n"
        f"\n"
        f'if importlib.util.find_spec("cnncourse") is None:\n'
        f"    subprocess.check_call([sys.executable, \"-m\", \"pip\", \"install\", \"--quiet\",\n"
        f"                           \"cnncourse{extra} @ git+{REPOSITORY}@v{version}\"])\n"
        f"import cnncourse.labs\n"
        f"\n"
        f'cnncourse.labs.check_version("{lab}", "{version}")'
    )


def stamp_setup_cell(notebook_path: Path, version: str | None = None) -> bool:
    """Make the setup cell a lab's first code cell and record the version in its metadata.

    Idempotent: returns True when the file changed. The lab's name is the notebook's stem.
    """
    version = version or package_version()
    notebook_path = Path(notebook_path)
    original = notebook_path.read_text(encoding="utf-8")
    notebook = json.loads(original)
    lab = notebook_path.stem
    cells = [c for c in notebook["cells"] if c.get("id") != SETUP_CELL_ID]
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    uses_keras = "import keras" in code or "from keras" in code
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": SETUP_CELL_ID,
        # locked: nbgrader puts the released version back when it grades, whatever a student did
        "metadata": {"editable": False, "deletable": False, "nbgrader": {
            "grade": False, "grade_id": SETUP_CELL_ID, "locked": True, "schema_version": 3,
            "solution": False}},
        "outputs": [],
        "source": setup_cell_source(lab, version, keras=uses_keras).splitlines(keepends=True),
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
