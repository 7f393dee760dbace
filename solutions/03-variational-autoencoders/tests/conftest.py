"""Fixtures for the public tests: ``student`` is ../vae.py, ``harness`` is coursekit.harness."""

from coursekit.testing import lesson_fixtures

student, harness = lesson_fixtures(__file__, "vae.py")
