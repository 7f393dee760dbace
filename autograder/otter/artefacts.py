"""``python -m autograder otter --out DIR``: the Otter-Grader artefacts of every notebook lesson.

For each lesson with a master notebook (``solutions/<lesson>/<notebook>.ipynb``)::

    DIR/<lesson folder>/student/          what students get: the lesson folder of assignments/
                                          (the student notebook made by ``otter assign``, with a
                                          ``grader.check`` cell per question, the starter, the
                                          public tests), byte for byte what ``release`` ships,
                                          plus what makes the folder run on its own (see
                                          :func:`make_self_contained`)
    DIR/<lesson folder>/autograder.zip    for Gradescope (instructors only: it holds the hidden
                                          tests); grades a student's ``grader.export()`` zip
                                          with the isolated engine (see :mod:`.plugin`)

The student notebooks are not made again here: ``python -m autograder build`` makes them (one
pipeline), and this command refuses to package an ``assignments/`` folder that is out of date.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from autograder.lessons import ASSIGNMENTS_DIR, REPO_ROOT, SOLUTIONS_DIR, Lesson, parse_lesson_list
from autograder.otter.autograder_zip import build_autograder_zip
from autograder.otter.plugin import DEFAULT_TIMEOUT

GENERATED_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", "figures"}
STUDENT_REQUIREMENTS = "requirements.txt"
STUDENT_PYTEST_INI = "pytest.ini"
SETUP_SECTION = """

## Setting up this folder

