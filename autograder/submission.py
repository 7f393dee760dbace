"""Finding a submission's lesson files (SPEC §4), in a folder or a zip, and naming submissions."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.lessons import Lesson

MAX_ZIP_FILES = 5000
MAX_ZIP_BYTES = 200 * 1024**2
IGNORED_PARTS = {"__MACOSX", ".git", ".venv", "venv", "site-packages", "__pycache__",
                 ".ipynb_checkpoints", "node_modules"}


class SubmissionError(Exception):
    """The submission as a whole cannot be read (a corrupt or unsafe zip, a missing path)."""


@dataclass
class LocatedFiles:
    """For each lesson number: the student's file, or why it could not be used."""

    files: dict[int, Path] = field(default_factory=dict)
    problems: dict[int, str] = field(default_factory=dict)


def submission_name(path: Path) -> str:
    """``alice.zip`` -> ``alice``; ``hw6-bob/`` -> ``hw6-bob`` (SPEC §5)."""
    return path.name[:-4] if path.name.lower().endswith(".zip") else path.name


def locate(root: Path, lessons: tuple[Lesson, ...]) -> LocatedFiles:
    """Find each lesson's ``<folder>/<student file>`` at any depth under ``root``."""
    found = LocatedFiles()
    candidates: dict[int, list[Path]] = {lesson.number: [] for lesson in lessons}
    wanted = {(lesson.folder, lesson.student_file): lesson.number for lesson in lessons}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_PARTS and not d.startswith("."))
        folder = Path(dirpath)
        for filename in sorted(filenames):
            number = wanted.get((folder.name, filename))
            path = folder / filename
            if number is not None and path.is_file() and not path.is_symlink():
                candidates[number].append(path)
    for lesson in lessons:
        paths = candidates[lesson.number]
        if len(paths) == 1:
            found.files[lesson.number] = paths[0]
        elif not paths:
            found.problems[lesson.number] = (
                f"`{lesson.relative_path}` was not found in the submission, so lesson {lesson.number} "
                f"scores 0. Keep the file at its lesson path (for example "
                f"`{lesson.relative_path}`, at any depth).")
        else:
            listed = ", ".join(f"`{p.relative_to(root)}`" for p in paths)
            found.problems[lesson.number] = (
                f"The submission holds {len(paths)} copies of `{lesson.relative_path}` ({listed}), "
                f"so the grader cannot tell which one to grade; lesson {lesson.number} scores 0. "
                "Keep exactly one.")
    return found


def extract_zip(archive: Path, destination: Path) -> Path:
    """Safely extract ``archive`` into ``destination``; raises :class:`SubmissionError` with the reason."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_ZIP_FILES:
                raise SubmissionError(f"{archive.name} holds {len(members)} files (the limit is {MAX_ZIP_FILES}).")
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise SubmissionError(f"{archive.name} unpacks to more than {MAX_ZIP_BYTES // 1024**2} MB.")
            for member in members:
                name = PurePosixPath(member.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise SubmissionError(f"{archive.name} has an unsafe path: {member.filename!r}.")
                if stat.S_ISLNK(member.external_attr >> 16):
                    continue  # never follow links out of the submission
                target = destination.joinpath(*name.parts)
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile as exc:
        raise SubmissionError(f"{archive.name} is not a valid zip file ({exc}); re-create the zip "
                              "and submit again.") from None
    except (zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise SubmissionError(f"{archive.name} could not be unpacked: {exc}.") from None
    return destination


class OpenedSubmission:
    """A submission opened for reading: a folder, or a zip unpacked into a private temp folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Path:
        if not self.path.exists():
            raise SubmissionError(f"{self.path} does not exist.")
        if self.path.is_dir():
            return self.path
        if self.path.suffix.lower() == ".zip":
            self._tmp = tempfile.TemporaryDirectory(prefix="gf-sub-")
            return extract_zip(self.path, Path(self._tmp.name))
        raise SubmissionError(f"{self.path.name} is neither a folder nor a .zip file.")

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def expand_inputs(paths: list[Path], lessons: tuple[Lesson, ...]) -> list[Path]:
    """Turn command-line paths into submissions.

    A folder with a lesson folder directly inside (a student repository, ``solutions/``) is
    one submission. Any other folder (a TA's folder of cloned ``assignment-username``
    repositories or Otter export zips) expands to its zips and to the sub-folders that hold
    lesson files; when it has none of those, it is graded as one submission (and gets a result
    saying what is missing).
    """
    folders = {lesson.folder for lesson in lessons}
    result: list[Path] = []
    for path in paths:
        if path.is_dir() and not any((path / name).is_dir() for name in folders):
            children = [c for c in sorted(path.iterdir()) if not c.name.startswith(".")
                        and ((c.is_file() and c.suffix.lower() == ".zip")
                             or (c.is_dir() and _contains_lesson_folder(c, folders)))]
            result.extend(children or [path])
        else:
            result.append(path)
    return result


def _contains_lesson_folder(path: Path, folders: set[str], max_depth: int = 4) -> bool:
    for dirpath, dirnames, _ in os.walk(path):
        depth = len(Path(dirpath).relative_to(path).parts)
        if folders.intersection(dirnames):
            return True
        dirnames[:] = [d for d in dirnames if d not in IGNORED_PARTS and not d.startswith(".")
                       and depth < max_depth]
    return False
