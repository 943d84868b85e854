"""A grading worker: grades one submission at a time in a private nbgrader course directory.

A pool (`pool`) starts `python -m cnncourse.grading.run.worker`, writes one job
per line (JSON) on its stdin and reads one result per line on its stdout. A worker lives for many
jobs (importing nbgrader costs ~2 s) and is killed and replaced when a job runs past its
wall-clock timeout. Everything the worker and the kernel print while grading a job goes to the
job's own log, JOB_DIR/worker.log, which the pool keeps for results that are not "ok".

For each job the worker builds, under the job's folder:

    course/nbgrader_config.py   not a file: the course's config, with the paths below
    course/gradebook.db         a copy of the lab's template gradebook (one lab, no students)
    course/source/LAB           the lab's source folder (symbolic link to the template's)
    course/submitted/S/LAB      the checked (and repaired) submission
    kernel/work                 the kernel's working copy: the submission's files, no notebook
    run/                        the kernel's connection file and Unix sockets
    jupyter/kernels/NAME        a kernel spec that starts the kernel in the sandbox

then runs nbgrader's autograde there, in this process, and reports the grades it recorded.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import resource
import shutil
import sys
import time
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import Execute
from nbgrader.utils import determine_grade
from traitlets import Bool, Integer, Unicode

from cnncourse.grading.run.jobs import PROGRESS, CellGrade, Job, Result
from cnncourse.grading.run.preflight import STDERR_NOTE
from cnncourse.grading.run.sandbox import (
    ResourceLimits,
    SandboxSpec,
    kernel_spec,
    prepare_dirs,
    python_path_for_kernel,
    readonly_paths_for_python,
)
from cnncourse.grading.run.validation import LabCells, check_submission

MAX_REASON = 160  # characters of one failing test's message in the summary
TRUNCATED = "... Output truncated ..."  # nbgrader's own marker (LimitOutput)
WORKER_MEMORY = 8 * 1024**3  # soft address-space limit of a worker: an output flood stops here
MAX_DISPLAYS = 20  # display outputs kept per cell (figures, HTML): a plot per batch floods
DISPLAYS = ("display_data", "update_display_data")
NOTES = "notes.txt"  # in the job's folder: what the preprocessors tell the summary, one per line


def grade(job: Job) -> Result:
    """Check, then autograde one submission in a private course; never raises."""
    try:
        return _grade(job)
    except Exception as error:  # a bug or a broken file must not stop the batch
        detail = traceback.format_exception_only(error)[-1].strip()
        return Result(job.student, "grader error", reasons=[detail])


def _grade(job: Job) -> Result:
    template = Path(job.template)
    source_nb = template / "source" / job.lab / f"{job.lab}.ipynb"
    source = nbformat.read(source_nb, as_version=4)
    release = nbformat.read(template / "release" / job.lab / f"{job.lab}.ipynb", as_version=4)
    cells = LabCells.from_source(job.lab, source, release)
    verdict = check_submission(Path(job.submission), cells)
    if verdict.notebook is None:
        return Result(job.student, verdict.status, reasons=verdict.reasons)
    course = Path(job.job_dir) / "course"
    _build_course(job, course, verdict.notebook)
    spec = _build_sandbox(job, course, source.metadata.get("kernelspec", {}).get("name"))
    sandbox = "bubblewrap" if job.use_bubblewrap else "limits only"
    note = f"sandbox: {sandbox}, kernel uid {job.uid}, cell timeout {job.cell_timeout} s"
    print(f"[cnncourse] autograding {job.student}/{job.lab} ({note})", file=sys.stderr, flush=True)
    outcome = _autograde(job, course, spec)
    result = _read_result(job, course, outcome)
    result.reasons = verdict.reasons + result.reasons
    return result


def _build_course(job: Job, course: Path, notebook: nbformat.NotebookNode) -> None:
    template = Path(job.template)
    (course / "source").mkdir(parents=True)
    (course / "source" / job.lab).symlink_to(template / "source" / job.lab)
    shutil.copy(template / "gradebook.db", course / "gradebook.db")
    submitted = course / "submitted" / job.student / job.lab
    submitted.mkdir(parents=True)
    copy_regular_files(Path(job.submission), submitted)
    for stale in submitted.glob("*.ipynb"):
        stale.unlink()
    nbformat.write(notebook, submitted / f"{job.lab}.ipynb")


def copy_regular_files(src: Path, dest: Path, skip_notebooks: bool = False) -> None:
    """Copy plain files (never symbolic links, which could point at the solutions)."""
    if not src.is_dir():
        return
    for root, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
        for name in files:
            path = Path(root) / name
            if path.is_symlink() or not path.is_file():
                continue
            if skip_notebooks and name.endswith(".ipynb"):
                continue
            target = dest / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def _build_sandbox(job: Job, course: Path, kernel_name: str | None) -> SandboxSpec:
    root = Path(job.job_dir)
    spec = SandboxSpec(
        workdir=str(root / "kernel" / "work"),
        visible_dir=str(course / "autograded" / job.student / job.lab),
        runtime_dir=str(root / "run"),
        limits=ResourceLimits(**job.limits),
        uid=job.uid,
        use_bubblewrap=job.use_bubblewrap,
        readonly_paths=readonly_paths_for_python(),
        python_path=python_path_for_kernel(),
    )
    prepare_dirs(spec)
    workdir = Path(spec.workdir)
    copy_regular_files(Path(job.submission), workdir, skip_notebooks=True)
    copy_regular_files(Path(job.template) / "source" / job.lab, workdir, skip_notebooks=True)
    if job.uid is not None:
        for path in [workdir, *workdir.rglob("*")]:
            os.chown(path, job.uid, job.uid)
    spec_file = root / "sandbox.json"
    spec.save(spec_file)
    kernel_dir = root / "jupyter" / "kernels" / (kernel_name or "python3")
    kernel_dir.mkdir(parents=True)
    (kernel_dir / "kernel.json").write_text(json.dumps(kernel_spec(spec_file)))
    return spec


def _worker_config(job: Job, course: Path, spec: SandboxSpec):
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )
    from traitlets.config import Config
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

    from cnncourse.grading.run.guard import InsertGuard, RemoveGuard

    config = Config()
    if job.config_file:  # the course's configuration as the driver read it (JSON), or a .py
        path = Path(job.config_file)
        loader = JSONFileConfigLoader if path.suffix == ".json" else PyFileConfigLoader
        config.merge(loader(path.name, path=str(path.parent)).load_config())
    overrides = Config()
    overrides.CourseDirectory.root = str(course)
    for name in ("source", "release", "submitted", "autograded", "feedback"):
        setattr(overrides.CourseDirectory, f"{name}_directory", name)
    overrides.CourseDirectory.db_url = f"sqlite:///{course / 'gradebook.db'}"
    overrides.Execute.timeout = job.cell_timeout
    overrides.KernelManager.transport = "ipc"
    overrides.KernelManager.ip = str(Path(spec.runtime_dir) / "kernel")
    overrides.KernelManager.connection_file = str(Path(spec.runtime_dir) / "kernel.json")
    overrides.InsertGuard.reap_strays = job.use_bubblewrap
    overrides.StderrIsNotFailure.notes_file = str(Path(job.job_dir) / NOTES)
    overrides.ProgressExecute.progress_file = str(Path(job.job_dir) / PROGRESS)
    overrides.Autograde.autograde_preprocessors = [
        InsertGuard,
        ProgressExecute,
        RemoveGuard,
        StderrIsNotFailure,
        TruncateOutput,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    config.merge(overrides)
    return config


def _autograde(job: Job, course: Path, spec: SandboxSpec) -> dict:
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    root = Path(job.job_dir)
    os.environ["JUPYTER_PATH"] = str(root / "jupyter")
    os.environ["JUPYTER_RUNTIME_DIR"] = spec.runtime_dir
    config = _worker_config(job, course, spec)
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    return api.autograde(job.lab, job.student, force=True, create=True)


def _read_result(job: Job, course: Path, outcome: dict) -> Result:
    from nbgrader.api import Gradebook, MissingEntry

    autograded = course / "autograded" / job.student / job.lab
    log = outcome.get("log", "") + outcome.get("error", "")
    print(log, file=sys.stderr)  # into the job's log
    if not outcome.get("success"):
        status, reasons = _failure(log)
        return Result(job.student, status, reasons=reasons)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            submission = gb.find_submission(job.lab, job.student)
        except MissingEntry:
            return Result(job.student, "grader error", reasons=["nbgrader recorded no grades"])
        grades = [
            # a written answer nbgrader left to a grader stays "needs manual grade"
            CellGrade(nb.name, g.name, float(g.score), float(g.max_score),
                      needs_manual_grade=bool(g.needs_manual_grade))
            for nb in submission.notebooks
            for g in nb.grades
        ]
        score, max_score = float(submission.score), float(submission.max_score)
    executed = nbformat.read(autograded / f"{job.lab}.ipynb", as_version=4)
    status, reasons = _execution_notes(executed)
    notes = Path(job.job_dir) / NOTES
    reasons += notes.read_text().splitlines() if notes.exists() else []
    return Result(job.student, status, score, max_score, reasons, grades, str(autograded))


def _failure(log: str) -> tuple[str, list[str]]:
    """Status and reason of an autograde that nbgrader gave up on, from its log."""
    if "DeadKernelError" in log or "Kernel died" in log or "kernel died" in log:
        return "crashed", ["the kernel died (exit, crash or memory limit); no tests could run"]
    if "UnresponsiveKernelError" in log or "timed out" in log.lower():
        return "timeout", ["the kernel stopped responding (a cell ignored the interrupt sent at "
                           "the cell time limit, or the notebook broke the kernel)"]
    lines = [line for line in log.splitlines() if line.startswith("[ERROR]")]
    detail = lines[0][len("[ERROR] ") :] if lines else "see the worker log"
    return "grader error", [f"nbgrader failed: {detail[:MAX_REASON]}"]


def _execution_notes(executed: nbformat.NotebookNode) -> tuple[str, list[str]]:
    """'timeout' if a cell ran out of time, plus the first error line of each failing test."""
    status, reasons = "ok", []
    for index, cell in enumerate(executed.cells):
        name = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1} (ungraded)"
        texts = [o.get("text", "") for o in cell.get("outputs", [])]
        if any(TRUNCATED in t for t in texts):
            reasons.append(f"{name}: printed too much, output truncated")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not errors:
            continue
        ename, evalue = errors[0].get("ename", ""), str(errors[0].get("evalue", ""))
        if ename in ("CellTimeoutError", "KeyboardInterrupt"):  # nbclient interrupts on timeout
            status = "timeout"
            reasons.append(f"{name}: ran past the cell time limit (infinite loop?)")
        else:  # a failing test, or an error in a student's cell worth telling the instructor
            first = evalue.strip().splitlines()[0] if evalue.strip() else ""
            reasons.append(f"{name}: {ename}: {first}"[:MAX_REASON].rstrip(": "))
    return status, reasons


def truncate_outputs(cell: nbformat.NotebookNode, max_chars: int) -> None:
    """Cut a code cell's text outputs after max_chars characters in all, and its displays (a
    plot per batch) after the first MAX_DISPLAYS."""
    limit_displays(cell)
    left = max_chars
    for output in cell.get("outputs", []):
        if output.get("output_type") != "stream":
            continue
        if left <= 0:
            output.text = ""
        elif len(output.text) > left:
            output.text = output.text[:left] + f"\n{TRUNCATED}"
        left -= len(output.text)
    cell.outputs = [o for o in cell.get("outputs", []) if o.get("text", True) != ""]


def is_test_cell(cell: nbformat.NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def keep_stderr(cell: nbformat.NotebookNode) -> list[str]:
    """What a test cell's stderr means in this course: a failed check raises; a warning is not a
    failure. nbgrader gives 0 to a test cell with any stderr output (`determine_grade`), so a
    numpy RuntimeWarning, a TensorFlow log line or a DeprecationWarning that correct code happens
    to trigger would cost the student the cell with no error to show. The stderr of a test cell
    that did not raise becomes stdout (the student still sees it); its non-blank lines are
    returned. A cell that raised keeps everything."""
    outputs = cell.get("outputs", [])
    if not is_test_cell(cell) or any(o.get("output_type") == "error" for o in outputs):
        return []
    stderr = [o for o in outputs if o.get("output_type") == "stream" and o.name == "stderr"]
    for output in stderr:
        output.name = "stdout"
    return [line.strip() for o in stderr for line in o.text.splitlines() if line.strip()]


class StderrIsNotFailure(Preprocessor):
    """`keep_stderr` on every test cell, noting each such cell and its first line for the
    summary and preflight."""

    enabled = Bool(True)
    notes_file = Unicode("", help="file to append a line per cell whose stderr was kept").tag(
        config=True
    )

    def preprocess_cell(self, cell, resources, index):
        lines = keep_stderr(cell)
        if lines and self.notes_file:
            grade_id = cell.metadata["nbgrader"].get("grade_id")
            with open(self.notes_file, "a") as notes:
                notes.write(f"{grade_id}: {STDERR_NOTE}, not counted as a failure: "
                            f"{lines[0][:MAX_REASON]!r}\n")  # fmt: skip
        return cell, resources


class ProgressExecute(Execute):
    """nbgrader's Execute, writing what it has done as it goes (jobs.PROGRESS): when the pool
    stops a submission at its whole-submission time limit, the test cells that finished keep
    their credit, as at a cell timeout, and the summary names the cell that was running."""

    progress_file = Unicode("", help="file to append a JSON line per cell").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        self._write({"running": grade_id or f"cell {index} (ungraded)"})
        cell, resources = super().preprocess_cell(cell, resources, index)
        if is_test_cell(cell):
            graded = copy.deepcopy(cell)
            keep_stderr(graded)
            score, max_score = determine_grade(graded)
            self._write({"graded": grade_id, "score": score, "max_score": max_score})
        return cell, resources

    def _write(self, entry: dict) -> None:
        if self.progress_file:
            with open(self.progress_file, "a") as progress:
                progress.write(json.dumps(entry) + "\n")


def limit_displays(cell: nbformat.NotebookNode) -> None:
    """Keep the first MAX_DISPLAYS display outputs of a cell, then one line saying how many
    more there were (with nbgrader's truncation marker)."""
    displays = [o for o in cell.get("outputs", []) if o.get("output_type") in DISPLAYS]
    if len(displays) <= MAX_DISPLAYS:
        return
    dropped = {id(o) for o in displays[MAX_DISPLAYS:]}
    cell.outputs = [o for o in cell.outputs if id(o) not in dropped]
    note = f"{len(dropped)} more displays not kept\n{TRUNCATED}"
    cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=note))


