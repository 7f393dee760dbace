"""The lesson registry: the one list of lessons, their folders, files and points.

Everything else that lists lessons derives from :data:`LESSONS` (the build, the grader, the
release, the tests, ``docs/lessons.md``); CONTRIBUTING.md walks through adding one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = REPO_ROOT / "solutions"
ASSIGNMENTS_DIR = REPO_ROOT / "assignments"
SUITES_DIR = REPO_ROOT / "autograder" / "suites"


@dataclass(frozen=True)
class Lesson:
    """One lesson: where its files live and what it is worth."""

    number: int
    slug: str
    student_file: str
    notebook: str | None
    points: int

    @property
    def folder(self) -> str:
        """The lesson folder name, e.g. ``02-autoencoders``."""
        return f"{self.number:02d}-{self.slug}"

    @property
    def relative_path(self) -> str:
        """The student file by its lesson path, e.g. ``02-autoencoders/autoencoder.py``."""
        return f"{self.folder}/{self.student_file}"

    @property
    def module_name(self) -> str:
        return Path(self.student_file).stem

    @property
    def suite_module(self) -> str:
        """The hidden suite's import path (loaded only by the trusted grader)."""
        return f"autograder.suites.lesson{self.number}"

    @property
    def suite_path(self) -> Path:
        """The hidden suite's file, ``autograder/suites/lessonN.py``."""
        return SUITES_DIR / f"lesson{self.number}.py"

    @property
    def key(self) -> str:
        """The column name used in grades.csv, e.g. ``lesson2``."""
        return f"lesson{self.number}"


LESSONS: tuple[Lesson, ...] = (
    Lesson(1, "from-classification-to-generation", "concept_check.py", None, 10),
    Lesson(2, "autoencoders", "autoencoder.py", "autoencoders.ipynb", 30),
    Lesson(3, "variational-autoencoders", "vae.py", "variational_autoencoders.ipynb", 35),
    Lesson(4, "exploring-latent-spaces", "latent.py", "exploring_latent_spaces.ipynb", 25),
)
TOTAL_POINTS = sum(lesson.points for lesson in LESSONS)


def lesson_by_number(number: int) -> Lesson:
    for lesson in LESSONS:
        if lesson.number == number:
            return lesson
    raise KeyError(f"there is no lesson {number}; lessons are "
                   + ", ".join(str(l.number) for l in LESSONS))


def parse_lesson_list(text: str | None) -> tuple[Lesson, ...]:
    """``"2,3"`` -> lessons 2 and 3; ``None`` or ``""`` -> all lessons."""
    if not text:
        return LESSONS
    numbers = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit():
            raise ValueError(f"lesson numbers must be integers, got {part!r}")
        numbers.append(int(part))
    return tuple(lesson_by_number(n) for n in sorted(set(numbers)))
