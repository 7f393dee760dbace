"""Runs a lesson's hidden suite against one student file, in sandboxed workers.

The trusted side (this module and the suites) decides every score; student code runs only in
the worker. A worker that dies is replaced for the next test while the lesson has time left; a
lesson whose file cannot even be imported gets that one reason on every test.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from autograder import protocol
from autograder.lessons import Lesson
from autograder.proxy import StudentError, WorkerClient, WorkerLost
from autograder.sandbox import SandboxError
from autograder.seeds import LessonSeeds, lesson_seeds
from autograder.suite import GradedTest, load_suite
from autograder.turns import clock, test_turn
from coursekit.testing import is_not_implemented

MAX_RESPAWNS = 3
IMPORT_TIMEOUT = 30.0


class WorkerLike(Protocol):
    client: WorkerClient
    module_path: Path

    def kill(self) -> None: ...


Spawner = Callable[[Path], WorkerLike]


@dataclass
class TestResult:
    """The outcome of one graded test (one entry of Gradescope's ``tests``)."""

    name: str
    task: str
    test_id: str
    max_score: float
    score: float
    status: str  # "passed", "failed", "timeout", "error"
    output: str = ""


@dataclass
class LessonResult:
    """A lesson's tests and how its grading went (``status``: ok, error or timeout)."""

    lesson: Lesson
    tests: list[TestResult] = field(default_factory=list)
    status: str = "ok"
    message: str = ""
    seeds: LessonSeeds | None = None

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)


def failed_lesson(lesson: Lesson, tests: list[GradedTest], message: str, status: str = "error") -> LessonResult:
    """Every test of the lesson failed for one reason (missing file, import error, ...)."""
    result = LessonResult(lesson, status=status, message=message)
    for test in tests:
        result.tests.append(TestResult(test.name, test.task, test.id, test.points, 0.0, status, message))
    return result


def explain_student_error(exc: StudentError, test: GradedTest) -> str:
    """Feedback for an exception raised by the student's code."""
    if is_not_implemented(exc):
        return (f"Task {test.task} is not implemented yet: your code raised NotImplementedError"
                f"{' (' + exc.message + ')' if exc.message else ''}. Replace the `raise` with your code.")
    tail = "\n".join(exc.traceback.strip().splitlines()[-8:])
    return f"Your code raised {exc.type_name}: {exc.message}\n\n```\n{tail}\n```"


def run_test(test: GradedTest, client: WorkerClient, lesson_deadline: float, seeds: LessonSeeds) -> TestResult:
    """Run one graded test through ``client``, the trusted side and the worker seeded with
    ``seeds``; never raises for anything the student did."""
    client.deadline = min(lesson_deadline, clock() + test.timeout)
    status, output = "failed", ""
    try:
        with test_turn(seeds.grader):  # torch's generator is seeded for this test alone (turns.py)
            client.seed(seeds.worker)
            test.fn(student=client.student(), harness=client.harness())
        status = "passed"
    except AssertionError as exc:
        output = str(exc) or "The check failed."
    except StudentError as exc:
        output = explain_student_error(exc, test)
    except protocol.RejectedValue as exc:
        output = f"Your code returned something the grader cannot accept: {exc}."
    except protocol.ProtocolError as exc:
        status, output = "error", f"The grader could not read what your code returned: {exc}."
    except WorkerLost:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. a comparison with an unexpected type
        where = traceback.extract_tb(exc.__traceback__)[-1]
        output = (f"Your result could not be checked ({type(exc).__name__}: {exc}); it is probably "
                  f"of the wrong type or shape. [check: {Path(where.filename).name}:{where.lineno}]")
    score = test.points if status == "passed" else 0.0
    return TestResult(test.name, test.task, test.id, test.points, score, status, output)


def grade_lesson(lesson: Lesson, student_file: Path | None, spawn: Spawner, timeout: float,
                 problem: str = "", tests: list[GradedTest] | None = None, *,
                 secret: bytes) -> LessonResult:
    """Grade one lesson of one submission, with the seeds that ``secret`` and the file's bytes
    give (:mod:`autograder.seeds`). ``problem`` explains a missing/duplicated file; ``tests``
    selects some of the lesson's tests (default: its whole suite)."""
    tests = load_suite(lesson) if tests is None else tests
    if student_file is None:
        return failed_lesson(lesson, tests, problem or f"`{lesson.relative_path}` was not found.")
    seeds = lesson_seeds(secret, lesson.number, student_file.read_bytes())
    deadline = clock() + timeout
    result = LessonResult(lesson, seeds=seeds)
    worker: WorkerLike | None = None
    respawns = 0
    try:
        for index, test in enumerate(tests):
            if worker is None:
                out_of_time = clock() >= deadline
                if respawns > MAX_RESPAWNS or out_of_time:
                    status, reason = (("timeout", "the time allowed for this lesson ran out") if out_of_time
                                      else ("error", "your code crashed the grader's worker too many times"))
                    result.tests += [TestResult(t.name, t.task, t.id, t.points, 0.0, status, f"Not run: {reason}.")
                                     for t in tests[index:]]
                    result.status = status
                    break
                worker, import_problem = _start_worker(lesson, student_file, spawn, deadline)
                respawns += 1
                if import_problem is not None:
                    status, message = import_problem
                    rest = failed_lesson(lesson, tests[index:], message, status)
                    result.tests += rest.tests
                    result.status, result.message = status, message
                    break
            try:
                result.tests.append(run_test(test, worker.client, deadline, seeds))
            except WorkerLost as lost:
                status = "timeout" if lost.timed_out else "error"
                result.tests.append(TestResult(test.name, test.task, test.id, test.points, 0.0,
                                               status, f"Failed: {lost.reason}."))
                if status == "timeout" or result.status == "ok":
                    result.status = status
                worker.kill()
                worker = None
    finally:
        if worker is not None:
            worker.kill()
    return result


def _start_worker(lesson: Lesson, student_file: Path, spawn: Spawner,
                  deadline: float) -> tuple[Any, tuple[str, str] | None]:
    """A worker with the student's module imported, or the reason the import failed."""
    try:
        worker = spawn(student_file)
    except SandboxError as exc:
        return None, ("error", "The grader could not start an isolated worker for this lesson "
                               f"(a problem on the grading machine, not in your code): {exc}")
    worker.client.deadline = min(deadline, clock() + IMPORT_TIMEOUT)
    try:
        worker.client.import_module(str(worker.module_path), lesson.module_name)
    except StudentError as exc:
        tail = "\n".join(exc.traceback.strip().splitlines()[-6:])
        message = (f"`{lesson.student_file}` could not be imported, so no test of this lesson could run. "
                   f"Python said {exc.type_name}: {exc.message}\n\n```\n{tail}\n```")
        return worker, ("error", message)
    except WorkerLost as lost:
        status = "timeout" if lost.timed_out else "error"
        return worker, (status, f"Importing `{lesson.student_file}` failed: {lost.reason}.")
    except protocol.ProtocolError as exc:
        return worker, ("error", f"Importing `{lesson.student_file}` failed: {exc}.")
    return worker, None
