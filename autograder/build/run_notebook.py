"""Execute a lesson's student notebook headless, with the reference module in place.

Used by the repository's tests (and by instructors before a release) to prove the notebooks run
from top to bottom on the committed data subset: the student notebook from ``assignments/``
is copied into a temporary lesson folder together with the reference solution file, then run
with nbclient. ``GF_QUICK=1`` asks the notebook for its short settings (fewer epochs).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.lessons import ASSIGNMENTS_DIR, SOLUTIONS_DIR, Lesson

CELL_TIMEOUT = 900


def execute_lesson_notebook(lesson: Lesson, workdir: Path | None = None, quick: bool = True,
                            data: str = "subset", threads: int | None = None,
                            ) -> tuple[nbformat.NotebookNode, Path]:
    """Run the lesson's student notebook with the reference module; returns (notebook, lesson folder).

    ``data`` is the notebook's data source (``GF_DATA_SOURCE``: ``"subset"``, ``"full"`` or
    ``"auto"``); ``threads`` caps the kernel's CPU threads (``OMP_NUM_THREADS``), for timings
    that do not depend on how busy the machine is. The executed notebook is also saved next to
    the copy (``executed.ipynb``) with its figures.
    Raises ``nbclient.exceptions.CellExecutionError`` when a cell fails.
    """
    assert lesson.notebook, f"lesson {lesson.number} has no notebook"
    root = Path(workdir or tempfile.mkdtemp(prefix="gf-nb-"))
    folder = root / lesson.folder
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(ASSIGNMENTS_DIR / lesson.folder, folder)
    shutil.copyfile(SOLUTIONS_DIR / lesson.folder / lesson.student_file, folder / lesson.student_file)
    # Lessons whose notebooks build on an earlier lesson's module find it as a sibling folder.
    for sibling in ASSIGNMENTS_DIR.iterdir():
        if sibling.is_dir() and sibling.name != lesson.folder and not (root / sibling.name).exists():
            shutil.copytree(sibling, root / sibling.name)
            solution = SOLUTIONS_DIR / sibling.name
            for py in solution.glob("*.py"):
                shutil.copyfile(py, root / sibling.name / py.name)
    nb = nbformat.read(folder / lesson.notebook, as_version=4)
    env_backup = dict(os.environ)
    os.environ.update({"GF_DATA_SOURCE": data, "MPLBACKEND": "Agg"})
    if quick:
        os.environ["GF_QUICK"] = "1"
    if threads is not None:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                resources={"metadata": {"path": str(folder)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
        nbformat.write(nb, folder / "executed.ipynb")
    return nb, folder
