"""After grading: what the instructor reads and exports from a graded class (the class report,
the similarity report, the grade files of an LMS)."""
