"""Run a lesson's public tests for one task from a notebook: ``check_task("2.3")``.

The notebooks' ``grader.check`` cells (Otter-Grader) call this, so a student sees in the
notebook exactly what ``pytest`` in the lesson folder would tell them. It runs pytest
in-process on ``<lesson>/tests`` and keeps only the tests marked ``@task(task_id)``.
"""

from __future__ import annotations

import io
import contextlib
from pathlib import Path

import pytest

from coursekit.testing import task_of


class _TaskFilter:
    """A pytest plugin that deselects every test not marked with the wanted task."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        self.selected = 0

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        keep, drop = [], []
        for item in items:
            (keep if task_of(item) == self.task_id else drop).append(item)
        items[:] = keep
        self.selected = len(keep)
        if drop:
            config.hook.pytest_deselected(items=drop)


def check_task(task_id: str, lesson_dir: str | Path | None = None) -> None:
    """Run the public tests of ``task_id``; raise ``AssertionError`` with pytest's report if any fail."""
    folder = Path(lesson_dir) if lesson_dir is not None else Path.cwd()
    tests = folder / "tests"
    if not tests.is_dir():
        raise FileNotFoundError(f"no tests/ folder in {folder}: run the notebook from its lesson folder")
    plugin = _TaskFilter(task_id)
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = pytest.main([str(tests), "-q", "--no-header", "-p", "no:cacheprovider",
                            "--import-mode=importlib", "-W", "ignore::DeprecationWarning",
                            "--tb=line", "-rN", "--color=no", f"--rootdir={folder}"], plugins=[plugin])
    if plugin.selected == 0:
        raise AssertionError(f"there is no public test for task {task_id}")
    if code != 0:
        lines = [l for l in output.getvalue().splitlines() if l.strip()]
        raise AssertionError(f"task {task_id}: some public tests failed\n" + "\n".join(lines[-25:]))

