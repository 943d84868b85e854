"""What a graded class did: scores, the cells most students failed, the mistakes they made.

    report = class_report(Course.load("."), "lab1_convolution")
    print(format_report(report))                      # the terminal summary
    write_report(report, course.autograded)           # autograded/lab1_convolution_report.html

Read after `cnncourse grade LAB`, from what grading leaves behind:

    gradebook                    every submission's points per graded cell (the authority: it
                                 holds manual grades, and 0 for submissions that failed)
    autograded/LAB_summary.csv   the last batch's status, reasons and grading seconds
    autograded/STUDENT/LAB/      the executed notebooks: the error output of each failed test
                                 cell names the diagnosed mistakes ("[mistake: flipped_kernel]",
                                 read with `checks.mistake_ids_in`, described by checks.MISTAKES)

A submission graded in an earlier batch than the last has no summary row; its status is then
"ok" if an autograded notebook exists. Grading time is the driver's wall-clock seconds per
submission where the summary has them, else the notebook's own run time (from the cells'
execution timestamps), which leaves out the kernel start.

The page is self-contained: figures (drawn here with matplotlib) are embedded as SVG data, no
script, font or style comes from another host.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat

NOT_IN_SUMMARY = "ok"  # status of a submission graded before the last batch (see docstring)


@dataclass
class Submission:
    """One student's graded submission of the lab."""

    student: str
    score: float
    max_score: float
    status: str = "ok"  # ok, timeout, crashed, invalid notebook, ... (the driver's words)
    reasons: str = ""
    seconds: float | None = None
    cells: dict[str, float] = field(default_factory=dict)  # graded cell -> points
    mistakes: list[tuple[str, str]] = field(default_factory=list)  # (mistake id, graded cell)
    log: str = ""  # the worker log the driver kept for a submission that did not grade normally


@dataclass
class ClassReport:
    lab: str
    submissions: list[Submission]  # sorted by student
    cell_points: dict[str, float]  # graded cells in notebook order -> points available
    # where the seconds come from: "grading" (the driver's, in the summary), "notebook" (the
    # cells' run time) or "mixed" (the notebook's where the summary has none)
    time_source: str = "grading"
    late: list[str] = field(default_factory=list)  # deadlines.late_submissions: one line each

    @property
    def max_score(self) -> float:
        return sum(self.cell_points.values())

    def cell_means(self) -> dict[str, float]:
        """Graded cell -> mean share of its points the class got (0 to 1)."""
        n = max(len(self.submissions), 1)
        return {cell: sum(s.cells.get(cell, 0.0) for s in self.submissions) / (n * points)
                for cell, points in self.cell_points.items() if points > 0}  # fmt: skip

    def failed_by(self, cell: str) -> list[str]:
        """Students who got no points for `cell`."""
        return [s.student for s in self.submissions if s.cells.get(cell, 0.0) <= 0]

    def mistakes(self) -> dict[str, list[tuple[str, str]]]:
        """Mistake id -> [(student, graded cell)], the most frequent (by students) first."""
        found: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for submission in self.submissions:
            for mistake, cell in submission.mistakes:
                found[mistake].append((submission.student, cell))
        return dict(sorted(found.items(), key=lambda kv: (-len(_students(kv[1])), kv[0])))

    def abnormal(self) -> list[Submission]:
        """Submissions that did not grade normally (timeout, crash, invalid file, ...)."""
        return [s for s in self.submissions if s.status != "ok"]


def _students(pairs: list[tuple[str, str]]) -> list[str]:
    return sorted({student for student, _ in pairs})


def _who(pairs: list[tuple[str, str]]) -> str:
    """'bob (test_a, test_c); cy (test_a)' from [(student, cell), ...]."""
    cells: dict[str, list[str]] = defaultdict(list)
    for student, cell in pairs:
        cells[student].append(cell)
    return "; ".join(f"{s} ({', '.join(c)})" for s, c in sorted(cells.items()))


# ----------------------------------------------------------------------------- reading
def graded_cells(source: nbformat.NotebookNode) -> dict[str, float]:
    """{grade_id: points} of the source notebook's graded cells, in notebook order."""
    cells = {}
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and meta.get("grade_id"):
            cells[meta["grade_id"]] = float(meta.get("points", 0))
    return cells


