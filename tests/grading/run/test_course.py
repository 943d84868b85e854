"""The course directory as nbgrader reads it."""

from __future__ import annotations

import os

from cnncourse.grading.run.course import Course


def test_loading_a_course_leaves_the_process_environment_alone(tmp_path, monkeypatch):
    (tmp_path / "source" / "lab1_convolution").mkdir(parents=True)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    course = Course.load(tmp_path)
    assert course.labs == ("lab1_convolution",)
    assert os.environ["PATH"] == "/usr/bin:/bin"
