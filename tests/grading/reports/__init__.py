"""Tests of cnncourse.grading.reports: what comes after grading."""
