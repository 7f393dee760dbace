"""The course's pytest plugin for the public tests: one task at a time, short output.

Each lesson's ``tests/conftest.py`` imports :func:`pytest_configure` from here, which registers
the plugin once per run (however many lessons are collected). With it:

- ``pytest -k task_2_1`` runs exactly the tests marked ``@task("2.1")`` (each test gets the
  keyword ``task_2_1``; ``-k task_4_1`` does not also pick ``task_4_10``);
- tracebacks are short (``--tb=short``, unless ``--tb`` is given), and a test that fails only
  because its task is still a stub (``NotImplementedError("Task 2.1: ... is not implemented
  yet")``) is reported in one line, its message;
- the short summary at the end lists every failing test with its task and the first line of
  its message, never cut at the terminal's width (pytest's own summary cuts it).

:func:`task_of` and :func:`failure_message` are also what ``coursekit.checks.check_task`` (the
notebooks' check cells) reports with.
"""

from __future__ import annotations

import re

import pytest

PLUGIN_NAME = "coursekit-course"
STUB_MESSAGE = re.compile(r"^Task \d+\.\d+: .* is not implemented yet$")
TASK_KEYWORD = re.compile(r"^task_(\d+)_(\d+)$")
PYTEST_DEFAULT_REPORTCHARS = "fE"  # pytest's _REPORTCHARS_DEFAULT


def task_of(item: pytest.Item) -> str | None:
    """The task id of a test marked ``@task("2.1")`` (``"2.1"``), else None."""
    marker = item.get_closest_marker("task")
    return str(marker.args[0]) if marker and marker.args else None


def task_keyword(task_id: str) -> str:
    """The ``-k`` keyword of a task: ``"2.1"`` -> ``"task_2_1"``."""
    return "task_" + task_id.replace(".", "_")


def failure_message(report: pytest.TestReport | pytest.CollectReport) -> str:
    """What a failed test says, without pytest's traceback or its ``assert`` explanation."""
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    message = crash.message if crash is not None else str(longrepr)
    message = message.split("\nassert ", 1)[0].strip()   # pytest's rewrite of the failed assert
    if message.startswith("AssertionError: "):
        message = message[len("AssertionError: "):]
    return message or "(the test failed without a message)"


class CoursePlugin:
    """The hooks; registered once per pytest run by :func:`pytest_configure`."""

    def __init__(self, config: pytest.Config) -> None:
        if config.option.tbstyle == "auto":
            config.option.tbstyle = "short"

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        task = task_of(item)
        if task is not None:
            item.extra_keyword_matches.add(task_keyword(task))

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        wanted = (config.option.keyword or "").strip()
        if not TASK_KEYWORD.match(wanted):
            return
        others = [item for item in items if task_keyword(task_of(item) or "") != wanted]
        if others:   # -k is a substring match: task_4_1 also matched task_4_10
            items[:] = [item for item in items if item not in others]
            config.hook.pytest_deselected(items=others)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        excinfo = call.excinfo
        if report.failed and excinfo is not None and excinfo.errisinstance(NotImplementedError) \
                and STUB_MESSAGE.match(str(excinfo.value)):
            report.longrepr = str(excinfo.value)   # a stub: its message is the whole story
        if report.failed:
            task = task_of(item)
            report.user_properties.append(("course_task", task or ""))
        return report

    def pytest_terminal_summary(self, terminalreporter, exitstatus: int, config: pytest.Config) -> None:
        if config.option.reportchars != PYTEST_DEFAULT_REPORTCHARS:
            return   # the student chose what to see with -r
        # pytest prints its short summary after this hook and cuts each line at the terminal's
        # width: drop its failed/error lines and print ours, whole.
        terminalreporter.reportchars = terminalreporter.reportchars.replace("f", "").replace("E", "")
        failed = terminalreporter.stats.get("failed", []) + terminalreporter.stats.get("error", [])
        if not failed:
            return
        terminalreporter.section("what failed, by task", sep="=")
        for report in failed:
            task = dict(getattr(report, "user_properties", ())).get("course_task") or "?"
            word = "FAILED" if getattr(report, "when", None) == "call" else "ERROR"
            first_line = failure_message(report).splitlines()[0]
            terminalreporter.line(f"{word} task {task} {report.nodeid.rsplit('::', 1)[-1]} - {first_line}")


def pytest_configure(config: pytest.Config) -> None:
    """Register :class:`CoursePlugin` once (every lesson's conftest imports this hook)."""
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(CoursePlugin(config), PLUGIN_NAME)
