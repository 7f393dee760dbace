"""Fixtures for the public tests: ``student`` is ../autoencoder.py, ``harness`` is coursekit.harness.

The course's pytest plugin (``coursekit.pytest_plugin``) gives ``pytest -k task_2_1`` (one task's
tests) and short output.
"""

from coursekit.pytest_plugin import pytest_configure  # noqa: F401  (pytest finds the hook here)
from coursekit.testing import lesson_fixtures

student, harness = lesson_fixtures(__file__, "autoencoder.py")
