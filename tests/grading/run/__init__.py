"""Tests of cnncourse.grading.run: the grading run."""
