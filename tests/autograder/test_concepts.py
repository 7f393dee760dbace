"""Concept questions: each suite's ``QUESTIONS`` key is the one source of its graded tests."""

from __future__ import annotations

import importlib
import inspect

import pytest

from autograder.concepts import Question, graded_questions
from autograder.lessons import LESSONS
from autograder.suite import load_suite


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: f"lesson{lesson.number}")
def test_one_graded_test_per_question_in_the_order_of_the_key(lesson):
    questions = importlib.import_module(lesson.suite_module).QUESTIONS
    tests = load_suite(lesson)
    declared = [t for t in tests if t.id in {q.test for q in questions.values()}]
    assert [t.id for t in declared] == [q.test for q in questions.values()]
    assert [t.name for t in declared] == [f"{name}: {q.title}" for name, q in questions.items()]
    first = tests.index(declared[0])
    assert tests[first:first + len(declared)] == declared, "a suite's concept tests stand together"


def test_the_tests_stand_at_the_declaring_line_and_judge_the_answer():
    questions = {"Q1": Question("B", "the idea", test="q1_idea", title="an idea"),
                 "Q2": Question(2, "count", tolerance=0.5, test="q2_count", title="a count")}
    tests = graded_questions(questions, task="9.1", points=0.5, filename="f.py")
    line = inspect.currentframe().f_lineno - 1
    assert list(tests) == ["q1_idea", "q2_count"]
    assert [t.graded.position for t in tests.values()] == [(line, 0), (line, 1)]
    assert tests["q1_idea"].__module__ == __name__ and tests["q1_idea"].graded.points == 0.5

    class Answers:
        Q1, Q2 = " b ", 2.4

    tests["q1_idea"](Answers, None)
    tests["q2_count"](Answers, None)
    Answers.Q1 = "C"
    with pytest.raises(AssertionError, match="Q1: 'C' is not the best answer. the idea"):
        tests["q1_idea"](Answers, None)
