"""Tests of cnncourse.grading: the kernel side (checks, lab_checks) here, run/ and reports/
below."""
