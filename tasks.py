#!/usr/bin/env python3
"""Task runner of the course: the only entry point a new machine needs, besides Python 3.11.

    python3 tasks.py book          build the online book into _build/html (creates .venv first)
    python3 tasks.py test          lint, then the book build and the whole test suite (both
                                   Keras backends) side by side, in parallel; what CI runs
    python3 tasks.py check         lint and every test not marked slow or book, in parallel:
                                   the check before every commit (a few minutes)
    python3 tasks.py pytest ARGS   pytest with ARGS alone, in the course's environment
    python3 tasks.py lint          the linters (ruff)
    python3 tasks.py bench         run every benchmark under benchmarks/ and print its ratios

Every task is idempotent: the virtual environment is (re)installed only when pyproject.toml
changed, and the book build reuses its execution cache. Uses only the standard library, because
it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import venv
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".installed-from"
CACHE = ROOT / ".cache"
# Debian packages the tests use: a headless browser for the book, bubblewrap for the sandbox.
SYSTEM_PACKAGES = {"chromium": "/usr/bin/chromium", "bubblewrap": "/usr/bin/bwrap"}


def course_env(**extra: str) -> dict[str, str]:
    """Environment for every task: quiet TensorFlow, one BLAS thread, caches inside the repo.

    MPLBACKEND is left alone here: set to Agg it would stop notebooks (the book) from showing
    figures; the tests set it themselves.
    """
    env = dict(os.environ)
    env.update(
        OPENBLAS_NUM_THREADS="1",  # two BLAS threads on a loaded 2-core machine: 10x slower
        # 3, not 2: the CUDA-enabled `tensorflow` logs a cuInit ERROR on machines without a
        # GPU, on stderr, which would fail the book build and clutter every test log
        TF_CPP_MIN_LOG_LEVEL="3",
        MPLCONFIGDIR=str(CACHE / "matplotlib"),
        PYTHONHASHSEED="0",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(VENV),
    )
    env.setdefault("KERAS_BACKEND", "tensorflow")
    env.update(extra)
    return env


def run(*argv: str | Path, **extra_env: str) -> None:
    print("+", " ".join(str(a) for a in argv), flush=True)
    subprocess.run([str(a) for a in argv], cwd=ROOT, env=course_env(**extra_env), check=True)


def ensure_venv() -> None:
    """Create .venv and install the course with every extra, unless already up to date.

    The stamp covers pyproject.toml (what is installed) and constraints.txt (which versions).
    """
    wanted = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print(f"Creating the virtual environment in {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    pip = (BIN / "python", "-m", "pip")
    run(*pip, "install", "--quiet", "--upgrade", "pip")
    # Environments made before the tiers had tensorflow-cpu; tensorflow now replaces it, and the
    # two must not overlay each other's files.
    if subprocess.run([*map(str, pip), "show", "--quiet", "tensorflow-cpu"],
                      capture_output=True).returncode == 0:
        run(*pip, "uninstall", "--quiet", "--yes", "tensorflow-cpu", "tensorflow")
    run(*pip, "install", "--quiet", "-c", ROOT / "constraints.txt", "-e", ".[dev]")
    STAMP.write_text(wanted)


def ensure_system_packages() -> None:
    """Install chromium and bubblewrap with apt-get when they are missing and we are root."""
    missing = [pkg for pkg, path in SYSTEM_PACKAGES.items() if not Path(path).exists()]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(
            f"The tests need the Debian packages {', '.join(missing)}. Install them with\n"
            f"    sudo apt-get install -y {' '.join(missing)}\nand run this command again."
        )
    run("apt-get", "update", "-qq")
    # With recommends (fonts), as tested; no debconf prompts, CI has no terminal.
    run("apt-get", "install", "-y", "-qq", *missing, DEBIAN_FRONTEND="noninteractive")


def package_fingerprint() -> str:
    """Hash of every file of the cnncourse package (code, the explorers' JS and CSS, data): the
    chapters' results depend on it. Bytecode caches are left out."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "cnncourse").rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def invalidate_stale_execution_cache() -> None:
    """Jupyter Book keys its execution cache on the chapters' code cells only; when the package
    changed since the last build, the cached outputs are stale, so drop them, and Sphinx's
    doctrees too: Sphinx re-reads (and so re-executes) only chapters whose files changed."""
    stamp = ROOT / "_build" / ".cnncourse-fingerprint"
    fingerprint = package_fingerprint()
    if stamp.exists() and stamp.read_text() == fingerprint:
        return
    for stale in (".jupyter_cache", ".doctrees"):
        shutil.rmtree(ROOT / "_build" / stale, ignore_errors=True)
    stamp.parent.mkdir(exist_ok=True)
    stamp.write_text(fingerprint)


# Execution errors fail the build (-W); every warning is listed before it stops (--keep-going).
BOOK_BUILD = (BIN / "jupyter-book", "build", ".", "-W", "-n", "--keep-going")


def build_book() -> None:
    ensure_venv()
    invalidate_stale_execution_cache()
    run(*BOOK_BUILD)
    print(f"\nThe book is in {ROOT / '_build' / 'html' / 'index.html'}")


class Step(NamedTuple):
    """One command of a background job: what it is called in a failure, argv, extra env."""

    title: str
    argv: tuple[str | Path, ...]
    env: dict[str, str] = {}


# Background jobs run at a lower priority: the TensorFlow tests in the foreground are the longest
# part, and left to share the two cores equally with the book build and the JAX tests they ran
# their last 13 minutes alone (a run of 26 min). Niced, the background jobs take what the
# foreground leaves idle (waits for kernels, timeouts, clusters) and finish after it.
BACKGROUND_NICENESS = 10


class Job(threading.Thread):
    """Steps run one after the other in the background, at BACKGROUND_NICENESS, while each
    succeeds; their output goes to .cache/logs/NAME.log. `failed` names the step that failed, if
    one did."""

    def __init__(self, name: str, *steps: Step) -> None:
        super().__init__(name=name, daemon=True)
        self.steps = steps
        self.log = CACHE / "logs" / f"{name}.log"
        self.failed: str | None = None
        self.process: subprocess.Popen | None = None
        self.stopped = False

    def run(self) -> None:
        with self.log.open("w") as out:
            for step in self.steps:
                if self.stopped:
                    self.failed = f"{step.title} (stopped)"
                    return
                out.write(f"+ {' '.join(str(a) for a in step.argv)}\n")
                out.flush()
                self.process = subprocess.Popen(
                    ["nice", "-n", str(BACKGROUND_NICENESS), *map(str, step.argv)], cwd=ROOT,
                    stdout=out, stderr=subprocess.STDOUT, env=course_env(**step.env))
                if self.process.wait() != 0:
                    self.failed = step.title
                    return


def start(name: str, *steps: Step) -> Job:
    """Start a background job (see Job), saying where its output goes."""
    job = Job(name, *steps)
    job.log.parent.mkdir(parents=True, exist_ok=True)
    print(f"+ [{name}, in the background, output in {job.log}]",
          " && ".join(" ".join(str(a) for a in step.argv) for step in steps), flush=True)
    job.start()
    return job


def finish(job: Job) -> str | None:
    """Wait for a background job and print its output; the step that failed, or None."""
    job.join()
    print(f"\n----- {job.name}: {'failed: ' + job.failed if job.failed else 'passed'}, output "
          f"of {job.log} -----", flush=True)
    sys.stdout.write(job.log.read_text(errors="replace"))
    sys.stdout.flush()
    return job.failed


def stop(jobs: list[Job]) -> None:
    """Stop background jobs still running (the foreground command failed or was interrupted)."""
    for job in jobs:
        job.stopped = True
        if job.process is not None and job.process.poll() is None:
            job.process.terminate()
            try:
                job.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                job.process.kill()
        job.join()


# pytest as the tasks run it: no .pytest_cache in the tree, matplotlib without a display.
PYTEST = (BIN / "python", "-m", "pytest", "-p", "no:cacheprovider")
# In parallel (pytest-xdist), one worker per core, a test module's tests on one worker
# (loadscope): its module-scoped fixtures (a graded class, a trained model, a student's install,
# the pages read in Chromium) are built once, not once per worker; the minutes-long lab modules
# go out one parameter (lab) at a time, slow tests first (tests/conftest.py), in that order:
# xdist would hand out the units with the most tests first, so one-test units that take minutes
# (a lab's typical mistakes) came last and ran alone at the end. (xdist's finer `loadgroup`
# does not group under pytest 9: it renames a private attribute pytest no longer reads.)
PARALLEL = ("--numprocesses", "auto", "--dist", "loadscope", "--no-loadscope-reorder")
# What differs between the Keras backends: the tests marked `keras` run a second time under
# JAX, except those whose Keras part is the same on every backend (marked `backend_neutral`:
# parameter counts, diagrams drawn from a built model's layers).
JAX_TESTS = "keras and not backend_neutral and not book"
# The book's tests all live here (tests/conftest.py refuses a `book` test elsewhere): collecting
# only this folder spares the book's pytest processes importing TensorFlow and nbgrader.
BOOK_TESTS = "tests/book"


def lint() -> None:
    ensure_venv()
    run(BIN / "ruff", "check", ".")


def test() -> None:
    """Everything: lint, the book, the whole suite under TensorFlow, what differs under JAX.

    Parts of the suite wait (cell and submission timeouts, kernels and clusters starting) and
    the book build runs one chapter at a time, so three parts run side by side: the book build
    then the book's tests, and the JAX tests, in the background; the TensorFlow tests that do
    not read the book in the foreground. Every part runs to its end; the task fails when any
    part failed, naming them.
    """
    ensure_venv()
    ensure_system_packages()
    lint()
    invalidate_stale_execution_cache()
    agg = {"MPLBACKEND": "Agg"}
    jobs = [start("book", Step("book build", BOOK_BUILD),
                  Step("book tests", (*PYTEST, *PARALLEL, "-m", "book", BOOK_TESTS), agg)),
            start("jax", Step("JAX tests", (*PYTEST, *PARALLEL, "-m", JAX_TESTS),
                              {**agg, "KERAS_BACKEND": "jax"}))]
    failed = []
    try:
        if not attempt(*PYTEST, *PARALLEL, "-m", "not book", **agg):
            failed.append("TensorFlow tests")
        failed += [failure for job in jobs if (failure := finish(job))]
    finally:
        stop(jobs)
    if failed:
        sys.exit(f"tasks.py test: failed: {', '.join(failed)} (their output is above)")


def attempt(*argv: str | Path, **extra_env: str) -> bool:
    """run(), returning whether the command succeeded instead of raising."""
    try:
        run(*argv, **extra_env)
    except subprocess.CalledProcessError:
        return False
    return True


def check() -> None:
    """Before every commit: lint and every test that needs neither nbgrader runs nor the book."""
    ensure_venv()
    ensure_system_packages()
    lint()
    run(*PYTEST, *PARALLEL, "-m", "not slow and not book", MPLBACKEND="Agg")


def pytest(*args: str) -> None:
    """pytest with the caller's arguments and nothing else (no parallel workers, no markers)."""
    ensure_venv()
    run(*PYTEST, *args, MPLBACKEND="Agg")


def bench() -> None:
    ensure_venv()
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        run(BIN / "python", script)


TASKS = {"book": build_book, "test": test, "check": check, "pytest": pytest, "lint": lint,
         "bench": bench}
TAKES_ARGUMENTS = {"pytest"}  # every other task refuses arguments


def main(argv: list[str]) -> None:
    """Run the task named by argv[0] with the rest of argv, or exit saying what was wrong."""
    usage = f"usage: python3 tasks.py {{{'|'.join(TASKS)}}}  (pytest takes pytest's arguments)"
    if not argv or argv[0] not in TASKS:
        got = f"unknown task {argv[0]!r}; " if argv else ""
        sys.exit(f"{got}{usage}")
    name, args = argv[0], argv[1:]
    if args and name not in TAKES_ARGUMENTS:
        sys.exit(f"tasks.py {name} takes no arguments, got {' '.join(args)!r}; "
                 f"to pass arguments to pytest: python3 tasks.py pytest ARGS")
    try:
        TASKS[name](*args)
    except subprocess.CalledProcessError as error:
        sys.exit(error.returncode)


if __name__ == "__main__":
    main(sys.argv[1:])
