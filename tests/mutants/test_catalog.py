"""Every listed mutant loses points with a message naming its bug; every alternative scores full marks.

The reference and the untouched starter of each lesson are graded in the same run: the
reference must score full marks and the starter zero (docs/README.md, "Points").
"""

from __future__ import annotations

import re

import pytest

from autograder.lessons import lesson_by_number
from tests.helpers import (failed_outputs, grade_sources, lesson_score, reference_source,
                           starter_source)
from tests.mutants.catalog import LESSON_NUMBERS, all_alternatives, all_mutants

MUTANTS = all_mutants()
ALTERNATIVES = all_alternatives()
_graded: dict[int, dict[str, dict]] = {}


@pytest.fixture(scope="session")
def graded_lesson(tmp_path_factory):
    """Grade reference, starter, mutants and alternatives of a lesson in one run (cached)."""
    def get(number: int) -> dict[str, dict]:
        if number not in _graded:
            subs = {"reference": {number: reference_source(number)},
                    "starter": {number: starter_source(number)}}
            subs.update({m.id: {number: m.source()} for m in MUTANTS if m.lesson == number})
            subs.update({a_id: {number: path.read_text()} for a_id, lesson, path in ALTERNATIVES
                         if lesson == number})
            _graded[number] = grade_sources(tmp_path_factory.mktemp(f"lesson{number}"), subs,
                                            lessons=str(number))
        return _graded[number]
    return get


def available_lessons() -> list[int]:
    from autograder.lessons import SOLUTIONS_DIR
    return [n for n in LESSON_NUMBERS
            if (SOLUTIONS_DIR / lesson_by_number(n).folder / lesson_by_number(n).student_file).exists()]


@pytest.mark.parametrize("number", available_lessons(), ids=lambda n: f"lesson{n}")
def test_reference_full_marks_and_starter_zero(graded_lesson, number):
    results = graded_lesson(number)
    points = lesson_by_number(number).points
    assert lesson_score(results["reference"], number) == points, failed_outputs(results["reference"], number)
    assert lesson_score(results["starter"], number) == 0
    assert "not implemented" in failed_outputs(results["starter"], number).lower()


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_mutant_is_caught_with_a_message_naming_the_bug(graded_lesson, mutant):
    results = graded_lesson(mutant.lesson)[mutant.id]
    points = lesson_by_number(mutant.lesson).points
    assert lesson_score(results, mutant.lesson) < points, f"{mutant.id} ({mutant.description}) scored full marks"
    feedback = failed_outputs(results, mutant.lesson)
    assert re.search(mutant.message, feedback, re.IGNORECASE | re.DOTALL), (
        f"{mutant.id} lost points, but no feedback names its bug (wanted /{mutant.message}/):\n{feedback}")


@pytest.mark.parametrize("alternative", ALTERNATIVES, ids=[a[0] for a in ALTERNATIVES])
def test_correct_alternative_scores_full_marks(graded_lesson, alternative):
    alt_id, number, _ = alternative
    results = graded_lesson(number)[alt_id]
    assert lesson_score(results, number) == lesson_by_number(number).points, failed_outputs(results, number)
