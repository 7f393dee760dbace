"""Hidden suites: how a graded test is declared, and how a lesson's suite is loaded.

A hidden suite is a module ``autograder/suites/lessonN.py`` of plain functions::

    @graded(points=2, task="2.1", name="Encoder maps (B, 1, 28, 28) to (B, latent_dim)")
    def encoder_shapes(student, harness):
        ...

Each function receives the ``student`` and ``harness`` handles (see :mod:`coursekit.testing`)
and fails by raising ``AssertionError`` with a message written for the student. Points are
all-or-nothing per test; a suite's points must add up to its lesson's points in the lesson registry.

Work that several tests need (one training run judged against two bars, say) is written once
as a :func:`shared` function: the first test that calls it pays for it, the others reuse it.
Work that every submission needs the same way (reading the data) goes in an optional
module-level ``prepare()``, which a bulk run calls once while its sandbox starts.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable

from autograder.lessons import Lesson

DEFAULT_TEST_TIMEOUT = 20.0


class SuiteError(Exception):
    """A hidden suite that is inconsistent with the contract (a bug in the grader, not the student)."""


@dataclass(frozen=True)
class GradedTest:
    """One graded check: the function, what it is worth and which task it belongs to.

    ``position`` is (line, index) of its declaration in the suite: the line of a ``@graded``
    function (index 0), or of a call declaring several tests at once, such as
    :func:`autograder.concepts.graded_questions` (index: the test's place in that call). Tests run,
    and feedback lists them, in this order; the pytest front end reports the line.
    """

    fn: Callable[..., Any]
    name: str
    points: float
    task: str
    timeout: float
    position: tuple[int, int]

    @property
    def id(self) -> str:
        return self.fn.__name__


def graded(points: float, task: str, name: str | None = None, timeout: float = DEFAULT_TEST_TIMEOUT,
           position: tuple[int, int] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a hidden test worth ``points`` for ``task`` (e.g. ``"3.2"``), placed at ``position``
    (default: the function's own line, see :class:`GradedTest`)."""
    def declare(fn: Callable[..., Any]) -> Callable[..., Any]:
        doc = (fn.__doc__ or "").strip().splitlines()
        fn.graded = GradedTest(fn=fn, name=name or (doc[0] if doc else fn.__name__.replace("_", " ")),
                               points=points, task=task, timeout=timeout,
                               position=position or (fn.__code__.co_firstlineno, 0))
        return fn
    return declare


def shared(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Run ``fn(student, harness)`` once per worker; later calls get the same value back, or
    the same exception raised again (each test then fails with the same explanation).

    The results live with the worker's connection: a test that runs after the worker was
    replaced (it crashed or ran out of time) computes afresh, never touching objects of a dead
    worker. Every test starts from the same seed, so which test computes first does not change
    the value. Plain modules (public tests run in-process) share nothing.
    """
    @functools.wraps(fn)
    def once(student: Any, harness: Any) -> Any:
        from autograder.proxy import shared_results
        store = shared_results(student)
        if store is None:
            return fn(student, harness)
        key = f"{fn.__module__}.{fn.__qualname__}"
        if key not in store:
            try:
                store[key] = (True, fn(student, harness))
            except Exception as exc:  # noqa: BLE001 - re-raised below, and for later tests too
                store[key] = (False, exc)
        ok, value = store[key]
        if ok:
            return value
        raise value
    return once


def load_suite(lesson: Lesson) -> list[GradedTest]:
    """The lesson's graded tests in the order they are written; checks the points add up."""
    module = importlib.import_module(lesson.suite_module)
    tests = [obj.graded for _, obj in inspect.getmembers(module, inspect.isfunction)
             if isinstance(getattr(obj, "graded", None), GradedTest)
             and obj.__module__ == module.__name__]
    tests.sort(key=lambda t: t.position)
    total = sum(t.points for t in tests)
    if abs(total - lesson.points) > 1e-9:
        raise SuiteError(f"the lesson {lesson.number} suite is worth {total} points, "
                         f"but the lesson registry (autograder/lessons.py) gives the lesson {lesson.points}")
    return tests


def prepare_suites(lessons: tuple[Lesson, ...]) -> None:
    """Call each lesson suite's optional ``prepare()`` (see the module docstring). A failure is
    ignored here: the tests that need what it prepares meet the same error and report it."""
    for lesson in lessons:
        prepare = getattr(importlib.import_module(lesson.suite_module), "prepare", None)
        if callable(prepare):
            try:
                prepare()
            except Exception:  # noqa: BLE001 - reported by the tests themselves
                pass
