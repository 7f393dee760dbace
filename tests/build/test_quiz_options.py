"""Multiple-choice answers cannot be guessed from the options' length or position.

Generic over every lesson: each answer constant of a solution file whose value is a letter
(``Q3 = "B"  # SOLUTION``) is a multiple-choice question whose options are the comment lines
``#   A) ...`` (with their indented continuation lines) just above it. Bounds:

- the right option is at most ``MAX_LENGTH_RATIO`` times as long as the longest wrong one;
- in a lesson, the right option is the longest of its question in at most half the questions,
  and no letter is right in more than half of them (with at least ``MIN_QUESTIONS`` questions).
"""

from __future__ import annotations

import ast
import re

import pytest

from autograder.build.constants import ASSIGNMENT, MARKED
from autograder.lessons import LESSONS, SOLUTIONS_DIR

MAX_LENGTH_RATIO = 1.15
MIN_QUESTIONS = 4
OPTION = re.compile(r"^#\s+(?P<letter>[A-H])\) (?P<text>.*)$")
CONTINUATION = re.compile(r"^#\s{4,}(?P<text>\S.*)$")


def multiple_choice(source: str) -> dict[str, tuple[str, dict[str, str]]]:
    """name -> (right letter, {letter: option text}) for every letter-valued answer constant."""
    lines = source.splitlines()
    found = {}
    for index, line in enumerate(lines):
        if not MARKED.match(line):
            continue
        assignment = ASSIGNMENT.match(line[:line.rindex("#")].rstrip())
        value = ast.literal_eval(assignment.group("value"))
        if not (isinstance(value, str) and re.fullmatch(r"[A-H]", value)):
            continue
        options: dict[str, str] = {}
        current = None
        start = index - 1
        while start >= 0 and lines[start].startswith("#"):
            start -= 1
        for comment in lines[start + 1:index]:
            option = OPTION.match(comment)
            if option:
                current = option.group("letter")
                options[current] = option.group("text").strip()
            elif current and CONTINUATION.match(comment):
                options[current] += " " + CONTINUATION.match(comment).group("text").strip()
        found[assignment.group("target").split("=")[0].split(":")[0].strip()] = (value, options)
    return found


QUIZZES = {lesson.folder: multiple_choice((SOLUTIONS_DIR / lesson.folder / lesson.student_file).read_text())
           for lesson in LESSONS if (SOLUTIONS_DIR / lesson.folder / lesson.student_file).exists()}
WITH_QUIZ = [folder for folder, quiz in QUIZZES.items() if quiz]


def test_lesson_one_has_a_quiz_to_check():
    assert len(QUIZZES["01-from-classification-to-generation"]) >= MIN_QUESTIONS


@pytest.mark.parametrize("folder", WITH_QUIZ)
def test_right_option_is_not_the_long_one(folder):
    longest = 0
    for name, (right, options) in QUIZZES[folder].items():
        assert right in options and len(options) >= 3, (
            f"{folder}: {name}'s options must be comment lines '#   A) ...' just above it; found {sorted(options)}")
        wrong = max(len(text) for letter, text in options.items() if letter != right)
        assert len(options[right]) <= MAX_LENGTH_RATIO * wrong, (
            f"{folder}: {name}'s right option ({len(options[right])} characters) is longer than "
            f"{MAX_LENGTH_RATIO} x its longest wrong one ({wrong}): it can be guessed by length")
        longest += len(options[right]) > wrong
    questions = len(QUIZZES[folder])
    if questions >= MIN_QUESTIONS:
        assert longest <= questions / 2, f"{folder}: the right option is the longest in {longest} of {questions}"


@pytest.mark.parametrize("folder", WITH_QUIZ)
def test_right_letters_are_spread(folder):
    letters = [right for right, _ in QUIZZES[folder].values()]
    if len(letters) >= MIN_QUESTIONS:
        most = max(letters.count(letter) for letter in set(letters))
        assert most <= len(letters) / 2, f"{folder}: answers {letters} favour one position"
