"""The right option of a concept question cannot be guessed by its length or its position.

The questions live as comments in each lesson's reference student file::

    # Q2. Question text ...
    #       A) option text, possibly continued
    #          on the next line
    Q2 = "D"  # SOLUTION

This test reads them back and bounds, per lesson, how often the right option is the longest
and how much longer than the wrong ones it may be, and how often one letter is the answer.
"""

from __future__ import annotations

import math
import re

import pytest

from autograder.lessons import SOLUTIONS_DIR, lesson_by_number

QUESTION = re.compile(r"^# (Q\d+)\. ")
OPTION = re.compile(r"^#\s+([A-D])\) (.*)$")
CONTINUATION = re.compile(r"^#\s{6,}(\S.*)$")
ANSWER = re.compile(r'^(Q\d+)\s*=\s*"([A-D])"\s*#\s*SOLUTION\s*$')
# The right option may be at most this much longer than the mean of the wrong ones ...
MAX_LENGTH_RATIO = 1.2
# ... and the longest option in at most this share of a lesson's questions (chance is 1/4).
MAX_LONGEST_SHARE = 1 / 3
# No letter answers more than this share of a lesson's questions.
MAX_LETTER_SHARE = 1 / 2
LESSONS = (2, 3)   # lesson 1's questions are bounded by its own test


def concept_questions(number: int) -> dict[str, tuple[str, dict[str, str]]]:
    """``{name: (answer letter, {letter: option text})}`` for lesson ``number``'s multiple-choice questions."""
    lesson = lesson_by_number(number)
    lines = (SOLUTIONS_DIR / lesson.folder / lesson.student_file).read_text(encoding="utf-8").splitlines()
    options: dict[str, dict[str, str]] = {}
    answers: dict[str, str] = {}
    name = letter = None
    for line in lines:
        if (match := QUESTION.match(line)):
            name, letter = match.group(1), None
            options[name] = {}
        elif name and (match := OPTION.match(line)):
            letter = match.group(1)
            options[name][letter] = match.group(2).strip()
        elif name and letter and (match := CONTINUATION.match(line)):
            options[name][letter] += " " + match.group(1).strip()
        elif (match := ANSWER.match(line)):
            answers[match.group(1)] = match.group(2)
            name = letter = None
    return {q: (answers[q], opts) for q, opts in options.items() if q in answers and opts}


@pytest.mark.parametrize("number", LESSONS)
def test_every_question_has_four_options_and_an_answer(number):
    questions = concept_questions(number)
    assert len(questions) >= 3
    for name, (answer, opts) in questions.items():
        assert sorted(opts) == ["A", "B", "C", "D"], f"lesson {number} {name}: options {sorted(opts)}"
        assert answer in opts


@pytest.mark.parametrize("number", LESSONS)
def test_the_right_option_is_not_given_away_by_its_length(number):
    questions = concept_questions(number)
    longest = 0
    for name, (answer, opts) in questions.items():
        wrong = [len(text) for letter, text in opts.items() if letter != answer]
        right = len(opts[answer])
        assert right <= MAX_LENGTH_RATIO * sum(wrong) / len(wrong), (
            f"lesson {number} {name}: the right option has {right} characters, the wrong ones {wrong}")
        longest += right > max(wrong)
    assert longest <= max(1, math.floor(MAX_LONGEST_SHARE * len(questions))), (
        f"lesson {number}: the right option is the longest in {longest} of {len(questions)} questions")


@pytest.mark.parametrize("number", LESSONS)
def test_the_right_option_is_not_given_away_by_its_position(number):
    letters = [answer for answer, _ in concept_questions(number).values()]
    most = max(letters.count(letter) for letter in set(letters))
    assert most <= math.ceil(MAX_LETTER_SHARE * len(letters)) and len(set(letters)) > 1, (
        f"lesson {number}: answers {letters}")
