"""Every check cell of a student notebook passes for a student who works through it in order.

For each ``grader.check`` cell, the lesson file is the reference with every task whose check
cell comes LATER stubbed out (the build's stub generator, restricted to those tasks): the task
being checked and all before it are done, nothing after. The check's public tests must pass.
A public test that leans on a later task (lesson 3's training test once built the student's
VAE of task 3.6) fails here, naming the check and the stub it ran into.
"""

from __future__ import annotations

import ast
import shutil

import nbformat
import pytest

from autograder.build.stripper import TODO, strip_solutions
from autograder.lessons import ASSIGNMENTS_DIR, LESSONS, SOLUTIONS_DIR
from coursekit.checks import check_task

WITH_NOTEBOOKS = [l for l in LESSONS if l.notebook and (ASSIGNMENTS_DIR / l.folder / l.notebook).exists()]


def checked_tasks_in_order(lesson) -> list[str]:
    """The task ids the notebook's ``grader.check`` cells run, in cell order."""
    nb = nbformat.read(ASSIGNMENTS_DIR / lesson.folder / lesson.notebook, as_version=4)
    questions = nb.metadata["otter"]["tests"]
    order = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "grader.check(" not in cell.source:
            continue
        call = ast.parse(cell.source.strip()).body[0].value
        test_file = questions[call.args[0].value]   # an Otter exception-based test file (source)
        order += [node.args[0].value for node in ast.walk(ast.parse(test_file))
                  if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "check_task"]
    return order


@pytest.mark.parametrize("lesson", WITH_NOTEBOOKS, ids=[l.folder for l in WITH_NOTEBOOKS])
def test_each_check_passes_with_only_the_tasks_before_it_done(lesson, tmp_path):
    reference = (SOLUTIONS_DIR / lesson.folder / lesson.student_file).read_text(encoding="utf-8")
    order = checked_tasks_in_order(lesson)
    all_tasks = set(TODO.findall(reference))
    assert order and set(order) <= all_tasks, f"check cells {order} vs tasks {sorted(all_tasks)}"
    folder = tmp_path / lesson.folder
    shutil.copytree(ASSIGNMENTS_DIR / lesson.folder / "tests", folder / "tests")
    for position, task in enumerate(order):
        later = all_tasks - set(order[:position + 1])
        (folder / lesson.student_file).write_text(strip_solutions(reference, tasks=later), encoding="utf-8")
        try:
            check_task(task, folder)
        except AssertionError as failure:
            pytest.fail(f"{lesson.notebook}: the check of task {task} fails when only the tasks whose "
                        f"checks come before it are done (still stubbed: {sorted(later)}):\n{failure}")
