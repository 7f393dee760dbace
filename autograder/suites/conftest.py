"""Lets pytest run a hidden suite against one submission (see :mod:`autograder.pytest_suites`)."""

from autograder.pytest_suites import (pytest_addoption, pytest_collect_file,  # noqa: F401 - pytest hooks
                                      pytest_configure, pytest_pycollect_makeitem,
                                      pytest_terminal_summary)
