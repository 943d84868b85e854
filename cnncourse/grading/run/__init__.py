"""The grading run, in the instructor's process and the workers it starts: from a class's
submissions to grades in the gradebook (see `driver` for the steps and the module of each)."""
