"""The student release: the template repository GitHub Classroom copies for each student.

``main(out=...)`` writes into ``out``:

- ``README.md`` (set-up, how to run a lesson's tests, how to submit), ``pyproject.toml``
  (``pip install -e .`` installs the dependencies and ``coursekit``; the pytest configuration)
  and ``.gitignore``, from ``templates/``;
- each lesson folder of ``assignments/`` that has its student file (starter, notebook, public
  tests, reading): ``assignments/`` is generated from ``solutions/`` by ``python -m autograder
  build``, and ``solutions/`` itself is never read here except by the leak check;
- the ``coursekit`` package (the helpers the public tests and notebooks import, and the
  Fashion-MNIST subset with its licence) and nothing of the ``autograder`` package;
- ``.github/workflows/classroom.yml``, which runs the public tests on every push and credits
  each task whose public tests all pass with the task's points (see :mod:`.classroom`);
- ``.course-release.json``, a manifest that marks the folder as a release, so that the next
  release may replace it.

The release is built in a temporary folder and checked by :mod:`.leakcheck` first: when
anything leaks, :class:`~.leakcheck.LeakError` is raised and ``out`` is left untouched.
"""

from __future__ import annotations

import json
import shutil
import string
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.lessons import ASSIGNMENTS_DIR, LESSONS, REPO_ROOT, Lesson
from autograder.release.classroom import WORKFLOW_PATH, render_workflow
from autograder.release.leakcheck import LeakError, LeakReport, check_release
from autograder.release.tasks import TaskListError, lesson_tasks
from coursekit.pytest_plugin import task_keyword

TEMPLATES = Path(__file__).resolve().parent / "templates"
COURSEKIT_DIR = REPO_ROOT / "coursekit"
MANIFEST = ".course-release.json"
COURSE = "generative-foundations"
VERSION = "0.1.0"

# Never copied: caches, and what a notebook run or an Otter export leaves in a lesson folder.
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".ipynb_checkpoints",
                                 "figures", "*.pt", "*.png", "*.zip", ".DS_Store")
KEPT_IN_OUT = {".git"}

__all__ = ["Release", "ReleaseError", "LeakError", "build_tree", "main", "released_lessons"]


class ReleaseError(RuntimeError):
    """The release cannot be written (an output folder that is not a release, no lessons)."""


@dataclass(frozen=True)
class Release:
    """A written release: where, which lessons, the files (relative paths) and the leak report."""

    root: Path
    lessons: tuple[Lesson, ...]
    files: tuple[str, ...]
    report: LeakReport

    def summary(self) -> str:
        lessons = ", ".join(lesson.folder for lesson in self.lessons)
        return (f"released {len(self.files)} files to {self.root}\n"
                f"lessons: {lessons}\n{self.report.summary()}")


def released_lessons(assignments: Path = ASSIGNMENTS_DIR) -> tuple[Lesson, ...]:
    """The lessons whose starter exists in ``assignments`` (the others are still being written)."""
    return tuple(lesson for lesson in LESSONS if (assignments / lesson.relative_path).is_file())


def _is_previous_release(folder: Path) -> bool:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("course") == COURSE
    except (OSError, ValueError, AttributeError):
        return False


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ReleaseError(f"{out} exists and is not a folder")
    if not out.exists() or force or _is_previous_release(out):
        return
    others = sorted(p.name for p in out.iterdir() if p.name not in KEPT_IN_OUT)
    if others:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        raise ReleaseError(f"{out} is not empty ({shown}) and is not a previous release; "
                           "choose an empty folder or pass force=True (--force) to replace its contents")


def _render(template: str, **values: str) -> str:
    return string.Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)


