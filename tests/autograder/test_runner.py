"""The runner's statuses come from what happened, not from the wording of a message."""

from __future__ import annotations

from pathlib import Path

from autograder.lessons import lesson_by_number
from autograder.proxy import WorkerLost
from autograder.runner import MAX_RESPAWNS, grade_lesson


class _CrashingStudent:
    """Every use of the student module loses the worker, as a segfault in student code would."""

    def __getattr__(self, name: str):
        raise WorkerLost("the process running your code died (it exited, crashed, or hit a limit)")


class _CrashingClient:
    deadline = 0.0

    def import_module(self, path: str, name: str) -> None:
        """The import itself succeeds; the crash comes with the first call."""

    def seed(self, seed: int) -> None:
        pass

    def student(self) -> _CrashingStudent:
        return _CrashingStudent()

    def harness(self) -> None:
        return None


class _CrashingWorker:
    def __init__(self, student_file: Path) -> None:
        self.client = _CrashingClient()
        self.module_path = student_file
        self.killed = False

    def kill(self) -> None:
        self.killed = True


def test_a_worker_that_always_crashes_is_an_error_not_a_timeout(tmp_path):
    lesson = lesson_by_number(1)
    student_file = tmp_path / lesson.student_file
    student_file.write_text("Q1 = None\n")
    spawned: list[_CrashingWorker] = []

    def spawn(path: Path) -> _CrashingWorker:
        spawned.append(_CrashingWorker(path))
        return spawned[-1]

    result = grade_lesson(lesson, student_file, spawn, timeout=60.0, secret=b"test")
    assert result.status == "error"
    assert {t.status for t in result.tests} == {"error"}
    assert "crashed the grader's worker too many times" in result.tests[-1].output
    assert len(spawned) == MAX_RESPAWNS + 1 and all(w.killed for w in spawned)
    assert result.score == 0
