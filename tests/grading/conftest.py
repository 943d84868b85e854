"""Fixtures of the grading tests."""

from __future__ import annotations

import pytest

from cnncourse.grading.run.driver import Course
from tests.grading.tiny_course import make_course


@pytest.fixture(scope="module")
def tiny_course(tmp_path_factory) -> Course:
    return make_course(tmp_path_factory.mktemp("course"))
