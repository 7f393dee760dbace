"""``python -m autograder otter --out DIR``: the Otter-Grader artefacts of every notebook lesson.

For each lesson with a master notebook (``solutions/<lesson>/<notebook>.ipynb``)::

    DIR/<lesson folder>/student/          what students get: the lesson folder of assignments/
                                          (the student notebook made by ``otter assign``, with a
                                          ``grader.check`` cell per question, the starter, the
                                          public tests), byte for byte what ``release`` ships
    DIR/<lesson folder>/autograder.zip    for Gradescope (instructors only: it holds the hidden
                                          tests); grades a student's ``grader.export()`` zip
                                          with the isolated engine (see :mod:`.plugin`)

The student notebooks are not made again here: ``python -m autograder build`` makes them (one
pipeline), and this command refuses to package an ``assignments/`` folder that is out of date.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from autograder.lessons import ASSIGNMENTS_DIR, SOLUTIONS_DIR, Lesson, parse_lesson_list
from autograder.otter.autograder_zip import build_autograder_zip
from autograder.otter.plugin import DEFAULT_TIMEOUT

GENERATED_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", "figures"}
GENERATED_SUFFIXES = {".pyc", ".pt", ".png", ".zip"}
README = """\
# Otter-Grader artefacts

Made by `python -m autograder otter`. For each lesson with a notebook:

- `<lesson>/student/` — what students get (the same files as `python -m autograder release`):
  the notebook with a `grader.check` cell per question, the starter file and the public tests.
  Students work in this folder and finish with the notebook's export cell, which writes a zip
  holding the notebook and the lesson file.
- `<lesson>/autograder.zip` — upload it as the autograder of the lesson's Gradescope
  programming assignment. It holds the hidden tests: never give it to students.

Try a zip locally, without Docker: `otter run -a <lesson>/autograder.zip <export>.zip`
from the repository root. The score comes from the course's isolated engine; the notebook's
own checks never count. See the "Otter / Gradescope" section of the README.
"""


class OtterArtefactError(RuntimeError):
    """The artefacts cannot be made (no notebook lesson, or ``assignments/`` out of date)."""


def notebook_lessons(lessons: tuple[Lesson, ...]) -> tuple[Lesson, ...]:
    """The lessons among ``lessons`` that have a master notebook."""
    return tuple(lesson for lesson in lessons
                 if lesson.notebook and (SOLUTIONS_DIR / lesson.folder / lesson.notebook).is_file())


def check_student_folders(lessons: tuple[Lesson, ...]) -> None:
    """Raise unless ``assignments/`` holds, for each lesson, exactly what ``build`` makes."""
    from autograder.build.assignments import stale_files
    problems = [f"{lesson.folder}: missing (run `python -m autograder build`)" for lesson in lessons
                if not (ASSIGNMENTS_DIR / lesson.folder / str(lesson.notebook)).is_file()]
    if not problems:
        problems = stale_files(lessons=lessons)
    if problems:
        raise OtterArtefactError("assignments/ is out of date; run `python -m autograder build` first:\n  "
                                 + "\n  ".join(problems))


def copy_student_folder(lesson: Lesson, destination: Path) -> Path:
    """``assignments/<lesson>`` without what a notebook run leaves behind (figures, caches)."""
    if destination.exists():
        shutil.rmtree(destination)

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in GENERATED_PARTS or Path(n).suffix in GENERATED_SUFFIXES}

    shutil.copytree(ASSIGNMENTS_DIR / lesson.folder, destination, ignore=ignore)
    return destination


def main(*, out: Path, lessons: str | None = None, timeout: float = DEFAULT_TIMEOUT,
         check_fresh: bool = True, echo: Callable[[str], None] = print) -> list[Path]:
    """Write the Otter artefacts of the selected lessons (default: all) into ``out``.

    ``timeout`` is the time one submission's grading may take on Gradescope (seconds);
    ``check_fresh`` compares ``assignments/`` with a fresh build first. Returns the lesson folders
    written. Raises :class:`OtterArtefactError` when no selected lesson has a notebook or when
    ``assignments/`` is stale.
    """
    wanted = parse_lesson_list(lessons)
    selected = notebook_lessons(wanted)
    if not selected:
        raise OtterArtefactError("none of the selected lessons has a master notebook in solutions/ yet")
    for lesson in wanted:
        if lesson not in selected:
            why = "no master notebook in solutions/ yet" if lesson.notebook else "the lesson has no notebook"
            echo(f"{lesson.folder}: skipped ({why})")
    if check_fresh:
        check_student_folders(selected)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for lesson in selected:
        folder = out / lesson.folder
        copy_student_folder(lesson, folder / "student")
        build_autograder_zip(lesson, folder / "autograder.zip", timeout=timeout)
        echo(f"{lesson.folder}: student/ and autograder.zip")
        written.append(folder)
    (out / "README.md").write_text(README, encoding="utf-8")
    return written
