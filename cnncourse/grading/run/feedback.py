"""Feedback that teaches without giving the hidden tests away: generate_feedback, configured.

    feedback_config(reveal_hidden=False)   the traitlets Config that `cnncourse feedback LAB` and
                                           the course's nbgrader_config.py give generate_feedback

nbgrader's own feedback renders the autograded notebook, whose test cells hold the hidden tests
(jupyter/nbgrader#917, #1363). Here two preprocessors run on that notebook before it is rendered:

    HideHiddenTests   every "### BEGIN HIDDEN TESTS" region leaves the test cell's source (a
                      comment says that hidden tests ran there); the cell's outputs stay, but
                      any line of them that quotes a hidden line (an IPython traceback shows
                      the lines around the failing one) says "(a line of a hidden test)"
    FeedbackSummary   per graded cell: its points, whether it passed, the first line of each
                      error (the course's diagnosis: "<function>: <what is wrong>") and the
                      known mistakes it names ([mistake: id], described from checks.MISTAKES);
                      tracebacks as plain text (no terminal colours)

and the template `feedback` of this folder's templates/ shows the summary at the top, then the
student's code and the result of each check, as an accessible page (WCAG 2.1 AA, checked with
axe-core). With `reveal_hidden` (after the deadline, when the instructor asks) HideHiddenTests
is left out and the hidden tests are shown.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets.config import Config

TEMPLATES = Path(__file__).resolve().parent / "templates"
HIDDEN_SOURCE = "# Hidden tests ran here; they are not shown."
HIDDEN_LINE = "(a line of a hidden test, not shown)"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# a line of source that a traceback quotes: "----> 3 code" or "      4 code"
_QUOTED_SOURCE = re.compile(r"^(?P<mark>\s*-*>?\s*\d+ )(?P<code>.*)$")
_QUOTED_SOMEWHERE = 10  # hidden lines at least this long are hidden wherever they appear


def plain(text: str) -> str:
    """Text without terminal colour codes."""
    return _ANSI.sub("", text)


class HideHiddenTests(ClearHiddenTests):
    """Remove the hidden tests from the notebook feedback is made from, keeping their results.

    The delimiters are ClearHiddenTests' (configurable as `c.ClearHiddenTests.*`)."""

    def preprocess(self, nb, resources):
        # every cell's outputs are searched for the lines of every hidden test: the grader's
        # guard line quotes the imports of all of them, in the first test cell that runs
        self.hidden = set().union(*(self.hidden_lines(cell.source) for cell in nb.cells))
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if self.hidden_lines(cell.source):
            cell.source = self.visible_source(cell.source)
        if self.hidden:
            for output in cell.get("outputs", []):
                hide_in_output(output, self.hidden)
        return cell, resources

    def hidden_lines(self, source: str) -> set[str]:
        """The stripped lines of the hidden regions of `source`, the delimiters included."""
        lines, inside = set(), False
        for line in source.splitlines():
            if self.begin_test_delimeter in line:
                inside = True
            if inside and line.strip():
                lines.add(line.strip())
            if self.end_test_delimeter in line:
                inside = False
        return lines

    def visible_source(self, source: str) -> str:
        """`source` with each hidden region replaced by one comment line, at its indentation."""
        kept, inside = [], False
        for line in source.splitlines():
            if self.begin_test_delimeter in line:
                inside = True
                kept.append(line[: len(line) - len(line.lstrip())] + HIDDEN_SOURCE)
            elif self.end_test_delimeter in line:
                inside = False
            elif not inside:
                kept.append(line)
        if inside:
            raise ValueError(f"no '{self.end_test_delimeter}' after '{self.begin_test_delimeter}'"
                             f" in a cell:\n{source}")
        return "\n".join(kept)


