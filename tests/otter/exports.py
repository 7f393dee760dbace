"""Submissions for the Otter tests: students' ``grader.export()`` zips, honest and not.

An export holds, at its root, the notebook, the files the notebook's export cell lists (the
lesson's student file) and ``__zip_filename__`` (see ``otter.check.notebook.Notebook.export``).
When a lesson's student notebook exists, its exports are real: the notebook's ``otter.Notebook``,
``grader.check`` and ``grader.export`` cells are executed headless in a copy of the lesson folder
(the other cells train models and are the notebook tests' business). Otherwise a zip with the
same layout is written directly.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.lessons import ASSIGNMENTS_DIR, LESSONS, REPO_ROOT, SOLUTIONS_DIR, Lesson
from tests.helpers import reference_source, starter_source

CELL_TIMEOUT = 600
OTTER_RUN_TIMEOUT = 900
VARIANTS = {"reference": reference_source, "starter": starter_source}
EXPORT_CELL_MARKERS = ("otter.Notebook(", "grader.check(", "grader.export(")


def gradable_lessons() -> list[Lesson]:
    """Notebook lessons (the lesson registry) whose reference and hidden suite exist."""
    return [lesson for lesson in LESSONS
            if lesson.notebook and (SOLUTIONS_DIR / lesson.folder / lesson.student_file).is_file()
            and lesson.suite_path.is_file()]


def lessons_with_student_notebooks() -> list[Lesson]:
    return [lesson for lesson in gradable_lessons()
            if (ASSIGNMENTS_DIR / lesson.folder / str(lesson.notebook)).is_file()]


@dataclass
class LessonExports:
    """A lesson's export zips by variant, and (for real exports) the executed check cells."""

    lesson: Lesson
    zips: dict[str, Path] = field(default_factory=dict)
    executed: dict[str, nbformat.NotebookNode] = field(default_factory=dict)

    @property
    def real(self) -> bool:
        return bool(self.executed)


