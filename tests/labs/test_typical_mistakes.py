"""A class of typical mistakes per lab, through `nbgrader validate` as a student runs it:
the first line of an error shown names the cause for at least 90% of them (typical_mistakes.py),
every diagnosis reaches the student whole (validate cuts long lines), and no frame or line of the
grading code (cnncourse/grading) is shown. Each is judged on the failed cells it alone can
change, in notebooks shared by mistakes that cannot change each other's cells (one kernel for
several mistakes: typical_mistakes.pack; the packing itself is tested in test_mistake_packing).
"""

from __future__ import annotations

import pytest

from tests.labs import typical_mistakes

pytestmark = pytest.mark.slow


def test_each_mistake_applies_to_its_lab():
    for lab, mistakes in typical_mistakes.MISTAKES.items():
        assert len(mistakes) >= 10, lab
        for mistake in mistakes:  # raises when the edit no longer matches the solution
            typical_mistakes.student_notebook(typical_mistakes.ROOT / "exercises",
                                              typical_mistakes.ROOT / "solutions", lab, mistake)


@pytest.mark.parametrize("lab", list(typical_mistakes.MISTAKES))
def test_the_first_lines_name_the_cause(lab, tmp_path):
    results = typical_mistakes.run_class(lab, typical_mistakes.ROOT / "exercises",
                                         typical_mistakes.ROOT / "solutions",
                                         typical_mistakes.validation_env(tmp_path))
    missed = [(m.name, lines[:1]) for m, named, lines, _ in results if not named]
    assert len(missed) <= 0.1 * len(results), f"{lab}: causes not named: {missed}"
    # every mistake fails some visible test: none is handed in believing it is right
    silent = [m.name for m, _, lines, _ in results if not lines]
    assert not silent, f"{lab}: mistakes that pass every visible test: {silent}"
    source = typical_mistakes.grading_source_lines()
    for mistake, _, _, report in results:
        assert not typical_mistakes.cut_lines(report), (mistake.name, report)
        assert not typical_mistakes.causes_not_whole(report), (mistake.name, report)
        assert not typical_mistakes.grading_code_shown(report, source), (mistake.name, report)


def test_the_setup_cell_prints_no_bare_true():
    """check_version returns True: the setup cell must not display it (issue 21)."""
    from IPython.core.interactiveshell import InteractiveShell

    from cnncourse import labs

    shell = InteractiveShell.instance()
    source = labs.setup_cell_source("lab1_convolution", labs.package_version())
    result = shell.run_cell(source, store_history=True)  # as a notebook runs it
    assert result.success and result.result is None


def test_each_lab_folder_validates_as_the_course_grades():
    """The nbgrader_config.py shipped with each lab gives its cells the course's timeout."""
    import runpy

    from traitlets.config import Config

    course = Config()
    runpy.run_path(str(typical_mistakes.ROOT / "nbgrader_config.py"),
                   init_globals={"get_config": lambda: course})
    for lab, seconds in course.CnnCourse.cell_timeouts.items():
        folder = Config()
        runpy.run_path(str(typical_mistakes.ROOT / "exercises" / lab / "nbgrader_config.py"),
                       init_globals={"get_config": lambda folder=folder: folder})
        assert folder.Execute.timeout == seconds, lab
        assert folder.Validator.validate_all