def hide_in_output(output, hidden: set[str]) -> None:
    """Replace, in place, every line of an output that quotes a hidden line."""
    if output.get("output_type") == "error":
        output["traceback"] = [hide_in_text(entry, hidden) for entry in output["traceback"]]
        output["evalue"] = hide_in_text(output.get("evalue", ""), hidden)
    elif output.get("output_type") == "stream":
        output["text"] = hide_in_text(output.get("text", ""), hidden)
    elif "text/plain" in output.get("data", {}):
        output["data"]["text/plain"] = hide_in_text(output["data"]["text/plain"], hidden)


def hide_in_text(text: str, hidden: set[str]) -> str:
    long_lines = [line for line in hidden if len(line) >= _QUOTED_SOMEWHERE]
    lines = []
    for line in plain(text).split("\n"):
        quoted = _QUOTED_SOURCE.match(line)
        if quoted and quoted["code"].strip() in hidden:
            line = quoted["mark"] + HIDDEN_LINE
        elif any(secret in line for secret in long_lines):
            line = HIDDEN_LINE
        lines.append(line)
    return "\n".join(lines)


class FeedbackSummary(NbGraderPreprocessor):
    """resources["cnncourse"]["cells"]: one entry per graded cell, for the summary at the top.

    Runs after nbgrader's GetGrades, which puts each cell's score in its metadata."""

    def preprocess(self, nb, resources):
        resources.setdefault("cnncourse", {})["cells"] = []
        nb, resources = super().preprocess(nb, resources)
        named = {}
        for entry in resources["cnncourse"]["cells"]:
            named.update(entry["mistakes"])
        resources["cnncourse"]["mistakes"] = named
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [plain(entry) for entry in output["traceback"]]
            describe_images(output)
        grading = cell.metadata.get("nbgrader", {})
        if grading.get("grade") or grading.get("task"):
            resources["cnncourse"]["cells"].append(summary_of(cell))
        return cell, resources


def describe_images(output) -> None:
    """Give a figure without alt text its text form as one ("<Figure size 640x480 with 1
    Axes>"): a picture without alt text fails WCAG 1.1.1."""
    data = output.get("data", {})
    for mime in ("image/png", "image/jpeg", "image/svg+xml"):
        if mime in data and not output.get("metadata", {}).get(mime, {}).get("alt"):
            text = data.get("text/plain", "") or "a figure drawn by this cell"
            output.setdefault("metadata", {}).setdefault(mime, {})["alt"] = text


def summary_of(cell) -> dict:
    """What the summary says of one graded cell."""
    from cnncourse.grading.checks import MISTAKES, mistake_ids_in

    grading = cell.metadata["nbgrader"]
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    text = "\n".join(f"{o.get('evalue', '')}\n" + "\n".join(o["traceback"]) for o in errors)
    score = grading.get("score")
    manual = cell.cell_type == "markdown" or grading.get("task") or grading.get("solution")
    return {
        "grade_id": grading["grade_id"],
        "kind": "graded by hand" if manual else "autograded test",
        "score": score,
        "points": grading.get("points", 0),
        "result": result_of(score, grading.get("points", 0), manual, bool(errors)),
        "diagnoses": [first_line(o) for o in errors],
        "mistakes": {m: MISTAKES[m] for m in mistake_ids_in(text)},
    }


def result_of(score, points, manual: bool, failed: bool) -> str:
    if score is None:
        return "not graded yet" if manual else "not graded"
    if manual:
        return "graded by hand"
    return "failed" if failed or score < points else "passed"


def first_line(error) -> str:
    """The first line of an error as a student reads it: "AssertionError: conv1d: ..."."""
    evalue = (error.get("evalue") or "").strip().split("\n")[0].strip()
    return f"{error.get('ename', 'Error')}: {evalue}" if evalue else error.get("ename", "Error")


def feedback_config(reveal_hidden: bool = False) -> Config:
    """generate_feedback's configuration: the preprocessors above and the course's template."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    hide = [] if reveal_hidden else [HideHiddenTests]
    config = Config()
    config.GenerateFeedback.preprocessors = [GetGrades, *hide, FeedbackSummary,
                                             CSSHTMLHeaderPreprocessor]
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATES)]
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    return config