def _readme(lessons: tuple[Lesson, ...], stage: Path, assignments: Path) -> str:
    rows = []
    for lesson in lessons:
        shipped = lesson.notebook and (stage / lesson.folder / lesson.notebook).is_file()
        notebook = f"`{lesson.notebook}`" if shipped else "none"
        rows.append(f"| {lesson.number} | [`{lesson.folder}/`]({lesson.folder}/) | `{lesson.student_file}` "
                    f"| {notebook} | {lesson.points} |")
    example = next((lesson for lesson in lessons if lesson.number == 2), lessons[0])
    return _render("README.md", lessons_table="\n".join(rows), example_folder=example.folder,
                   example_task=f"{example.number}.1", example_keyword=task_keyword(f"{example.number}.1"),
                   example_path=example.relative_path,
                   example_step=lesson_tasks(example, assignments)[0].heading)


def build_tree(stage: Path, *, assignments: Path = ASSIGNMENTS_DIR) -> tuple[Lesson, ...]:
    """Write the release into the empty or missing folder ``stage`` *without* the leak check.

    Returns the lessons released. :func:`main` calls this on a temporary folder, then checks it.
    """
    lessons = released_lessons(assignments)
    if not lessons:
        raise ReleaseError(f"no lesson is ready: {assignments} has no starter "
                           "(run `python -m autograder build` first)")
    try:
        workflow_text = render_workflow(lessons, assignments)
    except TaskListError as exc:
        raise ReleaseError(f"the Classroom workflow cannot credit each task: {exc}") from None
    stage.mkdir(parents=True, exist_ok=True)
    if any(stage.iterdir()):
        raise ReleaseError(f"{stage} is not empty")
    for lesson in lessons:
        shutil.copytree(assignments / lesson.folder, stage / lesson.folder, ignore=IGNORED)
    shutil.copytree(COURSEKIT_DIR, stage / "coursekit", ignore=IGNORED)
    (stage / "README.md").write_text(_readme(lessons, stage, assignments), encoding="utf-8")
    testpaths = ", ".join(f'"{lesson.folder}/tests"' for lesson in lessons
                          if (stage / lesson.folder / "tests").is_dir())
    (stage / "pyproject.toml").write_text(_render("pyproject.toml", version=VERSION, testpaths=testpaths),
                                          encoding="utf-8")
    shutil.copyfile(TEMPLATES / "gitignore.txt", stage / ".gitignore")
    workflow = stage / WORKFLOW_PATH
    workflow.parent.mkdir(parents=True)
    workflow.write_text(workflow_text, encoding="utf-8")
    files = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
    manifest = {"course": COURSE, "version": VERSION, "lessons": [lesson.folder for lesson in lessons],
                "files": files + [MANIFEST]}
    (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return lessons


def _replace_contents(out: Path, stage: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for child in out.iterdir():
        if child.name in KEPT_IN_OUT:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    for child in stage.iterdir():
        if child.is_dir():
            shutil.copytree(child, out / child.name)
        else:
            shutil.copy2(child, out / child.name)


def main(*, out: Path, force: bool = False, assignments: Path = ASSIGNMENTS_DIR) -> Release:
    """Build the student template repository into ``out``; returns what was written.

    ``out`` must be empty (a ``.git`` folder is allowed and kept, so a clone of the template
    repository can be updated in place), or a previous release, whose contents are replaced;
    ``force=True`` replaces whatever is there (``.git`` still kept). Raises :class:`ReleaseError`
    for such a folder or when no lesson is ready, and :class:`LeakError` (writing nothing) when
    the release would contain solution code or hidden tests.
    """
    out = Path(out)
    assignments = Path(assignments)
    _check_out(out, force)
    with tempfile.TemporaryDirectory(prefix="gf-release-") as tmp:
        stage = Path(tmp) / "release"
        lessons = build_tree(stage, assignments=assignments)
        report = check_release(stage)
        if not report.ok:
            raise LeakError(report)
        _replace_contents(out, stage)
    files = tuple(sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                         if p.is_file() and ".git" not in p.relative_to(out).parts[:1]))
    return Release(root=out, lessons=lessons, files=files, report=report)
