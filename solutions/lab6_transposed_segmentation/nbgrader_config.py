# nbgrader settings for this lab's folder: with this file, `nbgrader validate` run here does not
# warn "No nbgrader_config.py file found", and it runs the notebook as the grader does.
c = get_config()  # noqa: F821 (nbgrader defines get_config when it reads this file)
# Seconds a cell may run: the course's value for this lab (CnnCourse.cell_timeouts in the
# course's nbgrader_config.py; tests/labs/test_typical_mistakes.py checks that they agree).
c.Execute.timeout = 180
# Every failing cell is shown, not only the first.
c.Validator.validate_all = True
