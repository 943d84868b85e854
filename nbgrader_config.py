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

# Lab 4 trains LeNet in numpy and in Keras inside single cells; its whole notebook autogrades in
# about 45 s on one core here, more than nbgrader's 30 s default allows one cell. Three minutes
# leaves a slow laptop four times that, and is also what one infinite loop in a submission costs
# the grader (the driver's per-submission timeout follows from it).
c.Execute.timeout = 180
# Students see every failing test, not only the first, when they validate.
c.Validator.validate_all = True