def gradebook_scores(db_url: str, course_id: str,
                     lab: str) -> tuple[dict[str, dict[str, float]], dict[str, float]]:  # fmt: skip
    """({student: {graded cell: points}}, {graded cell: points available}) of `lab`."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///"):]).exists():
        raise ValueError(f"no gradebook at {db_url[len('sqlite:///'):]}: grade {lab} first")
    scores: dict[str, dict[str, float]] = {}
    with Gradebook(db_url, course_id) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's warnings about nbgrader's sessions
        try:
            assignment = gb.find_assignment(lab)
        except MissingEntry:
            raise ValueError(f"the gradebook has no grades for {lab!r}: run "
                             f"`cnncourse grade {lab}` first") from None  # fmt: skip
        available = {cell.name: float(cell.max_score)
                     for notebook in assignment.notebooks for cell in notebook.grade_cells}
        for submission in assignment.submissions:
            scores[submission.student.id] = {
                grade.name: float(grade.score)
                for notebook in submission.notebooks for grade in notebook.grades
            }  # fmt: skip
    return scores, available


def read_summary(path: Path) -> dict[str, dict[str, str]]:
    """autograded/LAB_summary.csv as {student: row}; {} if the file is missing."""
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle) if row.get("student")}


def notebook_findings(folder: Path) -> tuple[list[tuple[str, str]], float | None]:
    """([(mistake id, graded cell)], run seconds) of the executed notebooks in `folder`."""
    from cnncourse.grading.checks import mistake_ids_in

    mistakes: list[tuple[str, str]] = []
    starts, ends = [], []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception:  # a notebook the student broke: no findings, the summary says why
            continue
        for cell in notebook.cells:
            timing = cell.get("metadata", {}).get("execution", {})
            starts += [_timestamp(timing.get("iopub.execute_input"))]
            ends += [_timestamp(timing.get("shell.execute_reply"))]
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if not (meta.get("grade") and meta.get("grade_id")):
                continue
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    text = "\n".join([str(output.get("evalue", "")), *output.get("traceback", [])])
                    mistakes += [(m, meta["grade_id"]) for m in mistake_ids_in(text)]
    starts, ends = [t for t in starts if t], [t for t in ends if t]
    seconds = (max(ends) - min(starts)).total_seconds() if starts and ends else None
    return list(dict.fromkeys(mistakes)), seconds


def _timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def build_report(lab: str, cell_points: dict[str, float], scores: dict[str, dict[str, float]],
                 summary: dict[str, dict[str, str]], autograded: Path) -> ClassReport:  # fmt: skip
    """Put the three sources together (see the module docstring); autograded: the course's."""
    submissions, sources = [], set()
    for student in sorted(set(scores) | set(summary)):
        cells = scores.get(student, {})
        row = summary.get(student, {})
        mistakes, run_seconds = notebook_findings(autograded / student / lab)
        seconds = _float(row.get("seconds"))
        sources.add("grading" if seconds is not None else "notebook")
        seconds = run_seconds if seconds is None else seconds
        status = row.get("status") or (NOT_IN_SUMMARY if (autograded / student / lab).is_dir()
                                       else "not graded")  # fmt: skip
        submissions.append(Submission(
            student, sum(cells.values()), sum(cell_points.values()), status,
            row.get("reason", ""), seconds, cells, mistakes, row.get("log") or ""))  # fmt: skip
    source = sources.pop() if len(sources) == 1 else "mixed"
    return ClassReport(lab, submissions, cell_points, source)


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def class_report(course, lab: str) -> ClassReport:
    """The report of `lab` in a course graded with `cnncourse grade`."""
    course.check_lab(lab)
    source = nbformat.read(course.source / lab / f"{lab}.ipynb", as_version=4)
    scores, available = gradebook_scores(course.db_url, course.course_id, lab)
    # the source's order; the gradebook's points (it graded with them), its cells included
    cells = {cell: available.get(cell, points) for cell, points in graded_cells(source).items()}
    cells.update({cell: points for cell, points in available.items() if cell not in cells})
    summary = read_summary(course.autograded / f"{lab}_summary.csv")
    from cnncourse.grading.run.deadlines import late_submissions

    report = build_report(lab, cells, scores, summary, course.autograded)
    report.late = late_submissions(course, lab)
    return report


