"""Lesson 1's answer key must not reach the starter: every concept answer is ``None`` there.

The answers are marked ``Qn = "B"  # SOLUTION`` in the reference and stripped by
:func:`autograder.build.constants.strip_answer_constants`; this test builds the lesson the way
``python -m autograder build`` does and reads the starter back.
"""

import ast
import inspect
import math

import pytest
import torch

import autograder.build.assignments as assignments
import autograder.build.stripper as stripper
from autograder.build.assignments import build_lesson
from autograder.lessons import SOLUTIONS_DIR, lesson_by_number
from autograder.suites.lesson1 import QUESTIONS

LESSON = lesson_by_number(1)


def _build_strips_answer_constants() -> bool:
    """Whether the build pipeline calls the answer-constant stripper (the hook)."""
    probe = stripper.strip_solutions('Q1 = "A"  # SOLUTION\n')
    return probe == "Q1 = None\n" or "strip_answer_constants" in inspect.getsource(assignments)


def _module_constants(source: str) -> dict[str, object]:
    """``{name: value}`` for the module-level ``NAME = literal`` assignments of ``source``."""
    found: dict[str, object] = {}
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else \
            node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and node.value is not None:
            try:
                found[target.id] = ast.literal_eval(node.value)
            except ValueError:
                found[target.id] = ast.unparse(node.value)
    return found


def test_the_reference_answers_the_questions_of_the_hidden_suite():
    reference = (SOLUTIONS_DIR / LESSON.folder / LESSON.student_file).read_text(encoding="utf-8")
    answered = {name for name, value in _module_constants(reference).items()
                if name.startswith("Q") and name[1:].isdigit() and value is not None}
    assert answered == set(QUESTIONS)


@pytest.mark.xfail(not _build_strips_answer_constants(), strict=False,
                   reason="needs constants hook: strip_answer_constants is not called by the build yet")
def test_the_built_starter_has_no_answers(tmp_path):
    build_lesson(LESSON, tmp_path)
    starter = (tmp_path / LESSON.folder / LESSON.student_file).read_text(encoding="utf-8")
    constants = _module_constants(starter)
    questions = {name: value for name, value in constants.items()
                 if name.startswith("Q") and name[1:].isdigit()}
    assert set(questions) == set(QUESTIONS), "the starter should keep every question's constant"
    leaked = {name: value for name, value in questions.items() if value is not None}
    assert not leaked, f"the lesson 1 starter gives answers away: {leaked}"
    assert "# SOLUTION" not in starter


def test_numeric_answers_match_their_derivation():
    cdf = torch.cumsum(torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64), dim=0)
    assert QUESTIONS["Q4"].answer == int(torch.searchsorted(cdf, torch.tensor(0.35, dtype=torch.float64),
                                                            right=True))
    assert abs(QUESTIONS["Q5"].answer - 784 * math.log10(2)) < 0.01
