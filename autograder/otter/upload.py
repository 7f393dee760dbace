"""What a student uploaded to one lesson's Gradescope assignment, and the lesson file in it.

Each lesson's ``autograder.zip`` knows its lesson, so it does not need the repository layout
(``02-autoencoders/autoencoder.py``) that bulk grading relies on. It accepts:

- the export zip of the notebook (the notebook and the lesson file at its root);
- the lesson file on its own (``autoencoder.py``);
- any zip, or folder, with the lesson file somewhere in it (zips inside the upload are opened
  too, with the engine's safe extraction).

Copies of the lesson file that are byte for byte the same count as one. No copy, or copies
that differ, give a message that tells the student what to upload.

Gradescope hands the upload to Otter, which grades a notebook or a Python file at the top of
the submission folder and stops with "No gradable files found" otherwise (a zip that was not
unpacked, a file in a sub-folder, several ``.py`` files). :func:`make_gradable` runs first (from
the zip's ``run_otter.py``) and, in those cases, moves the upload into ``uploaded/`` and leaves
Otter one placeholder script to "grade"; the plugin then finds the lesson file wherever it is.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from autograder.lessons import Lesson
from autograder.submission import IGNORED_PARTS, SubmissionError, extract_zip

UPLOAD_FOLDER = "uploaded"
PLACEHOLDER_SCRIPT = "graded_by_the_course_engine.py"
SHOWN_FILES = 12


class UploadError(Exception):
    """The upload holds no usable lesson file; the message is for the student."""


def otter_can_resolve(folder: Path) -> bool:
    """Whether Otter's Python runner finds exactly one thing to grade at the top of ``folder``
    (one notebook; or no notebook and one ``.py`` besides ``__init__.py``)."""
    notebooks = [p for p in folder.glob("*.ipynb") if p.is_file()]
    scripts = [p for p in folder.glob("*.py") if p.is_file() and p.name != "__init__.py"]
    return len(notebooks) == 1 or (not notebooks and len(scripts) == 1)


def make_gradable(folder: Path) -> bool:
    """Before Otter starts: when Otter would find nothing (or too much) to grade in
    ``folder``, move the upload into ``folder/uploaded/`` and add a placeholder script.
    Returns whether anything was moved."""
    folder = Path(folder)
    if otter_can_resolve(folder):
        return False
    keep = folder / UPLOAD_FOLDER
    keep.mkdir()
    for entry in list(folder.iterdir()):
        if entry != keep:
            shutil.move(str(entry), str(keep / entry.name))
    (folder / PLACEHOLDER_SCRIPT).write_text(
        "# Graded by the course's isolated engine; the upload is in uploaded/.\n", encoding="utf-8")
    return True


def _listing(root: Path, skip_top: frozenset[str]) -> list[str]:
    """The uploaded files, as the student named them (without the ``uploaded/`` we added)."""
    moved = (root / PLACEHOLDER_SCRIPT).is_file()
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not path.is_symlink() and rel != PLACEHOLDER_SCRIPT \
                and rel.split("/")[0] not in skip_top:
            files.append(rel.removeprefix(f"{UPLOAD_FOLDER}/") if moved else rel)
    return files


def _copies(root: Path, name: str, skip_top: frozenset[str], scratch: Path | None) -> list[tuple[str, bytes]]:
    """Every plain file called ``name`` under ``root``, and inside the zips there (one level)."""
    found: list[tuple[str, bytes]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        at_top = here == root
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_PARTS and not (here / d).is_symlink()
                             and not (at_top and d in skip_top))
        for filename in sorted(filenames):
            path = here / filename
            if path.is_symlink() or not path.is_file():
                continue
            shown = path.relative_to(root).as_posix()
            if filename == name:
                found.append((shown, path.read_bytes()))
            elif filename.lower().endswith(".zip") and scratch is not None:
                target = Path(tempfile.mkdtemp(dir=scratch))
                try:
                    extract_zip(path, target)
                except SubmissionError:
                    continue  # a damaged zip beside a good file is not the student's problem
                found += [(f"{shown}: {inner}", data)
                          for inner, data in _copies(target, name, frozenset(), None)]
    return found


def lesson_file(folder: Path, lesson: Lesson, skip_top: frozenset[str] = frozenset()) -> bytes:
    """The bytes of ``lesson``'s student file in the upload ``folder``; raises
    :class:`UploadError` with a message for the student. ``skip_top`` names top-level entries
    that are not the student's (Otter's copy of the tests)."""
    name = lesson.student_file
    with tempfile.TemporaryDirectory(prefix="gf-upload-") as scratch:
        copies = _copies(Path(folder), name, skip_top, Path(scratch))
    distinct = {data for _, data in copies}
    if len(distinct) == 1:
        return copies[0][1]
    expected = (f"This assignment grades `{name}` (lesson {lesson.number}). Upload that file on its "
                "own, or the zip that your notebook's last cell (`grader.export()`) wrote: it holds "
                "the notebook and the file.")
    if not copies:
        files = _listing(Path(folder), skip_top)
        shown = ", ".join(f"`{f}`" for f in files[:SHOWN_FILES]) + (", …" if len(files) > SHOWN_FILES else "")
        raise UploadError(f"Your upload has no file named `{name}` (it holds: {shown or 'nothing'}). {expected}")
    listed = ", ".join(f"`{where}`" for where, _ in copies[:SHOWN_FILES])
    raise UploadError(f"Your upload holds {len(copies)} different files named `{name}` ({listed}), so "
                      f"the grader cannot tell which one to grade. Keep only the one you want graded. "
                      f"{expected}")
