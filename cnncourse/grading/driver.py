"""Grade a class with nbgrader: many submissions in parallel, each in its own sandbox.

    results = grade_lab(Course.load("."), "lab1_convolution", options=GradingOptions(jobs=2))

The driver process is the only writer of the course's gradebook. Each submission is graded by a
worker (`cnncourse.grading.worker`) in a private temporary nbgrader course that holds a copy of
the lab's template gradebook (built once per batch with `nbgrader generate_assignment`) and that
one submission; the student's kernel runs in the sandbox of `cnncourse.grading.sandbox`. The
driver then records each result in the course gradebook, one after the other, and copies the
autograded notebook to `autograded/STUDENT/LAB/`, where `nbgrader generate_feedback` finds it.

A submission that cannot be graded (unreadable, wrong lab, kernel crash, past its timeout) gets
0 points and a reason; nothing a submission does stops the batch.
"""

from __future__ import annotations

import csv
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from cnncourse.grading.sandbox import ResourceLimits, bubblewrap_available, kill_processes_of
from cnncourse.grading.worker import Job, Result

UID_BASE = 200_000  # kernels run as UID_BASE + a per-driver offset + the worker's slot


@dataclass(frozen=True)
class Course:
    """An nbgrader course directory, read from its nbgrader_config.py like nbgrader does."""

    root: Path
    config_file: Path | None
    source: Path
    release: Path
    submitted: Path
    autograded: Path
    feedback: Path
    db_url: str
    course_id: str
    labs: tuple[str, ...]

    @classmethod
    def load(cls, root: str | Path = ".") -> Course:
        from nbgrader.coursedir import CourseDirectory

        put_python_scripts_on_path()
        root = Path(root).resolve()
        if not root.is_dir():
            raise ValueError(f"course directory {root} does not exist")
        config_file = root / "nbgrader_config.py"
        config = load_config(config_file) if config_file.exists() else None
        coursedir = CourseDirectory(config=config) if config else CourseDirectory()
        coursedir.root = str(root)
        folder = lambda name: root / getattr(coursedir, f"{name}_directory")  # noqa: E731
        labs = tuple(sorted(p.name for p in folder("source").iterdir() if p.is_dir()))
        return cls(
            root,
            config_file if config else None,
            folder("source"),
            folder("release"),
            folder("submitted"),
            folder("autograded"),
            folder("feedback"),
            absolute_db_url(coursedir.db_url, root),
            coursedir.course_id,
            labs,
        )

    def check_lab(self, lab: str) -> None:
        if not (self.source / lab / f"{lab}.ipynb").exists():
            raise ValueError(
                f"lab {lab!r} has no source notebook {self.source / lab / (lab + '.ipynb')}"
            )


def put_python_scripts_on_path() -> None:
    """nbgrader calls the `alembic` script by name when it creates a gradebook; a virtual
    environment that was not activated does not have it on PATH."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def load_config(path: Path):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


def absolute_db_url(db_url: str, root: Path) -> str:
    """sqlite:///gradebook.db is relative to the current directory; anchor it at the course."""
    prefix = "sqlite:///"
    if db_url.startswith(prefix) and not db_url[len(prefix) :].startswith("/"):
        return prefix + str(root / db_url[len(prefix) :])
    return db_url


DEFAULT_JOBS = (os.cpu_count() or 1) + 1


@dataclass(frozen=True)
class GradingOptions:
    """How a batch is graded."""

    # Parallel workers: one more than the cores, because a worker spends part of each submission
    # waiting for its kernel to start. Measured on 2 cores, 30 lab-1 submissions against plain
    # nbgrader: 2 workers 1.66-1.82x, 3 workers 1.98x (benchmarks/bench_grading.py).
    jobs: int = DEFAULT_JOBS
    # Wall-clock seconds for one submission (kernel start, every cell, recording);
    # None: twice the cell timeout plus a minute, so one slow cell never costs the submission.
    timeout: float | None = None
    # Seconds for one cell before nbgrader interrupts it; the other cells still get graded.
    # None: the course's Execute.timeout (lab 4 trains for about a minute in one cell).
    cell_timeout: int | None = None
    # None: bubblewrap when installed; False: never (resource limits only).
    sandbox: bool | None = None
    # Overrides of ResourceLimits fields (e.g. {"address_space_bytes": 8 * 2**30}).
    limits: dict = field(default_factory=dict)
    progress: bool = True

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {self.jobs}")
        if (self.timeout is not None and self.timeout <= 0) or (
            self.cell_timeout is not None and self.cell_timeout <= 0
        ):
            raise ValueError(
                f"timeouts must be > 0, got timeout={self.timeout}, "
                f"cell_timeout={self.cell_timeout}"
            )
        unknown = set(self.limits) - {f.name for f in fields(ResourceLimits)}
        if unknown:
            raise ValueError(
                f"limits has unknown fields {sorted(unknown)}; "
                f"ResourceLimits has {[f.name for f in fields(ResourceLimits)]}"
            )


