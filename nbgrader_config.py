"""nbgrader configuration of the course; the course directory is the repository root.

    solutions/LAB/LAB.ipynb   source notebooks (solutions and hidden tests), edited by instructors
    exercises/LAB/LAB.ipynb   the student release: `nbgrader generate_assignment LAB --force`
    submitted/STUDENT/LAB/    hand-ins to grade; autograded/ and feedback/ are written beside it
    gradebook.db              SQLite gradebook (never committed)

The labs are the folders of solutions/ (lab1_convolution ... lab5_model_zoo).

Run nbgrader from the repository root: `nbgrader generate_assignment lab1_convolution`.
"""

c = get_config()  # noqa: F821 (nbgrader injects get_config)

c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# A cell of lab 4 trains LeNet in numpy (about a minute on one laptop core); the 30 s default
# would stop it. Ten minutes leaves room for a slow machine without letting a hung cell sit forever.
c.Execute.timeout = 600
# Students see every failing test, not only the first, when they validate.
c.Validator.validate_all = True
