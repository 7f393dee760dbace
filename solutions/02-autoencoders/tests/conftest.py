"""Fixtures for the public tests: ``student`` is ../autoencoder.py, ``harness`` is coursekit.harness."""

from coursekit.testing import lesson_fixtures

student, harness = lesson_fixtures(__file__, "autoencoder.py")
