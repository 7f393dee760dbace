"""A pytest front end for the hidden suites, for an instructor debugging a test.

    pytest autograder/suites/lesson3.py --submission DIR_OR_ZIP [-k NAME] [-x] [-v]
    pytest autograder/suites --submission DIR_OR_ZIP          # every lesson

collects the suite's ``@graded`` functions (no second copy: the same functions the bulk grader
runs) and grades them against the submission's lesson file exactly as ``python -m autograder
grade`` does: the file is found the same way (:func:`autograder.submission.locate`), and the
selected tests go through :func:`autograder.runner.grade_lesson` in sandboxed workers, with the
runner's lesson deadline (``--lesson-timeout``, default the grader's) and its worker
replacement. Student code never runs in the pytest process. Each test passes or fails with the
feedback the student would read; the summary lists each test's points and the total.

The lesson is graded once, at its first selected test (the tests share a worker, as in a bulk
run); each pytest item then reports its own result. ``-k`` matches a test's function name or
``task_N_M``. The hooks are loaded by ``autograder/suites/conftest.py``. The seeds come from
``$GF_GRADER_SECRET`` (set it to a bulk run's ``DIR/.grader-secret`` to reproduce that run's
result), else from a fresh random secret (:mod:`autograder.seeds`).
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from autograder.lessons import SOLUTIONS_DIR, SUITES_DIR, Lesson, lesson_by_number
from autograder.suite import GradedTest, load_suite

SUITE_FILE = re.compile(r"lesson\d+\.py")
RESULTS = pytest.StashKey[dict[int, dict[str, Any]]]()  # lesson -> test id -> TestResult
_SUMMARY = pytest.StashKey[list[Any]]()  # the LessonResults, in the order graded


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hidden suites", "grading one submission with a hidden suite")
    group.addoption("--submission", metavar="DIR_OR_ZIP", default=None,
                    help="the submission (folder or zip) to grade with the hidden suites given as arguments")
    group.addoption("--lesson-timeout", metavar="SECONDS", type=float, default=None,
                    help="wall-clock seconds for the lesson's selected tests (default: the grader's)")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RESULTS] = {}


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """``pytest autograder/suites`` collects every lesson's suite (pytest's own pattern is test_*.py;
    a suite named on the command line is collected by pytest itself)."""
    if file_path.parent == SUITES_DIR and SUITE_FILE.fullmatch(file_path.name) \
            and not parent.session.isinitpath(file_path):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def _is_graded(obj: object) -> bool:
    return isinstance(getattr(obj, "graded", None), GradedTest)


def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Any:
    if isinstance(collector, pytest.Module) and _is_graded(obj) and SUITE_FILE.fullmatch(collector.path.name):
        return GradedItem.from_parent(collector, name=name)
    return None


class GradedFailure(Exception):
    """A graded test that did not pass: its status, points and the student's feedback."""


class GradedItem(pytest.Item):
    """One ``@graded`` function of a hidden suite, graded in the sandbox."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lesson = lesson_by_number(int(self.path.stem.removeprefix("lesson")))
        self.test: GradedTest = getattr(self.parent.obj, self.name).graded
        self.extra_keyword_matches.add("task_" + self.test.task.replace(".", "_"))

    def runtest(self) -> None:
        result = _lesson_results(self)[self.name]
        self.user_properties += [("points", result.score), ("max_points", result.max_score)]
        if result.status != "passed":
            raise GradedFailure(f"{result.status}: {result.score:g}/{result.max_score:g} points\n\n"
                                f"{result.output}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, GradedFailure):
            return f"{self.test.name} (task {self.test.task})\n{excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return (self.path, self.test.position[0] - 1,
                f"{self.name} [task {self.test.task}, {self.test.points:g} pt]")


def _lesson_results(item: GradedItem) -> dict[str, Any]:
    """The results of the lesson's selected tests, graded at the first request."""
    results = item.config.stash[RESULTS]
    if item.lesson.number not in results:
        selected = {other.name for other in item.session.items
                    if isinstance(other, GradedItem) and other.lesson == item.lesson}
        # The suite as the grader loads it (its points checked), narrowed to the selection.
        tests = [test for test in load_suite(item.lesson) if test.id in selected]
        lesson_result = _grade(item.config, item.lesson, tests)
        results[item.lesson.number] = {t.test_id: t for t in lesson_result.tests}
        item.config.stash.setdefault(_SUMMARY, []).append(lesson_result)
    return results[item.lesson.number]


def _grade(config: pytest.Config, lesson: Lesson, tests: list[GradedTest]) -> Any:
    from autograder.grade import DEFAULT_LESSON_TIMEOUT, hidden_paths
    from autograder.runner import grade_lesson
    from autograder.sandbox import Limits, Sandbox
    from autograder.scratch import OwnedFolder
    from autograder.seeds import course_secret
    from autograder.submission import OpenedSubmission, SubmissionError, locate

    option = config.getoption("submission")
    if option is None:
        raise pytest.UsageError("--submission DIR_OR_ZIP is required to run a hidden suite "
                                f"(e.g. --submission {SOLUTIONS_DIR.name} for the reference)")
    submission = Path(option).resolve()
    timeout = config.getoption("lesson_timeout") or DEFAULT_LESSON_TIMEOUT
    with ExitStack() as stack:
        folder = OwnedFolder("gf-pytest-")
        stack.callback(folder.remove)
        scratch = folder.path
        try:
            root = stack.enter_context(OpenedSubmission(submission, scratch))
        except SubmissionError as exc:
            raise pytest.UsageError(f"--submission {option}: {exc}") from None
        located = locate(root, (lesson,))
        sandbox = stack.enter_context(Sandbox(limits=Limits(),
                                              hidden_paths=hidden_paths(scratch, [submission])))
        return grade_lesson(lesson, located.files.get(lesson.number), sandbox.spawn, timeout,
                            located.problems.get(lesson.number, ""), tests=tests,
                            secret=course_secret(None))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    for lesson_result in config.stash.get(_SUMMARY, []):
        got = sum(t.score for t in lesson_result.tests)
        most = sum(t.max_score for t in lesson_result.tests)
        terminalreporter.section(f"lesson {lesson_result.lesson.number}: {got:g}/{most:g} points")
        for t in lesson_result.tests:
            terminalreporter.write_line(f"{t.score:>5g}/{t.max_score:<4g} {t.status:<8} {t.task:<5} {t.name}")
        if lesson_result.message:
            terminalreporter.write_line(lesson_result.message.splitlines()[0])
