"""Generate ``assignments/`` (the starters, public tests and student notebooks) from ``solutions/``.

``solutions/<lesson>/`` is the single source. For each lesson this writes:
- the student file, with solution blocks replaced by stubs (:mod:`.stripper`);
- the public tests folder ``tests/``, the lesson ``README.md`` and its pictures ``img/*.png``, copied as they are;
- the student notebook, made by ``otter assign`` from the master notebook (:mod:`.notebooks`).

``check`` builds into a temporary folder and lists the committed files that differ, so a test
can fail when someone edits a solution and forgets to rebuild.
"""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from pathlib import Path

from autograder.build.notebooks import build_student_notebook
from autograder.build.stripper import strip_solutions
from autograder.lessons import ASSIGNMENTS_DIR, LESSONS, SOLUTIONS_DIR, Lesson

COPIED_SUFFIXES = {".py", ".md", ".txt", ".json", ".csv"}
READING_IMAGES = "img"   # the folder of a lesson README's pictures


def public_files(lesson: Lesson) -> list[Path]:
    """Files copied verbatim: the lesson README, its pictures and everything in ``tests/`` (relative paths)."""
    src = SOLUTIONS_DIR / lesson.folder
    files = [Path("README.md")] if (src / "README.md").exists() else []
    # The reading's pictures, made by a script under scripts/ (e.g. lesson3_figures.py). Not in
    # figures/, which holds what the notebook draws (ignored by git).
    files += sorted(p.relative_to(src) for p in (src / READING_IMAGES).glob("*.png"))
    tests = src / "tests"
    if tests.is_dir():
        files += sorted(p.relative_to(src) for p in tests.rglob("*")
                        if p.is_file() and p.suffix in COPIED_SUFFIXES and "__pycache__" not in p.parts)
    return files


def build_lesson(lesson: Lesson, out_root: Path) -> list[Path]:
    """Write the lesson's student folder under ``out_root``; returns the files written."""
    src = SOLUTIONS_DIR / lesson.folder
    dst = out_root / lesson.folder
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    written = []
    solution = src / lesson.student_file
    starter = dst / lesson.student_file
    starter.write_text(strip_solutions(solution.read_text(encoding="utf-8"), str(solution)), encoding="utf-8")
    written.append(starter)
    for rel in public_files(lesson):
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, dst / rel)
        written.append(dst / rel)
    if lesson.notebook and (src / lesson.notebook).exists():
        written.append(build_student_notebook(src / lesson.notebook, dst / lesson.notebook,
                                              prefix=f"l{lesson.number}"))
    return written


def main(*, out: Path = ASSIGNMENTS_DIR, lessons: tuple[Lesson, ...] = LESSONS) -> list[Path]:
    """Build every available lesson (a lesson without a solution file is skipped)."""
    written: list[Path] = []
    for lesson in lessons:
        if (SOLUTIONS_DIR / lesson.folder / lesson.student_file).exists():
            written += build_lesson(lesson, out)
    return written


def stale_files(committed: Path = ASSIGNMENTS_DIR, lessons: tuple[Lesson, ...] = LESSONS) -> list[str]:
    """Relative paths that differ between a fresh build and ``committed`` (missing, extra or changed)."""
    with tempfile.TemporaryDirectory(prefix="gf-build-") as tmp:
        fresh = Path(tmp)
        main(out=fresh, lessons=lessons)
        problems = []
        for lesson in lessons:
            a, b = fresh / lesson.folder, committed / lesson.folder
            new = {p.relative_to(fresh) for p in a.rglob("*") if p.is_file()} if a.exists() else set()
            old = {p.relative_to(committed) for p in b.rglob("*") if p.is_file()
                   and "__pycache__" not in p.parts and p.suffix != ".pyc"} if b.exists() else set()
            old = {p for p in old if not _is_generated_output(p)}
            for rel in sorted(new | old):
                if rel not in old:
                    problems.append(f"{rel} (missing from {committed.name}/)")
                elif rel not in new:
                    problems.append(f"{rel} (not generated from solutions/)")
                elif not filecmp.cmp(fresh / rel, committed / rel, shallow=False):
                    problems.append(f"{rel} (out of date)")
        return problems


def _is_generated_output(rel: Path) -> bool:
    """Files a student or a notebook run creates in a lesson folder (figures, checkpoints)."""
    return any(part in {"figures", ".ipynb_checkpoints", ".pytest_cache"} for part in rel.parts) \
        or (rel.suffix in {".pt", ".png", ".zip"} and READING_IMAGES not in rel.parts)