# ----------------------------------------------------------------------------- terminal
def format_report(report: ClassReport, width: int = 100) -> str:
    """A short text summary: scores, weakest cells, mistakes, abnormal submissions, times."""
    subs = report.submissions
    if not subs:
        return f"{report.lab}: no graded submissions"
    scores = [s.score for s in subs]
    top = report.max_score
    lines = [f"{report.lab}: {len(subs)} submissions, mean {statistics.mean(scores):.1f}/{top:g}"
             f", median {statistics.median(scores):g}, full marks {sum(s == top for s in scores)}",
             "score histogram:"]  # fmt: skip
    for low, high, count in score_bins(scores, top):
        lines.append(f"  {low:5g}-{high:<5g} {'#' * count} {count}")
    lines.append("graded cells, weakest first (mean share of points; students with none):")
    name_width = max((len(cell) for cell in report.cell_points), default=0)
    for cell, mean in sorted(report.cell_means().items(), key=lambda kv: kv[1]):
        lines.append(f"  {cell:<{name_width}}  {mean:4.0%}  {len(report.failed_by(cell))} failed")
    lines.append("diagnosed mistakes:" if report.mistakes() else "diagnosed mistakes: none")
    for mistake, where in report.mistakes().items():
        who = ", ".join(_students(where))
        lines.append(_cut(f"  {mistake} ({len(_students(where))}): {who}", width))
    abnormal = report.abnormal()
    lines.append(f"did not grade normally: {len(abnormal) or 'none'}")
    for s in abnormal:
        lines.append(_cut(f"  {s.student}: {s.status}: {s.reasons}", width))
    lines.append(f"late submissions: {len(report.late) or 'none'}")
    lines += [_cut(f"  {line}", width) for line in report.late]
    times = [(s.seconds, s.student) for s in subs if s.seconds is not None]
    if times:
        slowest = max(times)
        lines.append(f"{_time_label(report)}: median {statistics.median(t for t, _ in times):.1f}"
                     f" s, slowest {slowest[0]:.1f} s ({slowest[1]})")  # fmt: skip
    return "\n".join(lines)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _time_label(report: ClassReport) -> str:
    return {"grading": "grading time", "notebook": "notebook run time"}.get(
        report.time_source, "grading time (the notebook's run time where the summary has none)")


def score_bins(scores: list[float], top: float) -> list[tuple[float, float, int]]:
    """(low, high, count) bins covering 0..top: one per point up to 20 points, else 10."""
    n = int(top) if 0 < top <= 20 and float(top).is_integer() else 10
    width = top / n if top > 0 else 1.0
    bins = []
    for i in range(n):
        low, high = i * width, (i + 1) * width
        last = i == n - 1
        count = sum(low <= s < high or (last and s >= high) for s in scores)
        bins.append((round(low, 2), round(high, 2), count))
    return bins