def resolved_timeouts(course: Course, options: GradingOptions) -> tuple[float, int]:
    """(seconds per submission, seconds per cell), filling in the defaults described above."""
    cell = options.cell_timeout
    if cell is None:
        config = load_config(course.config_file) if course.config_file else {}
        cell = int(config.get("Execute", {}).get("timeout", 30) or 30)  # nbgrader's default
    return (options.timeout or 2 * cell + 60), cell


def sandbox_mode(options: GradingOptions) -> str:
    """'bubblewrap' or 'off', with the reason printed for the instructor when off."""
    if options.sandbox is False:
        return "off"
    if bubblewrap_available():
        return "bubblewrap"
    if options.sandbox:
        raise ValueError("sandbox=True but bubblewrap is not installed (/usr/bin/bwrap)")
    return "off"


def find_students(folder: Path, lab: str) -> list[str]:
    """Students with a folder for this lab, in nbgrader's submitted/STUDENT/LAB/ layout."""
    if not folder.is_dir():
        raise ValueError(f"submissions folder {folder} does not exist")
    return sorted(
        p.name for p in folder.iterdir() if not p.name.startswith(".") and (p / lab).is_dir()
    )


def grade_lab(
    course: Course,
    lab: str,
    *,
    submissions: Path | None = None,
    students: list[str] | None = None,
    options: GradingOptions | None = None,
) -> list[Result]:
    """Grade every submission of `lab` (or only `students`) and record the grades.

    Returns one Result per student, sorted by student id.
    """
    options = options or GradingOptions()
    course.check_lab(lab)
    folder = Path(submissions) if submissions else course.submitted
    students = students or find_students(folder, lab)
    mode = sandbox_mode(options)
    timeout, cell_timeout = resolved_timeouts(course, options)
    if mode == "off":
        warn_sandbox_off()
    with tempfile.TemporaryDirectory(prefix="cnncourse-grading-") as scratch:
        scratch = Path(scratch)
        # workers start (importing nbgrader takes ~2 s) while the gradebooks are prepared
        pool = WorkerPool(options.jobs, scratch, private_uids=mode == "bubblewrap")
        try:
            ensure_assignment(course, lab)
            template = build_template(course, lab, scratch / "template")
            limits = submission_limits(template, lab, timeout, options)
        except BaseException:
            pool.close()
            raise
        jobs = make_jobs(course, lab, folder, students, template, scratch / "jobs",
                         limits=limits, cell_timeout=cell_timeout,
                         use_bubblewrap=mode == "bubblewrap")  # fmt: skip
        results = run_jobs(jobs, timeout, options.progress, course, pool)
    write_summary(course, lab, results)
    return results


def warn_sandbox_off() -> None:
    print(
        "WARNING: the sandbox is OFF (bubblewrap not installed or disabled): student code "
        "runs with your rights and can read and write your files. Resource limits still "
        "apply. Install it with: apt-get install bubblewrap",
        file=sys.stderr,
    )


def submission_limits(
    template: Path, lab: str, timeout: float, options: GradingOptions
) -> ResourceLimits:
    """The kernel's limits: sized for the lab's imports, with the instructor's overrides."""
    source_text = (template / "source" / lab / f"{lab}.ipynb").read_text()
    # CPU seconds: a safety net behind the wall-clock timeouts, never in front of them
    cpu = {"cpu_seconds": int(timeout) + 60}
    return ResourceLimits.for_source(source_text, **{**cpu, **options.limits})


def make_jobs(
    course: Course,
    lab: str,
    folder: Path,
    students: list[str],
    template: Path,
    jobs_dir: Path,
    *,
    limits: ResourceLimits,
    cell_timeout: int,
    use_bubblewrap: bool,
) -> list[Job]:
    """One Job per student, each with its own scratch folder under `jobs_dir`."""
    return [
        Job(
            lab=lab,
            student=student,
            submission=str((folder / student / lab).resolve()),
            template=str(template),
            job_dir=str(jobs_dir / f"{index:04d}"),
            config_file=str(course.config_file) if course.config_file else None,
            cell_timeout=cell_timeout,
            limits=asdict(limits),
            use_bubblewrap=use_bubblewrap,
        )
        for index, student in enumerate(students)
    ]


