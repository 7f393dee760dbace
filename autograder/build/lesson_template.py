"""A new lesson's first files, ready to build and grade: the start of CONTRIBUTING's walkthrough.

:func:`write_lesson` writes, for a :class:`~autograder.lessons.Lesson` not yet in the registry,

- ``solutions/NN-slug/<student file>``: a reference with one task (``TODO(task N.1)`` and a
  solution block), which the build turns into a starter;
- ``solutions/NN-slug/tests/``: the public tests' ``conftest.py`` and one public test;
- ``solutions/NN-slug/README.md``: the reading's first line;
- ``autograder/suites/lessonN.py``: a hidden suite of one ``@graded`` test worth all the
  lesson's points.

Each file is a working example to replace with the lesson's real content. Nothing is
overwritten. ``tests/build/test_lesson_template.py`` adds a throwaway lesson this way, builds its
starter and its contract page, and grades it in the sandbox.
"""

from __future__ import annotations

from pathlib import Path

from autograder.lessons import SOLUTIONS_DIR, SUITES_DIR, Lesson

REFERENCE = '''"""Lesson {number}: {title}.

Tasks (run the tests with `pytest` in this folder):
    {number}.1  double
"""

from __future__ import annotations

import torch


def double(x: torch.Tensor) -> torch.Tensor:
    """x: (B, D) float32 -> (B, D), every entry twice that of x."""
    # TODO(task {number}.1): return x multiplied by 2, as a new tensor.
    # BEGIN SOLUTION
    return 2 * x
    # END SOLUTION
'''

CONFTEST = '''"""Fixtures for the public tests: ``student`` is ../{student_file}, ``harness`` is coursekit.harness."""

from coursekit.testing import lesson_fixtures

student, harness = lesson_fixtures(__file__, "{student_file}")
'''

PUBLIC_TEST = '''"""Public tests for lesson {number}. Run `pytest` in the lesson folder; each test names its task."""

import torch

from coursekit.testing import expect_tensor, task


@task("{number}.1")
def test_double_keeps_the_shape(student):
    out = student.double(torch.ones(3, 4))
    expect_tensor(out, shape=(3, 4), what="double(x)")
'''

SUITE = '''"""Hidden suite for lesson {number} ({title}): {points} points."""

from __future__ import annotations

import torch

from autograder.suite import graded
from coursekit.testing import assert_close


@graded(points={points}, task="{number}.1", name="double returns twice its input")
def double_values(student, harness):
    x = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    assert_close(student.double(x), 2 * x, what="double(x)",
                 hint="every entry of the result should be twice the entry of x")
'''


def write_lesson(lesson: Lesson, solutions: Path = SOLUTIONS_DIR, suites: Path = SUITES_DIR) -> list[Path]:
    """Write the new lesson's first files (see the module docstring); returns their paths.

    Raises FileExistsError, writing nothing, when any of them exists already."""
    title = lesson.slug.replace("-", " ")
    fields = {"number": lesson.number, "title": title, "points": lesson.points,
              "student_file": lesson.student_file}
    folder = solutions / lesson.folder
    files = {
        folder / lesson.student_file: REFERENCE,
        folder / "tests" / "conftest.py": CONFTEST,
        folder / "tests" / f"test_{lesson.module_name}.py": PUBLIC_TEST,
        folder / "README.md": "# Lesson {number}: {title}\n",
        suites / lesson.suite_path.name: SUITE,
    }
    existing = [str(path) for path in files if path.exists()]
    if existing:
        raise FileExistsError(f"not overwriting {', '.join(existing)}")
    for path, template in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**fields), encoding="utf-8")
    return list(files)
