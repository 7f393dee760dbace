"""Run a lesson's public tests for one task from a notebook: ``check_task("2.3")``.

The notebooks' ``grader.check`` cells (Otter-Grader) call this, so a student sees in the
notebook what ``pytest -k task_2_3`` in the lesson folder would tell them. It runs pytest
in-process on ``<lesson>/tests``, keeps only the tests marked ``@task(task_id)``, and on failure
raises one short ``AssertionError``: the task, each failing test and its message, nothing else
(pytest's own report, with its tracebacks and colour codes, is not shown).
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import pytest

from coursekit.pytest_plugin import failure_message, task_of


class _TaskRun:
    """A pytest plugin: deselects every test not marked with the wanted task, records failures."""

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id
        self.selected = 0
        self.failures: list[tuple[str, str]] = []   # (test name, message)

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        keep = [item for item in items if task_of(item) == self.task_id]
        drop = [item for item in items if task_of(item) != self.task_id]
        items[:] = keep
        self.selected = len(keep)
        if drop:
            config.hook.pytest_deselected(items=drop)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.failures.append((Path(report.nodeid).name or report.nodeid, failure_message(report)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.failures.append((report.nodeid.rsplit("::", 1)[-1], failure_message(report)))


@contextlib.contextmanager
def _modules_restored(folder: Path):
    """Undo, on exit, what a run did to ``sys.modules`` for modules from ``folder``.

    Every lesson's tests import as ``tests.conftest``, ``tests.test_<lesson>``: left behind, the
    next check (of another lesson, or in the repository's own tests) would reuse the first ones.
    """
    before = dict(sys.modules)
    try:
        yield
    finally:
        for name, module in list(sys.modules.items()):
            file = getattr(module, "__file__", None)
            if before.get(name) is not module and file and Path(file).resolve().is_relative_to(folder):
                if name in before:
                    sys.modules[name] = before[name]
                else:
                    del sys.modules[name]


def check_task(task_id: str, lesson_dir: str | Path | None = None) -> None:
    """Run the public tests of ``task_id``; raise ``AssertionError`` naming each failing test if any fail.

    Args:
        task_id: e.g. ``"2.3"``.
        lesson_dir: The lesson folder (holding ``tests/``); default: the current folder.

    Raises:
        FileNotFoundError: No ``tests/`` folder in ``lesson_dir``.
        AssertionError: No public test is marked with ``task_id``, or some of them fail.
    """
    folder = Path(lesson_dir).resolve() if lesson_dir is not None else Path.cwd().resolve()
    tests = folder / "tests"
    if not tests.is_dir():
        raise FileNotFoundError(f"no tests/ folder in {folder}: run the notebook from its lesson folder")
    run = _TaskRun(task_id)
    output = io.StringIO()
    with _modules_restored(folder), contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = pytest.main([str(tests), "-q", "--no-header", "-p", "no:cacheprovider",
                            "--import-mode=importlib", "-W", "ignore::DeprecationWarning",
                            "--color=no", f"--rootdir={folder}"], plugins=[run])
    if run.failures:
        lines = [f"Task {task_id}: {len(run.failures)} public test(s) failed."]
        lines += [f"- {name}: {message}" for name, message in run.failures]
        raise AssertionError("\n".join(lines))
    if run.selected == 0:
        raise AssertionError(f"there is no public test for task {task_id}")
    if code != 0:  # pytest itself could not run (a usage or internal error): show its last words
        tail = [line for line in output.getvalue().splitlines() if line.strip()][-10:]
        raise AssertionError(f"Task {task_id}: pytest could not run the tests:\n" + "\n".join(tail))
