"""Concept questions: the answer key, the graded tests it declares, and the check that turns an
answer into feedback.

A lesson's student file holds its answers as module-level constants (``Q3 = "A"  # SOLUTION`` in
the reference, ``Q3 = None`` in the starter, see :mod:`autograder.build.constants`). Its hidden
suite holds the answer key, a ``QUESTIONS`` dict of :class:`Question`, and declares one graded
test per question from it::

    globals().update(graded_questions(QUESTIONS, task="1.1", points=0.5, filename="concept_check.py"))

Each test calls :func:`check_answer`. A wrong answer gets the idea behind the question, never the letter.
"""

from __future__ import annotations

import inspect
from dataclasses import KW_ONLY, dataclass
from typing import Any, Callable

from autograder.suite import graded
from coursekit.testing import expect_answer_form, is_exception_of, unanswered


@dataclass(frozen=True)
class Question:
    """One concept question: its answer, for a wrong answer the idea behind it (a paragraph; its
    line breaks and indentation fold into single spaces), and its graded test (``test``: the
    function's name, the test id in results; ``title``: what the question asks, the test is named
    "Qn: title")."""

    answer: str | float
    explanation: str
    tolerance: float = 0.0  # how far a numeric answer may be from ``answer`` (the question says)
    _: KW_ONLY
    test: str
    title: str

    def __post_init__(self) -> None:
        # The key writes each explanation as an indented paragraph: feedback gets it on one line.
        object.__setattr__(self, "explanation", " ".join(self.explanation.split()))

    @property
    def numeric(self) -> bool:
        return not isinstance(self.answer, str)


def graded_questions(questions: dict[str, Question], *, task: str, points: float,
                     filename: str) -> dict[str, Callable[..., Any]]:
    """One ``@graded`` test per question of ``questions`` (the student answers in ``filename``),
    by function name, for the suite to put among its module's functions.

    The tests take their place in the suite (:attr:`autograder.suite.GradedTest.position`) at the
    line that calls this function, in the order of ``questions``: the caller's frame gives that
    line, since a dict literal does not keep its own.
    """
    caller = inspect.currentframe().f_back  # type: ignore[union-attr]
    module, line = caller.f_globals["__name__"], caller.f_lineno
    tests: dict[str, Callable[..., Any]] = {}
    for index, (name, question) in enumerate(questions.items()):
        check = _answer_check(questions, name, filename)
        check.__name__ = check.__qualname__ = question.test
        check.__module__ = module
        tests[question.test] = graded(points=points, task=task, name=f"{name}: {question.title}",
                                      position=(line, index))(check)
    return tests


def _answer_check(questions: dict[str, Question], name: str, filename: str) -> Callable[[Any, Any], None]:
    def check(student: Any, harness: Any) -> None:
        check_answer(student, questions, name, filename)
    return check


def _read_answer(student, name: str, filename: str):
    try:
        return getattr(student, name)
    except Exception as exc:  # noqa: BLE001 - only a missing constant is turned into feedback
        if is_exception_of(exc, AttributeError):
            raise AssertionError(f"{name} is missing from {filename}: keep the line "
                                 f"`{name} = ...` and put your answer there.") from None
        raise


def check_answer(student, questions: dict[str, Question], name: str, filename: str) -> None:
    """Fail with feedback unless ``student.<name>`` answers ``questions[name]``."""
    question = questions[name]
    value = _read_answer(student, name, filename)
    if value is None:
        raise AssertionError(unanswered(name, question.numeric))
    expect_answer_form(value, name, question.numeric)
    if question.numeric:
        assert abs(float(value) - float(question.answer)) <= question.tolerance, (
            f"{name}: {value!r} is not right. {question.explanation}")
        return
    assert value.strip().upper() == question.answer, (
        f"{name}: {value!r} is not the best answer. {question.explanation}")
