"""Finding a submission's lesson files (docs/README.md, "Submissions"), in a folder or a zip, and naming submissions.

A submission is a folder (a student's repository, an unpacked export) or a ``.zip``. Its lesson
files are found by their lesson path at any depth (``02-autoencoders/autoencoder.py``), or, for
an Otter export, at the root next to exactly one lesson notebook (``autoencoders.ipynb`` beside
``autoencoder.py``: the notebook says which lesson the file belongs to).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.lessons import LESSONS, Lesson

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
    """``alice.zip`` -> ``alice``; ``hw6-bob/`` -> ``hw6-bob`` (docs/README.md, "What `grade` writes")."""
    return path.name[:-4] if path.name.lower().endswith(".zip") else path.name


def root_lesson(root: Path) -> Lesson | None:
    """The lesson of an export whose files sit at the root: exactly one lesson notebook there
    (docs/README.md) and that lesson's student file beside it; otherwise None."""
    notebooks = [lesson for lesson in LESSONS
                 if lesson.notebook and _plain_file(root / lesson.notebook)]
    if len(notebooks) == 1 and _plain_file(root / notebooks[0].student_file):
        return notebooks[0]
    return None


def _plain_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def locate(root: Path, lessons: tuple[Lesson, ...]) -> LocatedFiles:
    """Find each lesson's ``<folder>/<student file>`` at any depth under ``root`` (and, for an
    export, the student file at the root beside its lesson notebook: see :func:`root_lesson`)."""
    found = LocatedFiles()
    candidates: dict[int, list[Path]] = {lesson.number: [] for lesson in lessons}
    wanted = {(lesson.folder, lesson.student_file): lesson.number for lesson in lessons}
    at_root = root_lesson(root)
    if at_root is not None and at_root.number in candidates:
        candidates[at_root.number].append(root / at_root.student_file)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_PARTS and not d.startswith("."))
        folder = Path(dirpath)
        for filename in sorted(filenames):
            number = wanted.get((folder.name, filename))
            path = folder / filename
            if number is not None and _plain_file(path):
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
            listed = ", ".join(f"`{p.relative_to(root).as_posix()}`" for p in paths)
            found.problems[lesson.number] = (
                f"The submission holds {len(paths)} copies of `{lesson.relative_path}` ({listed}), "
                f"so the grader cannot tell which one to grade; lesson {lesson.number} scores 0. "
                "Keep exactly one.")
    return found


def extract_zip(archive: Path, destination: Path) -> Path:
    """Safely extract ``archive`` into ``destination``; raises :class:`SubmissionError` with the reason.

    Messages name the archive and its members only (never the private temp folder), so the
    feedback is the same on every run.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_ZIP_FILES:
                raise SubmissionError(f"{archive.name} holds {len(members)} files (the limit is {MAX_ZIP_FILES}).")
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise SubmissionError(f"{archive.name} unpacks to more than {MAX_ZIP_BYTES // 1024**2} MB.")
            for member in members:
                name = PurePosixPath(member.filename.replace("\\", "/"))
                if name.is_absolute() or ".." in name.parts:
                    raise SubmissionError(f"{archive.name} has an unsafe path: {member.filename!r}.")
                if stat.S_ISLNK(member.external_attr >> 16) or not name.parts:
                    continue  # never follow links out of the submission
                target = destination.joinpath(*name.parts)
                try:
                    if member.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(member) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                except OSError as exc:
                    raise SubmissionError(f"{archive.name} could not be unpacked: "
                                          f"{member.filename!r}: {exc.strerror or type(exc).__name__}.") from None
    except zipfile.BadZipFile as exc:
        raise SubmissionError(f"{archive.name} is not a valid zip file ({exc}); re-create the zip "
                              "and submit again.") from None
    except (zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise SubmissionError(f"{archive.name} could not be unpacked ({type(exc).__name__}: {exc}); "
                              "re-create the zip and submit again.") from None
    except OSError as exc:
        raise SubmissionError(f"{archive.name} could not be read: "
                              f"{exc.strerror or type(exc).__name__}.") from None
    return destination


class OpenedSubmission:
    """A submission opened for reading: a folder, or a zip unpacked into a private temp folder
    (under ``tmp_root`` when given, so the grader can hide all unpacked submissions from workers)."""

    def __init__(self, path: Path, tmp_root: Path | None = None) -> None:
        self.path = path
        self.tmp_root = tmp_root
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Path:
        if not self.path.exists():
            raise SubmissionError(f"{self.path.name} does not exist.")
        if self.path.is_dir():
            return self.path
        if self.path.suffix.lower() == ".zip":
            self._tmp = tempfile.TemporaryDirectory(prefix="gf-sub-", dir=self.tmp_root)
            return extract_zip(self.path, Path(self._tmp.name))
        raise SubmissionError(f"{self.path.name} is neither a folder nor a .zip file.")

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def is_submission(path: Path, lessons: tuple[Lesson, ...] = LESSONS) -> bool:
    """Does ``path`` look like one submission: a zip, or a folder with a lesson folder (at
    most a few levels down) or an export's files at its root?"""
    if path.is_file():
        return path.suffix.lower() == ".zip"
    return path.is_dir() and (root_lesson(path) is not None
                              or _contains_lesson_folder(path, {l.folder for l in lessons}))


