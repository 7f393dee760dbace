"""The tasks of a released lesson, as the Classroom check credits them: id, title and points.

Nothing here is listed by hand; each fact has one source:

- **which tasks**: the task markers of the lesson's public tests (``@task("2.1")`` from
  :func:`coursekit.testing.task`, read from the imported test functions' ``task_id``);
- **the title**: the ``Tasks`` table of the starter's docstring
  (``2.1  Encoder          2.2  Decoder``), the list a student reads at the top of the file;
- **the points**: the task's points in the grade, the sum of the ``@graded`` points of the
  hidden suite's tests of that task (:func:`autograder.suite.load_suite`). So each task step
  of the Classroom check is worth what the task is worth in the grade, the steps of a lesson
  add up to the lesson's points and the whole check to the course total; a task earns its
  points in Classroom when *all* its public tests pass.

The three must agree: a task with public tests but no title or no graded points, or graded
points but no public test (Classroom could never award them), is a :class:`TaskListError`.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.lessons import ASSIGNMENTS_DIR, Lesson
from autograder.suite import load_suite

# "2.1  Encoder          2.2  Decoder": an id, then its title up to two spaces before the next id.
_TITLE = re.compile(r"(\d+\.\d+)\s+(.+?)(?=\s{2,}\d+\.\d+\s|\s*$)")
_TASKS_HEADING = re.compile(r"^Tasks\b")


class TaskListError(ValueError):
    """The public tests, the starter's task table and the hidden suite disagree on a lesson's tasks."""


@dataclass(frozen=True)
class Task:
    """One task of a lesson as the Classroom check credits it."""

    lesson: Lesson
    id: str
    title: str
    points: int

    @property
    def heading(self) -> str:
        """``Task 2.1 — Encoder``: the step's title in the Actions log, the student's checklist."""
        return f"Task {self.id} — {self.title}"

    @property
    def step_id(self) -> str:
        """``task2_1``: a step id whose capitalised form starts a valid variable name."""
        return "task" + self.id.replace(".", "_")


def _order(task_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in task_id.split("."))


def task_titles(starter: Path) -> dict[str, str]:
    """``{"2.1": "Encoder", ...}`` from the ``Tasks`` table of the starter's module docstring."""
    docstring = ast.get_docstring(ast.parse(starter.read_text(encoding="utf-8"))) or ""
    titles: dict[str, str] = {}
    in_table = False
    for line in docstring.splitlines():
        if _TASKS_HEADING.match(line):
            in_table = True
        elif in_table and line.strip():
            titles.update(_TITLE.findall(line.strip()))
        elif in_table:
            break
    return titles


def public_test_tasks(tests_dir: Path) -> list[str]:
    """The task ids the public tests in ``tests_dir`` are marked with, in task order."""
    found: set[str] = set()
    for path in sorted(tests_dir.glob("test_*.py")):
        name = f"_gf_public_tests_{tests_dir.parent.name.replace('-', '_')}_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None, path
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        finally:
            sys.modules.pop(name, None)
        found |= {str(fn.task_id) for fn in vars(module).values()
                  if callable(fn) and getattr(fn, "task_id", None) is not None}
    return sorted(found, key=_order)


def graded_points(lesson: Lesson) -> dict[str, float]:
    """``{"2.1": 3.0, ...}``: each task's points in the grade (its hidden tests' points)."""
    points: dict[str, float] = {}
    for test in load_suite(lesson):
        points[test.task] = points.get(test.task, 0.0) + test.points
    return points


def lesson_tasks(lesson: Lesson, assignments: Path = ASSIGNMENTS_DIR) -> tuple[Task, ...]:
    """The lesson's tasks, in order; raises :class:`TaskListError` when the sources disagree."""
    folder = Path(assignments) / lesson.folder
    ids = public_test_tasks(folder / "tests")
    titles = task_titles(folder / lesson.student_file)
    points = graded_points(lesson)
    problems = [f"task {i} has public tests but no line in the Tasks table of {lesson.student_file}'s docstring"
                for i in ids if i not in titles]
    problems += [f"task {i} has public tests but no points in the hidden suite {lesson.suite_module}"
                 for i in ids if i not in points]
    problems += [f"task {i} is worth {points[i]:g} points in the grade but has no public test, "
                 "so the Classroom check could never award them" for i in points if i not in ids]
    problems += [f"task {i} is worth {points[i]:g} points: GitHub Classroom's command grader takes "
                 "whole points only" for i in ids if i in points and points[i] != int(points[i])]
    if problems:
        raise TaskListError(f"lesson {lesson.number}: " + "; ".join(problems))
    return tuple(Task(lesson, i, titles[i], int(points[i])) for i in ids)