def minimal_notebook(lesson: Lesson) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(f"# Lesson {lesson.number}"),
        nbformat.v4.new_code_cell(f"import {lesson.module_name}"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def student_notebook(lesson: Lesson) -> nbformat.NotebookNode:
    """The lesson's student notebook when it exists, else a small stand-in with the same name."""
    path = ASSIGNMENTS_DIR / lesson.folder / str(lesson.notebook)
    return nbformat.read(path, as_version=4) if path.is_file() else minimal_notebook(lesson)


def write_export(path: Path, lesson: Lesson, notebook: nbformat.NotebookNode, student_text: str,
                 extra: dict[str, bytes] | None = None) -> Path:
    """A zip with the layout of ``grader.export()``: the notebook and the student file at the root."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(str(lesson.notebook), nbformat.writes(notebook))
        zf.writestr("__zip_filename__", path.name)
        zf.writestr(lesson.student_file, student_text)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def export_cells_only(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook's Otter cells (init, checks, export), without the cells that train models.

    ``grader.export(run_tests=True)`` would execute the whole notebook again after writing the
    zip (Otter's local validation); that re-run is switched off here, the zip is the same.
    """
    trimmed = nbformat.from_dict(nb)
    trimmed.cells = [c for c in nb.cells if c.cell_type == "code"
                     and any(marker in c.source for marker in EXPORT_CELL_MARKERS)]
    for cell in trimmed.cells:
        cell.source = cell.source.replace("run_tests=True", "run_tests=False")
    return trimmed


def execute(nb: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    """Run ``nb`` headless in ``folder`` on the data subset (errors are kept as outputs)."""
    saved = dict(os.environ)
    os.environ.update({"GF_DATA_SOURCE": "subset", "GF_QUICK": "1", "MPLBACKEND": "Agg"})
    try:
        NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def make_exports(lesson: Lesson, root: Path) -> LessonExports:
    """The starter's and the reference's export zips for ``lesson``, under ``root``."""
    exports = LessonExports(lesson)
    real = (ASSIGNMENTS_DIR / lesson.folder / str(lesson.notebook)).is_file()
    for variant, source in VARIANTS.items():
        target = root / f"{variant}.zip"
        if not real:
            exports.zips[variant] = write_export(target, lesson, minimal_notebook(lesson),
                                                 source(lesson.number))
            continue
        folder = root / variant / lesson.folder
        shutil.copytree(ASSIGNMENTS_DIR / lesson.folder, folder)
        (folder / lesson.student_file).write_text(source(lesson.number), encoding="utf-8")
        nb = nbformat.read(folder / str(lesson.notebook), as_version=4)
        exports.executed[variant] = execute(export_cells_only(nb), folder)
        made = sorted(folder.glob("*.zip"))
        assert len(made) == 1, f"the export cell of {lesson.notebook} made {len(made)} zips: {made}"
        exports.zips[variant] = Path(shutil.move(made[0], target))
    return exports


# ---------------------------------------------------------------------------------------------
# A dishonest submission: each trick below defeats plain Otter (see test_otter_run.py).

CHEAT_CELL = """\
# Make every Otter check pass: wrap the checker and mark every result passed, full score.
from otter.execute import Checker as _Checker
_real_check = _Checker.check.__func__

def _always_pass(cls, *args, **kwargs):
    import inspect
    kwargs.setdefault("global_env", inspect.currentframe().f_back.f_globals)
    test = _real_check(cls, *args, **kwargs)
    for result in test.test_case_results:
        result.passed = True
    test.update_score(test.possible)
    return test

_Checker.check = classmethod(_always_pass)
"""

FAKE_PLUGIN = """\
from pathlib import Path
Path({marker!r}).write_text("the submission's plugin was imported")

class IsolatedGrading:
    def __init__(self, *args):
        pass

    def after_grading(self, results):
        for test in results.results.values():
            test.update_score(1000)
"""


class _RunOnUnpickle:
    """Unpickling this runs ``code`` (what a forged ``.OTTER_LOG`` does to plain Otter)."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return exec, (self.code,)


def cheat_export(path: Path, lesson: Lesson, markers: Path) -> Path:
    """The starter with a notebook that wraps Otter's checker, a forged ``.OTTER_LOG`` and a
    look-alike ``autograder`` package; ``markers`` receives a file for each trick that runs
    outside Otter's kernel."""
    markers.mkdir(parents=True, exist_ok=True)
    nb = student_notebook(lesson)
    nb.cells.insert(0, nbformat.v4.new_code_cell(CHEAT_CELL))
    log_marker = markers / "otter-log-unpickled"
    forged_log = pickle.dumps(_RunOnUnpickle(f"open({str(log_marker)!r}, 'w').write('pwned')"))
    fake_plugin = FAKE_PLUGIN.format(marker=str(markers / "fake-plugin-imported")).encode()
    return write_export(path, lesson, nb, starter_source(lesson.number), extra={
        ".OTTER_LOG": forged_log,
        "autograder/__init__.py": b"",
        "autograder/otter/__init__.py": b"",
        "autograder/otter/plugin.py": fake_plugin,
    })


PLAIN_HIDDEN_TEST = """\
OK_FORMAT = True

test = {
    "name": "hidden",
    "points": 10,
    "suites": [{"cases": [{"code": ">>> 1 + 1\\n3\\n", "hidden": True, "locked": False}],
                "scored": True, "setup": "", "teardown": "", "type": "doctest"}],
}
"""


def plain_otter_zip(path: Path) -> Path:
    """An ordinary Otter autograder (no plugin) with one hidden test that always fails."""
    stage = path.parent / "plain-stage"
    (stage / "tests").mkdir(parents=True)
    (stage / "tests" / "hidden.py").write_text(PLAIN_HIDDEN_TEST, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "otter", "generate", "--tests-dir", "tests",
                           "--output-path", str(path), "--no-config", "--no-requirements",
                           "--no-environment"], cwd=stage, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return path


def otter_run(autograder: Path, submission: Path, out: Path) -> tuple[dict, str]:
    """``otter run -a autograder submission`` from the repository root; (results.json, output)."""
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(autograder),
                           "-o", str(out), str(submission)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=OTTER_RUN_TIMEOUT)
    output = done.stdout + done.stderr
    assert (out / "results.json").is_file(), f"otter run wrote no results.json:\n{output[-5000:]}"
    return json.loads((out / "results.json").read_text(encoding="utf-8")), output
