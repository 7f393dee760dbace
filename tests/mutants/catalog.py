"""The mutant catalog: realistic single-bug variants of the reference solutions.

Each lesson's mutants live in ``tests/mutants/lessonN.py`` as a ``MUTANTS`` list. A mutant is
the reference file with one textual replacement (``old`` must occur exactly once). The
catalog test grades every mutant and requires that it loses points in its lesson and that a
failed test's feedback matches ``message`` (a case-insensitive regular expression naming the
bug), so a student with that bug is told what it is.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from autograder.lessons import LESSONS, SOLUTIONS_DIR, lesson_by_number

LESSON_NUMBERS = tuple(lesson.number for lesson in LESSONS)


@dataclass(frozen=True)
class Mutant:
    """One bug: ``old`` -> ``new`` in lesson ``lesson``'s reference file."""

    id: str
    lesson: int
    description: str
    misconception: str
    old: str
    new: str
    message: str

    def source(self) -> str:
        lesson = lesson_by_number(self.lesson)
        text = (SOLUTIONS_DIR / lesson.folder / lesson.student_file).read_text(encoding="utf-8")
        count = text.count(self.old)
        if count != 1:
            raise ValueError(f"mutant {self.id}: the text to replace occurs {count} times (must be 1)")
        return text.replace(self.old, self.new)


def all_mutants() -> list[Mutant]:
    mutants: list[Mutant] = []
    for number in LESSON_NUMBERS:
        try:
            module = importlib.import_module(f"tests.mutants.lesson{number}")
        except ModuleNotFoundError:
            continue
        mutants += module.MUTANTS
    return mutants


ALTERNATIVES_DIR = Path(__file__).resolve().parent.parent / "alternatives"


def all_alternatives() -> list[tuple[str, int, Path]]:
    """``(id, lesson, file)`` for each correct alternative ``tests/alternatives/lessonN_<name>.py``."""
    found = []
    for path in sorted(ALTERNATIVES_DIR.glob("lesson*_*.py")):
        number = path.stem.split("_", 1)[0].removeprefix("lesson")
        if number.isdigit():
            found.append((path.stem, int(number), path))
    return found