This folder runs on its own: `coursekit/` (the course's data loader and test helpers) sits
beside the notebook, and `requirements.txt` pins the versions the course was tested with. With
Python 3.10 or newer:

```bash
python -m venv .venv && source .venv/bin/activate      # Windows: .venv\\Scripts\\activate
python -m pip install -r requirements.txt
python -m pytest -q                                    # the public tests of this lesson
```

Open `{notebook}` in VS Code (its Jupyter extension uses this environment), or in Jupyter
Lab after `python -m pip install jupyterlab` and `jupyter lab`.

Run the notebook from this folder (so that `import coursekit` finds the folder beside it) and
finish with its last cell, which writes the zip you upload to Gradescope.
"""
GENERATED_SUFFIXES = {".pyc", ".pt", ".png", ".zip"}
README = """\
# Otter-Grader artefacts

Made by `python -m autograder otter`. For each lesson with a notebook:

- `<lesson>/student/` — what students get: the lesson folder of `python -m autograder release`
  (the notebook with a `grader.check` cell per question, the starter file, the public tests),
  plus `coursekit/`, `requirements.txt` and `pytest.ini`, so that it runs on its own (its
  README says how: `python -m pip install -r requirements.txt`). Students work in this folder
  and finish with the notebook's export cell, which writes a zip holding the notebook and the
  lesson file.
- `<lesson>/autograder.zip` — upload it as the autograder of the lesson's Gradescope
  programming assignment. It holds the hidden tests: never give it to students.

Try a zip locally, without Docker: `otter run -a <lesson>/autograder.zip <export>.zip`
from the repository root. The score comes from the course's isolated engine; the notebook's
own checks never count. See the "Otter / Gradescope" section of the README.
"""


class OtterArtefactError(RuntimeError):
    """The artefacts cannot be made (no notebook lesson, or ``assignments/`` out of date)."""


def notebook_lessons(lessons: tuple[Lesson, ...]) -> tuple[Lesson, ...]:
    """The lessons among ``lessons`` that have a master notebook."""
    return tuple(lesson for lesson in lessons
                 if lesson.notebook and (SOLUTIONS_DIR / lesson.folder / lesson.notebook).is_file())


def check_student_folders(lessons: tuple[Lesson, ...]) -> None:
    """Raise unless ``assignments/`` holds, for each lesson, exactly what ``build`` makes."""
    from autograder.build.assignments import stale_files
    problems = [f"{lesson.folder}: missing (run `python -m autograder build`)" for lesson in lessons
                if not (ASSIGNMENTS_DIR / lesson.folder / str(lesson.notebook)).is_file()]
    if not problems:
        problems = stale_files(lessons=lessons)
    if problems:
        raise OtterArtefactError("assignments/ is out of date; run `python -m autograder build` first:\n  "
                                 + "\n  ".join(problems))


def copy_student_folder(lesson: Lesson, destination: Path) -> Path:
    """``assignments/<lesson>`` without what a notebook run leaves behind (figures, caches)."""
    if destination.exists():
        shutil.rmtree(destination)

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if n in GENERATED_PARTS or Path(n).suffix in GENERATED_SUFFIXES}

    shutil.copytree(ASSIGNMENTS_DIR / lesson.folder, destination, ignore=ignore)
    return destination


def make_self_contained(lesson: Lesson, folder: Path) -> None:
    """Make a copied lesson folder work outside the repository: ``coursekit/`` beside the
    notebook, ``requirements.txt`` (the project's dependencies at the pinned versions),
    ``pytest.ini`` (so plain ``pytest`` here imports ``coursekit``) and a set-up section at the
    end of the lesson's README."""
    from autograder.otter.autograder_zip import package_files, pinned_dependencies

    for rel in package_files():
        if rel.parts[0] == "coursekit":
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO_ROOT / rel, folder / rel)
    (folder / STUDENT_REQUIREMENTS).write_text("\n".join(pinned_dependencies()) + "\n", encoding="utf-8")
    options = pytest_options()
    ini = ["[pytest]", "# coursekit/ sits beside this file: `pytest` run here imports it from here.",
           "pythonpath = .", "testpaths = tests", f"addopts = {options['addopts']}", f"timeout = {options['timeout']}",
           "markers =", *[f"    {marker}" for marker in options["markers"] if marker.startswith("task(")]]
    (folder / STUDENT_PYTEST_INI).write_text("\n".join(ini) + "\n", encoding="utf-8")
    readme = folder / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else f"# Lesson {lesson.number}\n"
    readme.write_text(text.rstrip("\n") + "\n" + SETUP_SECTION.format(notebook=lesson.notebook),
                      encoding="utf-8")


def pytest_options() -> dict:
    """The repository's pytest settings (``[tool.pytest.ini_options]`` of pyproject.toml)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: pip's copy of the same parser
        from pip._vendor import tomli as tomllib
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]


def main(*, out: Path, lessons: str | None = None, timeout: float = DEFAULT_TIMEOUT,
         check_fresh: bool = True, echo: Callable[[str], None] = print) -> list[Path]:
    """Write the Otter artefacts of the selected lessons (default: all) into ``out``.

    ``timeout`` is the time one submission's grading may take on Gradescope (seconds);
    ``check_fresh`` compares ``assignments/`` with a fresh build first. Returns the lesson folders
    written. Raises :class:`OtterArtefactError` when no selected lesson has a notebook or when
    ``assignments/`` is stale.
    """
    wanted = parse_lesson_list(lessons)
    selected = notebook_lessons(wanted)
    if not selected:
        raise OtterArtefactError("none of the selected lessons has a master notebook in solutions/ yet")
    for lesson in wanted:
        if lesson not in selected:
            why = "no master notebook in solutions/ yet" if lesson.notebook else "the lesson has no notebook"
            echo(f"{lesson.folder}: skipped ({why})")
    if check_fresh:
        check_student_folders(selected)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for lesson in selected:
        folder = out / lesson.folder
        make_self_contained(lesson, copy_student_folder(lesson, folder / "student"))
        build_autograder_zip(lesson, folder / "autograder.zip", timeout=timeout)
        echo(f"{lesson.folder}: student/ and autograder.zip")
        written.append(folder)
    (out / "README.md").write_text(README, encoding="utf-8")
    return written
