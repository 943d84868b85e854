"""Fixtures of the grading tests."""

from __future__ import annotations

import pytest
from tiny_course import make_course

from cnncourse.grading.run.driver import Course


@pytest.fixture(scope="module")
def tiny_course(tmp_path_factory) -> Course:
    return make_course(tmp_path_factory.mktemp("course"))