class TruncateOutput(Preprocessor):
    """Keep at most max_chars characters of printed output per cell (nbgrader's LimitOutput
    counts lines, and a few very long lines would still make a notebook of many MB)."""

    enabled = Bool(True)  # nbconvert's preprocessors are off unless enabled
    max_chars = Integer(100_000).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            truncate_outputs(cell, self.max_chars)
        return cell, resources


def serve(jobs_in, results_out) -> None:
    """Read jobs (one JSON per line) and answer each with one JSON result line."""
    for line in jobs_in:
        job = Job(**json.loads(line))
        started = time.perf_counter()
        with stderr_to(Path(job.job_dir) / "worker.log"):
            result = grade(job)
        result.seconds = time.perf_counter() - started
        results_out.write(json.dumps(asdict(result)) + "\n")
        results_out.flush()


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send this process's stderr (and so the kernel's, which inherits it) to `path` for one
    job; the worker's own log gets it back afterwards."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def main() -> None:
    warnings.simplefilter("ignore")  # SQLAlchemy's warnings about nbgrader's sessions
    _hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, _hard))  # soft: kernels may go higher
    import nbgrader.apps.api  # noqa: F401  (the slow import, done before the first job arrives)
    # The protocol owns the original stdout; anything else printed goes to stderr (the log).
    results_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.stdin, results_out)


if __name__ == "__main__":
    main()
