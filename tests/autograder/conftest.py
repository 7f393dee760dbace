"""Fixtures shared by the grading tests."""

from __future__ import annotations

import pytest

from autograder import grade
from autograder.lessons import lesson_by_number
from autograder.report import SubmissionResult
from autograder.runner import LessonResult

L2 = lesson_by_number(2)


class FakeSandbox:
    """Stands in for the sandbox when grading itself is faked (nothing is ever spawned)."""

    def __init__(self, **kwargs):
        pass

    def describe(self):
        return "fake sandbox"

    def spawn(self, path):
        raise AssertionError("the fake grade_submission never spawns")

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def fake_grading(tmp_path, monkeypatch):
    """Three students (alice, bob, carol) with a lesson-2 file each, and instant fake grading:
    ``behaviour[name] = "crash"`` makes the grader fail on that submission, ``"interrupt"``
    stops the run there (as Ctrl-C would); any other submission gets an empty result.
    Returns ``(folder, behaviour)``."""
    import autograder.sandbox
    monkeypatch.setattr(autograder.sandbox, "Sandbox", FakeSandbox)
    behaviour: dict[str, str] = {}

    def grade_submission(path, lessons, spawn, timeout, *, name, key, **kwargs):
        if behaviour.get(name) == "crash":
            raise RuntimeError("the fork server stopped")
        if behaviour.get(name) == "interrupt":
            raise KeyboardInterrupt
        return SubmissionResult(name=name, lessons=[LessonResult(L2)], fingerprint=key)

    monkeypatch.setattr(grade, "grade_submission", grade_submission)
    folder = tmp_path / "subs"
    for name in ("alice", "bob", "carol"):
        (folder / name / L2.folder).mkdir(parents=True)
        (folder / name / L2.folder / L2.student_file).write_text(f"# {name}\n")
    return folder, behaviour
