"""Concept questions: the answer key's entries and the check that turns an answer into feedback.

A lesson's student file holds its answers as module-level constants (``Q3 = "A"  # SOLUTION`` in
the reference, ``Q3 = None`` in the starter, see :mod:`autograder.build.constants`); its hidden
suite holds a ``QUESTIONS`` dict of :class:`Question` and one ``@graded`` test per question that
calls :func:`check_answer`. A wrong answer gets the idea behind the question, never the letter.
"""

from __future__ import annotations

from dataclasses import dataclass

from coursekit.testing import is_exception_of

LETTERS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Question:
    """One concept question: its answer and, for a wrong answer, the idea behind it."""

    answer: str | float
    explanation: str
    tolerance: float = 0.0  # how far a numeric answer may be from ``answer`` (the question says)

    @property
    def numeric(self) -> bool:
        return not isinstance(self.answer, str)


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
        kind = "a number" if question.numeric else "one of the letters " + ", ".join(LETTERS)
        raise AssertionError(f"{name} is not answered yet: it is still None. Replace None with {kind}.")
    if question.numeric:
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (
            f"{name} is a numeric question: the answer should be a number, not {value!r}.")
        assert abs(float(value) - float(question.answer)) <= question.tolerance, (
            f"{name}: {value!r} is not right. {question.explanation}")
        return
    assert isinstance(value, str) and value.strip().upper() in LETTERS, (
        f"{name} should be one of the letters {', '.join(LETTERS)} (a string such as \"A\"), "
        f"but it is {value!r}.")
    assert value.strip().upper() == question.answer, (
        f"{name}: {value!r} is not the best answer. {question.explanation}")
