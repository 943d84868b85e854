"""The tests, a package so that test modules import shared helpers by their full name
(`tests.grading.tiny_course`) and never each other."""
