"""Grade a class with nbgrader: many submissions in parallel, each in its own sandbox.

    results = grade_lab(Course.load("."), "lab1_convolution", options=GradingOptions(jobs=2))

The steps of `grade_lab`, each in the module that owns it:

1. refuse a second run on the same gradebook (`gradebook.gradebook_lock`);
2. open a pool of workers (`pool.LocalPool` on this machine, or `dask_pool.DaskPool` on the
   workers of a Dask cluster) and decide the sandbox: bubblewrap where it really starts, else
   resource limits only, with a plain warning, or a refusal if the instructor asked for it;
3. build the lab's template course once (its source, release and a gradebook with only this lab,
   built with `nbgrader generate_assignment`); every job carries it with the submission;
4. preflight (`preflight`): grade the lab's own solution through the same pool; stop unless it
   gets full marks;
5. grade every submission (`worker`: a private nbgrader course per job, the kernel sandboxed by
   `sandbox`), and record each result as it arrives (`gradebook`): this process is the only
   writer of the course's gradebook; Ctrl-C stops the workers at once, keeps what was recorded
   and writes the summary of it.

A submission the student broke (unreadable, wrong lab, kernel crash, past its timeout) gets 0
points and a reason; nothing a submission does stops the batch. A failure of the grader (grader
error, cancelled, could not record) changes nothing in the gradebook and is "not graded".
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from cnncourse.grading.run.course import Course, find_students
from cnncourse.grading.run.dask_pool import ClusterSecurity
from cnncourse.grading.run.deadlines import read_timestamp_text
from cnncourse.grading.run.gradebook import (
    format_summary,
    gradebook_lock,
    interrupt_deferred,
    keep_log,
    log_file,
    record_or_note,
    sync_gradebook,
    write_summary,
)
from cnncourse.grading.run.jobs import Job, Result
from cnncourse.grading.run.nbgrader_commands import (
    build_template,
    ensure_assignment,
    python_scripts_on_path,
)
from cnncourse.grading.run.pool import LocalPool, Pool
from cnncourse.grading.run.preflight import STUDENT as PREFLIGHT_STUDENT
from cnncourse.grading.run.preflight import (
    check_preflight,
    stderr_notes,
    write_solution_submission,
)
from cnncourse.grading.run.sandbox import ResourceLimits, bubblewrap_probe, kernel_parallelism

__all__ = ["Course", "GradingOptions", "grade_lab", "format_summary", "GradingInterrupted"]

DEFAULT_JOBS = (os.cpu_count() or 1) + 1


@dataclass(frozen=True)
class GradingOptions:
    """How a batch is graded."""

    # Parallel workers: one more than the cores, because a worker spends part of each submission
    # waiting for its kernel to start. Measured on 2 cores, lab-1 submissions against plain
    # nbgrader: 2 workers 1.66-1.82x, 3 workers 1.98x; a later run of 15 (sandboxed, with
    # per-job logs, preflight left out), 3 workers 1.51x (benchmarks/bench_grading.py).
    # With `scheduler="local"`, the number of Dask workers started; ignored for a remote cluster.
    jobs: int = DEFAULT_JOBS
    # Wall-clock seconds for one submission (kernel start, every cell, recording);
    # None: twice the cell timeout plus a minute, so one slow cell never costs the submission.
    timeout: float | None = None
    # Seconds for one cell before nbgrader interrupts it; the other cells still get graded.
    # None: the lab's own timeout in nbgrader_config.py (c.CnnCourse.cell_timeouts), which plain
    # nbgrader uses too, else the course's Execute.timeout.
    cell_timeout: int | None = None
    # None: bubblewrap where it starts, else limits only with a warning;
    # True: bubblewrap or refuse to grade; False: never (resource limits only).
    sandbox: bool | None = None
    # Overrides of ResourceLimits fields (e.g. {"address_space_bytes": 8 * 2**30}).
    limits: dict = field(default_factory=dict)
    progress: bool = True
    # None: grade on this machine; "tcp://host:8786": on that Dask cluster's workers;
    # "local": on a Dask LocalCluster of `jobs` workers started for this run.
    scheduler: str | None = None
    # Grade the class without first grading the lab's own solution (not recommended).
    skip_preflight: bool = False
    # A lab whose source has other graded cells or points than the gradebook: migrate the
    # gradebook to the source (True) or stop and say how to sync (False, `LabChanged`).
    update_gradebook: bool = False
    # TLS certificates for the Dask scheduler, or insecure=True for plain tcp to another machine.
    cluster_security: ClusterSecurity = field(default_factory=ClusterSecurity)

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
        if self.scheduler is not None and not (
            self.scheduler == "local" or "://" in self.scheduler
        ):
            raise ValueError(
                f"scheduler must be 'local' or an address like tcp://host:8786, "
                f"got {self.scheduler!r}"
            )


class NoSubmission(ValueError):
    """A student asked for by id has no submission of the lab (a typo in --student)."""


def check_students(folder: Path, lab: str, students: list[str] | None) -> None:
    """Refuse ids without a submission folder: grading one would record a new student with 0."""
    missing = [s for s in students or [] if not (folder / s / lab).is_dir()]
    if missing:
        raise NoSubmission(
            f"no submission of {lab} for {', '.join(missing)} in {folder} (expected "
            f"{folder}/STUDENT/{lab}/); check the id given to --student. Nothing was graded."
        )


class GradingInterrupted(KeyboardInterrupt):
    """Ctrl-C during a batch: `results` were graded and recorded, the others were not."""

    def __init__(self, results: list[Result], total: int) -> None:
        super().__init__(f"interrupted: {len(results)} of {total} submissions graded")
        self.results, self.total = results, total


def resolved_timeouts(
    course: Course, options: GradingOptions, lab: str | None = None
) -> tuple[float, int]:
    """(seconds per submission, seconds per cell), filling in the defaults described above."""
    cell = options.cell_timeout
    if cell is None:
        cell = course.cell_timeout(lab) if lab else course.cell_timeout("")
    return (options.timeout or 2 * cell + 60), cell


def sandbox_mode(options: GradingOptions, probes: dict[str, tuple[bool, str]] | None = None) -> str:
    """'bubblewrap' or 'off' for the machines probed (default: this one), by the options.

    probes: machine -> (bubblewrap starts there, why not). A sandbox that cannot start on
    every machine is off everywhere, with the reason printed (sandbox=None), or refused
    (sandbox=True)."""
    if options.sandbox is False:
        warn_sandbox_off("disabled by the instructor: --no-sandbox")
        return "off"
    probes = probes if probes is not None else {"this machine": bubblewrap_probe()}
    broken = {machine: why for machine, (works, why) in probes.items() if not works}
    if not broken:
        return "bubblewrap"
    why = "; ".join(f"{machine}: {reason}" for machine, reason in sorted(broken.items()))
    if options.sandbox:
        raise ValueError(f"the sandbox is required but cannot start ({why})")
    warn_sandbox_off(why)
    return "off"


def warn_sandbox_off(why: str) -> None:
    print(
        f"WARNING: the sandbox is OFF ({why}). Student code runs with your rights and can read "
        "and write your files; resource limits still apply. Grade with --require-sandbox to "
        "refuse instead.",
        file=sys.stderr,
    )


def open_pool(options: GradingOptions, scratch: Path, submissions: int) -> tuple[Pool, str]:
    """The pool the options ask for, and the sandbox mode of its machines. On this machine, no
    more workers than `submissions` (jobs after the preflight): a worker that never gets a job
    still costs an nbgrader import (~2 s of CPU)."""
    if options.scheduler is None:
        mode = sandbox_mode(options)
        jobs = min(kernel_parallelism(options.jobs, mode), max(1, submissions))
        return LocalPool(jobs, scratch, private_uids=mode == "bubblewrap"), mode
    from cnncourse.grading.run.dask_pool import DaskPool

    pool = DaskPool(options.scheduler, scratch, options.jobs, options.cluster_security)
    try:
        return pool, sandbox_mode(options, pool.sandbox_probes())
    except BaseException:
        pool.close(cancel=True)
        raise


def grade_lab(
    course: Course,
    lab: str,
    *,
    submissions: Path | None = None,
    students: list[str] | None = None,
    options: GradingOptions | None = None,
) -> list[Result]:
    """Grade every submission of `lab` (or only `students`) and record the grades.

    Returns one Result per student, sorted by student id. Raises PreflightError (nothing
    recorded) if the lab's own solution does not get full marks, GradebookBusy if another run
    grades with the same gradebook, GradingInterrupted on Ctrl-C (what finished is recorded).
    """
    options = options or GradingOptions()
    course.check_lab(lab)
    python_scripts_on_path()  # nbgrader's alembic, here and in the workers started below
    with gradebook_lock(course):
        folder = Path(submissions) if submissions else course.submitted
        check_students(folder, lab, students)
        students = students or find_students(folder, lab)
        with tempfile.TemporaryDirectory(prefix="cnncourse-grading-") as scratch:
            results = grade_students(course, lab, folder, students, options, Path(scratch))
        write_summary(course, lab, results)
    return results


def grade_students(
    course: Course,
    lab: str,
    folder: Path,
    students: list[str],
    options: GradingOptions,
    scratch: Path,
) -> list[Result]:
    """Open the pool, build the template, preflight, grade and record (see the module doc)."""
    template = build_template(course, lab, scratch / "template")
    sync_gradebook(course, lab, template, update=options.update_gradebook)  # or LabChanged
    pool, mode = open_pool(options, scratch, len(students))
    try:
        settings = job_settings(course, lab, options, mode, template)
        if not options.skip_preflight:
            preflight(course, lab, pool, settings, scratch)
        ensure_assignment(course, lab)  # the course gradebook is touched after preflight only
        jobs = make_jobs(lab, folder, students, scratch / "jobs", **settings)
        results = run_jobs(jobs, course, pool, options.progress)
    except BaseException:
        pool.close(cancel=True)
        raise
    pool.close()
    return results


def job_settings(
    course: Course, lab: str, options: GradingOptions, mode: str, template: Path
) -> dict:
    """The Job fields every job of the run shares (`template`: the lab's, `build_template`)."""
    timeout, cell_timeout = resolved_timeouts(course, options, lab)
    return dict(
        template=str(template), config_file=str(template / "nbgrader_config.json"),
        cell_timeout=cell_timeout, timeout=timeout, use_bubblewrap=mode == "bubblewrap",
        limits=asdict(submission_limits(template, lab, timeout, options)),
    )  # fmt: skip


def check_solution(course: Course, lab: str, options: GradingOptions | None = None) -> Result:
    """Preflight alone: grade the lab's own solution through the pool and sandbox the options
    ask for, as `grade_lab` does first; PreflightError unless it gets full marks. Records
    nothing."""
    options = options or GradingOptions()
    course.check_lab(lab)
    python_scripts_on_path()
    with tempfile.TemporaryDirectory(prefix="cnncourse-grading-") as scratch:
        template = build_template(course, lab, Path(scratch) / "template")
        pool, mode = open_pool(options, Path(scratch), submissions=1)
        try:
            settings = job_settings(course, lab, options, mode, template)
            return preflight(course, lab, pool, settings, Path(scratch))
        finally:
            pool.close(cancel=True)


def submission_limits(
    template: Path, lab: str, timeout: float, options: GradingOptions
) -> ResourceLimits:
    """The kernel's limits: sized for the lab's imports, with the instructor's overrides."""
    source_text = (template / "source" / lab / f"{lab}.ipynb").read_text()
    # CPU seconds: a safety net behind the wall-clock timeouts, never in front of them
    cpu = {"cpu_seconds": int(timeout) + 60}
    return ResourceLimits.for_source(source_text, **{**cpu, **options.limits})


def make_jobs(lab: str, folder: Path, students: list[str], jobs_dir: Path, **settings) -> list[Job]:
    """One Job per student, each with its own scratch folder under `jobs_dir`; settings are
    the Job fields every job shares (template, config_file, timeouts, limits, sandbox)."""
    return [
        Job(
            lab=lab,
            student=student,
            submission=str((folder / student / lab).resolve()),
            job_dir=str(jobs_dir / f"{index:04d}"),
            **settings,
        )
        for index, student in enumerate(students)
    ]


def preflight(course: Course, lab: str, pool: Pool, settings: dict, scratch: Path) -> Result:
    """Grade the lab's solution through `pool`; raise PreflightError unless it gets full marks.
    Its log is kept in autograded/LAB_logs/preflight.log when it fails; nothing is recorded."""
    submission = write_solution_submission(Path(settings["template"]), lab, scratch / "preflight")
    job = Job(lab=lab, student=PREFLIGHT_STUDENT, submission=str(submission),
              job_dir=str(scratch / "preflight" / "job"), **settings)  # fmt: skip
    pool.submit(job)
    ((_job, result),) = list(pool.results())
    if not result.full_marks:
        keep_log(course, lab, result)
        check_preflight(result, lab, log_file(course, lab, PREFLIGHT_STUDENT))
    for note in stderr_notes(result):
        print(f"preflight: the solution's {note}", file=sys.stderr)
    return result


def run_jobs(jobs: list[Job], course: Course, pool: Pool, show_progress: bool) -> list[Result]:
    """Grade the jobs on the pool; record each result as it arrives (the only writer)."""
    results: list[Result] = []
    for job in jobs:
        pool.submit(job)
    try:
        for job, result in progress(pool.results(), len(jobs), show_progress):
            result.timestamp = read_timestamp_text(Path(job.submission))  # due dates (issue 20)
            with interrupt_deferred():  # recorded and counted, or neither
                record_or_note(course, job.lab, result)
                results.append(result)
            shutil.rmtree(job.job_dir, ignore_errors=True)
    except KeyboardInterrupt:
        pool.close(cancel=True)
        results.sort(key=lambda r: r.student)
        write_summary(course, jobs[0].lab, results)
        raise GradingInterrupted(results, len(jobs)) from None
    return sorted(results, key=lambda r: r.student)


def progress(iterable: Iterable, total: int, enabled: bool):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc="grading", unit="submission")
