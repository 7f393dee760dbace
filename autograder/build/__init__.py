"""Generating the student-facing files from the single source in ``solutions/``."""