def run_jobs(
    jobs: list[Job], timeout: float, show_progress: bool, course: Course, pool: WorkerPool
) -> list[Result]:
    """Grade the jobs on the pool's workers; record each result as it arrives (one writer).

    Closes the pool."""
    results = []
    try:
        with ThreadPoolExecutor(len(pool.all)) as executor:
            futures = [executor.submit(pool.run, job, timeout) for job in jobs]
            for future in progress(as_completed(futures), len(futures), show_progress):
                result, job = future.result()
                record_or_note(course, job.lab, result)
                shutil.rmtree(job.job_dir, ignore_errors=True)
                results.append(result)
    finally:
        pool.close()
    return sorted(results, key=lambda r: r.student)


def progress(iterable, total: int, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc="grading", unit="submission")


class WorkerProcess:
    """One long-lived `python -m cnncourse.grading.worker`, replaced when a job times out."""

    def __init__(self, slot: int, log_dir: Path, uid: int | None) -> None:
        self.slot, self.uid = slot, uid
        self.log_path = log_dir / f"worker-{slot}.log"
        self.proc: subprocess.Popen | None = None
        self.buffer = b""

    def start(self) -> None:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cnncourse.grading.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                start_new_session=True,  # its own process group, killed as one
            )
        self.buffer = b""

    def run(self, job: Job, timeout: float) -> Result:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        job.uid = self.uid
        try:
            self.proc.stdin.write((json.dumps(asdict(job)) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:  # the worker died between two jobs (BrokenPipeError)
            self.kill()
            return Result(job.student, "crashed",
                          reasons=["the grading worker died before it got the submission"])
        line = self._read_line(timeout)
        if line is None:
            self.kill()
            return Result(job.student, "timeout", reasons=[f"stopped after {timeout:g} s"])
        if not line:
            self.kill()
            return Result(job.student, "crashed", reasons=["the grading worker died"])
        try:
            return Result.from_dict(json.loads(line))
        except (ValueError, TypeError) as error:  # not the protocol: replace the worker
            self.kill()
            return Result(job.student, "grader error",
                          reasons=[f"unreadable answer from the worker ({error}): {line[:80]!r}"])

    def _read_line(self, timeout: float) -> bytes | None:
        """The next line of the worker's stdout; None after `timeout` s; b'' if it exited."""
        import time

        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    return None
                chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    return b""
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def kill(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None
        if self.uid is not None:
            kill_processes_of(self.uid)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class WorkerPool:
    """Workers handed out to the driver's threads; each kernel user id belongs to one worker."""

    def __init__(self, size: int, log_dir: Path, private_uids: bool) -> None:
        base = UID_BASE + (os.getpid() % 10_000) * 16
        private_uids = private_uids and os.geteuid() == 0  # only root can hand out user ids
        self.idle = [
            WorkerProcess(slot, log_dir, base + slot % 16 if private_uids else None)
            for slot in range(size)
        ]
        for worker in self.idle:
            worker.start()
        self.lock = threading.Lock()
        self.all = list(self.idle)

    def run(self, job: Job, timeout: float) -> tuple[Result, Job]:
        with self.lock:
            worker = self.idle.pop()
        try:
            return worker.run(job, timeout), job
        finally:
            with self.lock:
                self.idle.append(worker)

    def close(self) -> None:
        for worker in self.all:
            worker.close()


def _nbgrader_api(course: Course, **directories: str):
    """An in-process nbgrader API on the course's config, with some folders replaced."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    config = load_config(course.config_file) if course.config_file else Config()
    overrides = Config()
    overrides.CourseDirectory.root = str(course.root)
    overrides.CourseDirectory.db_url = course.db_url
    for name, value in directories.items():
        setattr(overrides.CourseDirectory, name, value)
    config.merge(overrides)
    return NbGraderAPI(CourseDirectory(config=config), config=config)


def build_template(course: Course, lab: str, where: Path) -> Path:
    """A private course with the lab's source and a gradebook holding only that lab."""
    shutil.copytree(
        course.source / lab,
        where / "source" / lab,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    template = Course(
        where, course.config_file, where / "source", where / "release", where / "submitted",
        where / "autograded", where / "feedback", f"sqlite:///{where / 'gradebook.db'}",
        course.course_id, (lab,),
    )  # fmt: skip
    api = _nbgrader_api(template, source_directory="source", release_directory="release")
    outcome = api.generate_assignment(lab, force=True, create=True)
    if not outcome["success"]:
        raise ValueError(f"nbgrader generate_assignment {lab} failed:\n{outcome.get('log', '')}")
    return where


def ensure_assignment(course: Course, lab: str) -> None:
    """Put the lab's graded cells in the course gradebook if they are not there yet.

    Runs generate_assignment with the release written to a temporary folder, so the
    committed exercises/ is left alone (`release_labs` is what refreshes it).
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            if gb.find_assignment(lab).notebooks:
                return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory() as release:
        outcome = _nbgrader_api(course, release_directory=release).generate_assignment(lab)
    if not outcome["success"]:
        raise ValueError(f"nbgrader generate_assignment {lab} failed:\n{outcome.get('log', '')}")


def record(course: Course, lab: str, result: Result) -> None:
    """Write one result into the course gradebook and autograded/ (driver process only)."""
    from nbgrader.api import Gradebook

    scores = {(g.notebook, g.grade_id): g.score for g in result.grades}
    with Gradebook(course.db_url, course.course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy warns about nbgrader's own session use
        gb.update_or_create_student(result.student)
        submission = gb.update_or_create_submission(lab, result.student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = scores.get((notebook.name, grade.name), 0.0)
                grade.needs_manual_grade = False
        gb.db.commit()
        # what the gradebook now holds is what the summary shows (failures get the lab's max)
        result.score, result.max_score = float(submission.score), float(submission.max_score)
    destination = course.autograded / result.student / lab
    shutil.rmtree(destination, ignore_errors=True)
    if result.autograded:
        shutil.copytree(result.autograded, destination, symlinks=True)


def record_or_note(course: Course, lab: str, result: Result) -> None:
    """`record`, turning a failure into the result's status so that the batch goes on."""
    try:
        record(course, lab, result)
    except Exception as error:  # e.g. an autograded folder that cannot be copied
        detail = traceback.format_exception_only(error)[-1].strip()
        result.status = "grader error"
        result.reasons.append(f"could not record the result: {detail}")


def summary_rows(results: list[Result]) -> list[tuple[str, str, str, str]]:
    """(student, score/max, status, reason) for each result."""
    return [
        (r.student, f"{r.score:g}/{r.max_score:g}", r.status, "; ".join(r.reasons) or "-")
        for r in results
    ]


def format_summary(results: list[Result], width: int = 110) -> str:
    """The summary table printed after a batch."""
    header = ("student", "score", "status", "reason")
    rows = summary_rows(results)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = []
    for row in [header, *rows]:
        left = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
        reason = row[3]
        room = max(width - len(left) - 2, 20)
        lines.append(f"{left}  {reason if len(reason) <= room else reason[: room - 3] + '...'}")
    return "\n".join(lines)


def write_summary(course: Course, lab: str, results: list[Result]) -> Path:
    """autograded/LAB_summary.csv: the summary with full reasons."""
    course.autograded.mkdir(parents=True, exist_ok=True)
    path = course.autograded / f"{lab}_summary.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "score", "max_score", "status", "reason"])
        for r in results:
            writer.writerow([r.student, r.score, r.max_score, r.status, "; ".join(r.reasons)])
    return path


def nbgrader_command(course: Course, *args: str) -> None:
    """Run a plain nbgrader command in the course directory; raise if it fails."""
    argv = [sys.executable, "-m", "nbgrader", *args]
    done = subprocess.run(argv, cwd=course.root, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[2:])} failed:\n{done.stdout}{done.stderr}")


def release_labs(course: Course, labs: list[str] | None = None) -> list[str]:
    """`nbgrader generate_assignment LAB --force` for each lab with a source notebook."""
    labs = labs or [lab for lab in course.labs if (course.source / lab).is_dir()]
    for lab in labs:
        course.check_lab(lab)
        nbgrader_command(course, "generate_assignment", lab, "--force")
    return labs


def generate_feedback(course: Course, lab: str) -> Path:
    """`nbgrader generate_feedback LAB`: HTML feedback for every autograded submission."""
    course.check_lab(lab)
    nbgrader_command(course, "generate_feedback", lab, "--force")
    return course.feedback


def export_grades(course: Course, to: Path) -> Path:
    """`nbgrader export`: one CSV row per student and lab."""
    to = Path(to).resolve()
    nbgrader_command(course, "export", "--to", str(to))
    return to
