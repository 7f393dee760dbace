"""Sample lesson files made from the repository itself, for the demo and the benchmarks.

The reference is the solution file; the starter is the released one (``assignments/``), or the
reference with its solutions stripped when that is not built yet. A hanging copy redefines, at
the end of the file, the first task function the student writes, as a loop that never ends.
"""

from __future__ import annotations

import ast

from autograder.build.stripper import TODO, strip_solutions
from autograder.lessons import ASSIGNMENTS_DIR, SOLUTIONS_DIR, Lesson

HANG = "\n\ndef {name}(*args, **kwargs):  # sample: an accidental infinite loop\n    while True:\n        pass\n"


def reference_source(lesson: Lesson) -> str:
    """The lesson's reference solution, markers included."""
    return (SOLUTIONS_DIR / lesson.folder / lesson.student_file).read_text(encoding="utf-8")


def starter_source(lesson: Lesson) -> str:
    """The lesson's untouched starter."""
    released = ASSIGNMENTS_DIR / lesson.folder / lesson.student_file
    if released.is_file():
        return released.read_text(encoding="utf-8")
    return strip_solutions(reference_source(lesson))


def hang_target(lesson: Lesson) -> str:
    """The first module-level function of the reference that holds a ``TODO(task N.M)`` marker:
    a function the hidden suite calls, so a copy that loops forever makes the lesson time out."""
    source = reference_source(lesson)
    lines = source.splitlines()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") \
                and any(TODO.search(line) for line in lines[node.lineno - 1:node.end_lineno]):
            return node.name
    raise ValueError(f"{lesson.relative_path} has no module-level task function to make hang")


def with_infinite_loop(lesson: Lesson, text: str) -> str:
    """``text`` (a version of the lesson file) whose :func:`hang_target` never returns."""
    return text + HANG.format(name=hang_target(lesson))