def expand_inputs(paths: list[Path], lessons: tuple[Lesson, ...],
                  exclude: tuple[Path, ...] = ()) -> list[Path]:
    """Turn command-line paths into submissions, in a stable order, each path once.

    A zip is one submission. A folder is one submission when it has a lesson folder directly
    inside (a student repository, ``solutions/``) or an export's files at its root. Otherwise
    it is a TA's folder of submissions (cloned ``assignment-username`` repositories, Otter
    export zips) when at least two entries look like submissions (or its only one is a zip):
    then every zip and every sub-folder in it is one submission, so a student whose folder
    holds no lesson file still gets a result that says so. Any other folder (a repository with
    its lesson folders one level down, an empty folder) is one submission. Paths under
    ``exclude`` (the output folder) and earlier output folders are never submissions.
    """
    folders = {lesson.folder for lesson in lessons}
    excluded = [p.resolve() for p in exclude]
    result: list[Path] = []
    for path in paths:
        if path.is_dir() and not any((path / name).is_dir() for name in folders) \
                and root_lesson(path) is None:
            children = [c for c in sorted(path.iterdir())
                        if not c.name.startswith(".") and c.name not in IGNORED_PARTS
                        and not _is_under(c, excluded) and not is_grader_output(c)
                        and ((c.is_file() and c.suffix.lower() == ".zip") or c.is_dir())]
            looking = [c for c in children if is_submission(c, lessons)]
            if len(looking) >= 2 or (len(looking) == 1 and looking[0].is_file()):
                result.extend(children)
            else:
                result.append(path)
        else:
            result.append(path)
    unique: list[Path] = []
    seen: set[Path] = set()
    for path in result:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def is_grader_output(path: Path) -> bool:
    """An output folder of an earlier ``grade`` run (``grades.csv`` and ``<name>/results.json``)."""
    return (path.is_dir() and (path / "grades.csv").is_file()
            and any(child.is_file() for child in path.glob("*/results.json")))


def _is_under(path: Path, parents: list[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved == p or p in resolved.parents for p in parents)


def assign_names(paths: list[Path]) -> list[str]:
    """The output folder name of each submission (docs/README.md: its file or folder name without
    ``.zip``); a name already taken gets ``-2``, ``-3``, ... in input order."""
    names: list[str] = []
    taken: set[str] = set()
    for path in paths:
        base = submission_name(path)
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{base}-{n}"
        taken.add(name.lower())
        names.append(name)
    return names


def _contains_lesson_folder(path: Path, folders: set[str], max_depth: int = 4) -> bool:
    for dirpath, dirnames, _ in os.walk(path):
        depth = len(Path(dirpath).relative_to(path).parts)
        if folders.intersection(dirnames):
            return True
        dirnames[:] = [d for d in dirnames if d not in IGNORED_PARTS and not d.startswith(".")
                       and depth < max_depth]
    return False


def content_hash(path: Path, lessons: tuple[Lesson, ...]) -> str:
    """A hash of what grading ``path`` reads: a zip's (or any file's) bytes; for a folder, each
    selected lesson's located file bytes, or the reason it could not be located. Never raises."""
    digest = hashlib.sha256()
    try:
        if path.is_dir():
            located = locate(path, lessons)
            for lesson in lessons:
                digest.update(f"\0lesson{lesson.number}\0".encode())
                file = located.files.get(lesson.number)
                if file is not None:
                    digest.update(file.read_bytes())
                else:
                    digest.update(b"problem:" + located.problems.get(lesson.number, "").encode())
        else:
            digest.update(b"file\0")
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
    except OSError as exc:
        digest.update(f"unreadable:{exc.strerror}".encode())
    return digest.hexdigest()
