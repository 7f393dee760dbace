"""Student notebooks from Otter-Grader master notebooks (``otter assign``), made reproducible.

The master notebook in ``solutions/<lesson>/`` is in Otter's assign format (``# ASSIGNMENT
CONFIG``, ``# BEGIN QUESTION``, solution and test markers). ``otter assign`` writes the student
version; this module then gives its cells stable ids and no outputs, so that building twice
gives byte-identical files (the staleness test depends on it).

Master notebooks write each question's test cell as plain code (``check_task("2.3")``). Otter
would turn it into a doctest, whose failure report buries the one useful line in ~20 lines of
``Trying:``/``Expecting nothing``/traceback. Before ``otter assign`` runs, the build therefore
wraps every test cell in a function and sets ``tests: ok_format: false`` (Otter's
exception-based tests): a failing check then shows the task, the failing tests and their
messages (``coursekit.checks``), and the line of the check that raised.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
import yaml


class NotebookBuildError(RuntimeError):
    """``otter assign`` failed on a master notebook (its output is in the message)."""


def normalize(nb: nbformat.NotebookNode, prefix: str) -> nbformat.NotebookNode:
    """Stable cell ids, no outputs or execution counts, sorted metadata keys on write."""
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"{prefix}-{index:03d}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


ASSIGNMENT_CONFIG = "# ASSIGNMENT CONFIG"
BEGIN_TESTS, END_TESTS = "# BEGIN TESTS", "# END TESTS"


def exception_based_tests(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Wrap each test cell in ``def test():`` and set ``tests: ok_format: false`` (see above)."""
    in_tests = False
    for cell in nb.cells:
        first_line = cell.source.strip().split("\n", 1)[0].strip()
        if cell.cell_type == "raw" and first_line == ASSIGNMENT_CONFIG:
            config = yaml.safe_load(cell.source) or {}
            config.setdefault("tests", {})["ok_format"] = False
            cell.source = ASSIGNMENT_CONFIG + "\n" + yaml.safe_dump(config, sort_keys=False, width=1000)
        elif cell.cell_type == "raw" and first_line in (BEGIN_TESTS, END_TESTS):
            in_tests = first_line == BEGIN_TESTS
        elif in_tests and cell.cell_type == "code" and not cell.source.lstrip().startswith("def "):
            cell.source = "def test():\n" + textwrap.indent(cell.source.strip(), "    ")
    return nb


def otter_assign(master: Path, workdir: Path) -> Path:
    """Run ``otter assign`` on ``master`` into ``workdir``; returns the student notebook's path."""
    result = subprocess.run([sys.executable, "-m", "otter", "assign", "--no-pdfs", "--no-run-tests",
                             str(master), str(workdir)],
                            cwd=master.parent, capture_output=True, text=True)
    student = workdir / "student" / master.name
    if result.returncode != 0 or not student.exists():
        raise NotebookBuildError(f"otter assign failed on {master}:\n{result.stdout}\n{result.stderr}")
    return student


def build_student_notebook(master: Path, destination: Path, prefix: str) -> Path:
    """The student notebook for ``master``, written to ``destination``."""
    with tempfile.TemporaryDirectory(prefix="gf-assign-") as tmp:
        staged = Path(tmp) / "master"
        shutil.copytree(master.parent, staged, ignore=shutil.ignore_patterns(
            "tests", "__pycache__", "*.png", "figures", ".ipynb_checkpoints"))
        staged_master = staged / master.name
        nbformat.write(exception_based_tests(nbformat.read(staged_master, as_version=4)), staged_master)
        student = otter_assign(staged / master.name, Path(tmp) / "dist")
        nb = normalize(nbformat.read(student, as_version=4), prefix)
    write_notebook(nb, destination)
    return destination
