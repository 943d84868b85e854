"""What travels between the driver and a grading worker: a Job out, a Result back.

Plain dataclasses that turn into JSON (the local pool's pipe) or pickles (Dask), importable
without nbgrader or nbconvert, so that the driver, the pools and the reports can use them cheaply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

LOG_TAIL = 20_000  # characters of a worker's log kept with a result that did not grade normally
# The statuses that are the student's own outcome: their code ran, crashed or ran out of time, or
# their files are theirs and broken. Only these are recorded. Any other status ("grader error",
# "cancelled") is the grader's failure: the gradebook keeps what it held, the summary says
# "not graded", the run exits non-zero, and running the same command again grades it.
STUDENT_OUTCOMES = frozenset(
    {"ok", "timeout", "crashed", "invalid notebook", "missing notebook", "wrong lab"}
)

# In a job's folder: one JSON line per cell the kernel starts ({"running": NAME}) and per test
# cell it finishes ({"graded": ID, "score": S, "max_score": M}), written by the worker as it goes.
PROGRESS = "progress.jsonl"


@dataclass
class Job:
    """One submission to grade. Paths are absolute on the machine that grades it.

    submission:  the student's folder (LAB.ipynb and any files beside it)
    template:    the lab's template course: source/LAB, release/LAB and gradebook.db
    job_dir:     an empty scratch folder for this job (private course, sandbox, log)
    """

    lab: str
    student: str
    submission: str
    template: str
    job_dir: str
    config_file: str | None
    cell_timeout: int
    limits: dict
    uid: int | None = None
    use_bubblewrap: bool = True
    timeout: float = 600.0  # wall-clock seconds for the whole job, enforced by the pool


@dataclass
class CellGrade:
    notebook: str
    grade_id: str
    score: float
    max_score: float
    # no autograder score (a manually graded answer): formgrader lists it, the driver leaves its
    # manual score alone
    needs_manual_grade: bool = False


@dataclass
class Result:
    """What a worker reports. status: ok, timeout, crashed, invalid notebook, wrong lab, ...

    autograded: folder of the executed notebook on the driver's machine (None if none)
    log:        the tail of the worker's log for this job (kept for results that are not ok)
    seconds:    wall-clock seconds the worker spent on the job
    """

    student: str
    status: str
    score: float = 0.0
    max_score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    grades: list[CellGrade] = field(default_factory=list)
    autograded: str | None = None
    log: str = ""
    seconds: float = 0.0
    timestamp: str | None = None  # the submission's timestamp.txt, read by the driver (issue 20)

    @classmethod
    def from_dict(cls, data: dict) -> Result:
        data = dict(data)
        data["grades"] = [CellGrade(**g) for g in data.get("grades", [])]
        return cls(**data)

    @property
    def graded(self) -> bool:
        """Whether this is the student's own outcome, to be recorded (see STUDENT_OUTCOMES)."""
        return self.status in STUDENT_OUTCOMES

    @property
    def autograded_max_score(self) -> float:
        """The points the autograder gives: all but those of written answers (graded by hand)."""
        return sum(g.max_score for g in self.grades if not g.needs_manual_grade)

    @property
    def full_marks(self) -> bool:
        """Every point the autograder gives (written answers aside: they wait for a person)."""
        top = self.autograded_max_score if self.grades else self.max_score
        return self.status == "ok" and top > 0 and self.score == top


def read_progress(job: Job) -> tuple[list[CellGrade], str | None]:
    """The test cells the worker finished for `job`, and the cell it was running last (None if
    it never started one): what a submission stopped at its time limit keeps."""
    grades, running = [], None
    path = Path(job.job_dir) / PROGRESS
    lines = path.read_text().splitlines() if path.exists() else []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:  # the last line, cut by the kill
            continue
        if "running" in entry:
            running = entry["running"]
        else:
            grades.append(CellGrade(job.lab, entry["graded"], entry["score"], entry["max_score"]))
    return grades, running