# ----------------------------------------------------------------------------- figures
def _svg_data(figure) -> str:
    """A matplotlib figure as an <img> of embedded SVG data (no file, no host)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="" src="data:image/svg+xml;base64,{data}">'


def _figure(height: float):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, height))
    return figure, figure.add_subplot()


def _literal(labels: list[str]) -> list[str]:
    """Labels as plain text: matplotlib reads $...$ as mathtext (a student id '$x^{$' crashed
    the report); an escaped dollar is drawn as it is."""
    return [label.replace("$", r"\$") for label in labels]


def score_histogram(report: ClassReport):
    bins = score_bins([s.score for s in report.submissions], report.max_score)
    figure, ax = _figure(2.8)
    lows, highs, counts = zip(*bins, strict=True)
    widths = [high - low for low, high in zip(lows, highs, strict=True)]
    ax.bar(lows, counts, width=widths, align="edge", color="#4c72b0", edgecolor="white")
    ax.set(xlabel=f"score (out of {report.max_score:g})", ylabel="submissions",
           title="Score distribution", xlim=(0, max(report.max_score, 1)))  # fmt: skip
    ax.yaxis.get_major_locator().set_params(integer=True)
    return figure


def cell_chart(report: ClassReport):
    means = report.cell_means()
    cells = sorted(means, key=means.get)
    figure, ax = _figure(0.6 + 0.32 * max(len(cells), 1))
    colors = ["#c44e52" if means[c] < 0.5 else "#4c72b0" for c in cells]
    ax.barh(_literal(cells), [means[c] for c in cells], color=colors)
    ax.set(xlim=(0, 1), xlabel="mean share of the cell's points (red: below half)",
           title="Graded cells, weakest first")
    ax.invert_yaxis()
    return figure


def mistake_chart(report: ClassReport):
    mistakes = report.mistakes()
    names = list(mistakes)
    figure, ax = _figure(0.6 + 0.32 * max(len(names), 1))
    ax.barh(_literal(names), [len(_students(mistakes[m])) for m in names], color="#dd8452")
    ax.set(xlabel="students", title="Diagnosed mistakes")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.invert_yaxis()
    return figure


def time_chart(report: ClassReport):
    timed = sorted((s.seconds, s.student) for s in report.submissions if s.seconds is not None)
    figure, ax = _figure(0.6 + 0.22 * max(len(timed), 1))
    ax.barh(_literal([name for _, name in timed]), [t for t, _ in timed], color="#55a868")
    ax.set(xlabel="seconds", title="Seconds per submission")
    return figure


# ----------------------------------------------------------------------------- page
STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 60em; padding: 0 1em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
td, th { border-bottom: 1px solid #ddd; padding: .25em .7em; text-align: left; }
img { max-width: 100%; }
.bad { color: #b00020; }
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def report_html(report: ClassReport) -> str:
    """The class report as one self-contained HTML page."""
    from cnncourse.grading.checks import MISTAKES

    e = html.escape
    subs = report.submissions
    parts = [f"<h1>Class report: {e(report.lab)}</h1>",
             f"<pre>{e(format_report(report))}</pre>"]  # fmt: skip
    if subs:
        parts += ["<h2>Scores</h2>", _svg_data(score_histogram(report))]
        parts += ["<h2>Graded cells</h2>", _svg_data(cell_chart(report))]
        means = report.cell_means()
        parts.append(_table(["cell", "points", "mean", "students with no points"], [
            [e(c), f"{p:g}", f"{means.get(c, 0):.0%}", e(", ".join(report.failed_by(c)))]
            for c, p in report.cell_points.items()]))  # fmt: skip
    mistakes = report.mistakes()
    parts.append("<h2>Diagnosed mistakes</h2>")
    if mistakes:
        parts.append(_svg_data(mistake_chart(report)))
        parts.append(_table(["mistake", "what it is", "students", "who (cell)"], [
            [e(m), e(MISTAKES.get(m, "")), str(len(_students(w))), e(_who(w))]
            for m, w in mistakes.items()]))  # fmt: skip
    else:
        parts.append("<p>No failed test named a known mistake.</p>")
    parts.append("<h2>Submissions that did not grade normally</h2>")
    abnormal = report.abnormal()
    parts.append(_table(["student", "status", "reason", "worker log"], [
        [e(s.student), f'<span class="bad">{e(s.status)}</span>', e(s.reasons), e(s.log)]
        for s in abnormal]) if abnormal else "<p>None.</p>")  # fmt: skip
    if any(s.seconds is not None for s in subs):
        parts += [f"<h2>{e(_time_label(report).capitalize())}</h2>", _svg_data(time_chart(report))]
    parts += ["<h2>Every submission</h2>", _table(
        ["student", "score", "status", "seconds", "mistakes"],
        [[e(s.student), f"{s.score:g}/{s.max_score:g}", e(s.status),
          "" if s.seconds is None else f"{s.seconds:.1f}",
          e(", ".join(dict.fromkeys(m for m, _ in s.mistakes)))] for s in subs])]  # fmt: skip
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Class report: {e(report.lab)}</title><style>{STYLE}</style></head>"
            f"<body>{''.join(parts)}</body></html>")  # fmt: skip


def write_report(report: ClassReport, folder: Path) -> Path:
    """autograded/LAB_report.html (folder: the course's autograded/)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{report.lab}_report.html"
    path.write_text(report_html(report), encoding="utf-8")
    return path
