"""``autograder.release``: what the student template repository contains, and where it may be written."""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.lessons import ASSIGNMENTS_DIR, LESSONS, SOLUTIONS_DIR
from autograder.release import (COURSEKIT_DIR, MANIFEST, LeakError, ReleaseError, build_tree, main,
                                released_lessons)
from autograder.release.classroom import WORKFLOW_PATH


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and ".git" not in p.relative_to(root).parts[:1]}


def _generated(rel: str) -> bool:
    parts = rel.split("/")
    return any(part in {"figures", ".ipynb_checkpoints", ".pytest_cache"} for part in parts) \
        or rel.endswith((".pt", ".png", ".zip", ".pyc"))


# ------------------------------------------------------------------------------ contents


def test_released_lessons_are_those_with_a_starter():
    lessons = released_lessons()
    assert lessons, "assignments/ has no starter at all"
    for lesson in LESSONS:
        ready = (ASSIGNMENTS_DIR / lesson.relative_path).is_file()
        assert (lesson in lessons) == ready, lesson.folder


def test_release_has_the_student_repository_files(release_tree):
    for name in ("README.md", "pyproject.toml", ".gitignore", WORKFLOW_PATH, MANIFEST,
                 "coursekit/__init__.py", "coursekit/subset/LICENSE"):
        assert (release_tree / name).is_file(), f"{name} is missing from the release"


def test_lesson_folders_are_copies_of_assignments(release_tree):
    lessons = released_lessons()
    lesson_dirs = sorted(p.name for p in release_tree.iterdir() if p.is_dir() and p.name[:2].isdigit())
    assert lesson_dirs == [lesson.folder for lesson in lessons]
    for lesson in lessons:
        source, copy = ASSIGNMENTS_DIR / lesson.folder, release_tree / lesson.folder
        expected = {rel for rel in _files(source) if not _generated(rel)}
        assert _files(copy) == expected, lesson.folder
        for rel in expected:
            assert filecmp.cmp(source / rel, copy / rel, shallow=False), f"{lesson.folder}/{rel} differs"


def test_no_instructor_code_is_released(release_tree):
    names = {p.name for p in release_tree.rglob("*")}
    assert "autograder" not in names and "solutions" not in names
    for lesson in released_lessons():
        # The released student file is the starter, never the reference.
        reference = SOLUTIONS_DIR / lesson.folder / lesson.student_file
        assert (release_tree / lesson.relative_path).read_bytes() != reference.read_bytes()


def test_coursekit_is_the_whole_student_package(release_tree):
    expected = {rel for rel in _files(COURSEKIT_DIR) if not _generated(rel)}
    assert _files(release_tree / "coursekit") == expected
    assert {"testing.py", "checks.py", "data.py", "harness/__init__.py", "subset/LICENSE"} <= expected


def test_manifest_lists_every_file(release_tree):
    manifest = json.loads((release_tree / MANIFEST).read_text())
    assert manifest["course"] == "generative-foundations"
    assert manifest["lessons"] == [lesson.folder for lesson in released_lessons()]
    assert set(manifest["files"]) == _files(release_tree)


def test_student_pyproject(release_tree):
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    project = tomllib.loads((release_tree / "pyproject.toml").read_text())
    assert project["project"]["name"] == "generative-foundations-student"
    deps = " ".join(project["project"]["dependencies"])
    for package in ("torch>=2.2", "torchvision>=0.17", "numpy", "matplotlib", "scikit-learn", "umap-learn", "pytest",
                    "pytest-timeout", "nbformat", "otter-grader", "jupyter", "ipykernel"):
        assert package in deps, f"{package} is not a dependency of the student project"
    pytest_config = project["tool"]["pytest"]["ini_options"]
    assert "--import-mode=importlib" in pytest_config["addopts"]
    assert any(marker.startswith("task") for marker in pytest_config["markers"])
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == ["coursekit*"]
    for path in pytest_config["testpaths"]:
        assert (release_tree / path).is_dir(), path


def test_student_project_builds_a_wheel_with_coursekit_and_its_data(release_tree, tmp_path):
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "--no-index", "-q", "-w", str(tmp_path / "wheel"), str(release_tree)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "coursekit/testing.py" in names and "coursekit/harness/__init__.py" in names
    assert "coursekit/subset/train-images-idx3-ubyte.gz" in names
    assert not [n for n in names if n.startswith(("autograder", "0"))], "the wheel holds more than coursekit"


def test_readme_explains_setup_tests_and_submission(release_tree):
    readme = (release_tree / "README.md").read_text()
    assert "python -m pip install -e ." in readme   # every command: tests/release/test_readme_commands.py
    assert "cd 02-autoencoders\npython -m pytest" in readme.replace("   ", "")
    assert "GitHub Classroom" in readme and "Otter" in readme and ".zip" in readme
    for lesson in released_lessons():
        assert f"`{lesson.folder}/`" in readme
    assert "$" not in readme.replace("```bash", ""), "a template placeholder was left in the README"


def test_readme_says_what_the_classroom_score_is_and_names_the_check_commands(release_tree):
    readme = " ".join((release_tree / "README.md").read_text().split())
    assert "**not your grade**" in readme and "public tests only" in readme
    assert "Task 2.1 — Encoder" in readme, "the step titles a student sees in the Actions log"
    assert "python -m coursekit.classroom run" in readme and "python -m coursekit.classroom check 2.1" in readme
    assert "`feedback.md` on the branch `feedback`" in readme


def test_gitignore_keeps_environments_and_outputs_out(release_tree):
    ignored = (release_tree / ".gitignore").read_text().split()
    for pattern in (".venv/", "__pycache__/", ".ipynb_checkpoints/", "*.pt", ".classroom/"):
        assert pattern in ignored


# ------------------------------------------------------------------------------ main(): where it writes


@pytest.fixture
def one_lesson(tmp_path) -> Path:
    """An assignments folder with lesson 2 only, so these tests do not depend on lessons being written."""
    folder = tmp_path / "assignments"
    shutil.copytree(ASSIGNMENTS_DIR / "02-autoencoders", folder / "02-autoencoders",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_main_writes_a_release_without_leaks(tmp_path):
    """The real release: built from assignments/ and checked against solutions/ and the hidden suites."""
    try:
        release = main(out=tmp_path / "out")
    except LeakError as exc:
        pytest.fail(f"the student release leaks instructor material:\n{exc}")
    assert release.report.ok
    assert set(release.files) == _files(tmp_path / "out")
    assert [lesson.folder for lesson in release.lessons] == [l.folder for l in released_lessons()]


def test_main_refuses_a_folder_that_is_not_a_release(tmp_path, one_lesson):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ReleaseError, match="not empty"):
        main(out=out, assignments=one_lesson)
    assert _files(out) == {"notes.txt"}
    with pytest.raises(ReleaseError, match="not a folder"):
        main(out=out / "notes.txt", assignments=one_lesson)


def test_main_replaces_a_previous_release_and_keeps_git(tmp_path, one_lesson):
    out = tmp_path / "template-repo"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    first = main(out=out, assignments=one_lesson)    # a clone with only .git counts as empty
    (out / "stale.txt").write_text("from an older release")
    second = main(out=out, assignments=one_lesson)                      # a previous release is replaced
    assert not (out / "stale.txt").exists()
    assert (out / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert first.files == second.files


def test_force_replaces_anything_but_git(tmp_path, one_lesson):
    out = tmp_path / "out"
    (out / ".git").mkdir(parents=True)
    (out / "old").mkdir()
    (out / "old" / "x.py").write_text("x = 1\n")
    main(out=out, force=True, assignments=one_lesson)
    assert not (out / "old").exists() and (out / ".git").is_dir() and (out / "README.md").is_file()


def test_a_leaking_release_is_not_written(tmp_path, one_lesson):
    assignments = one_lesson
    lesson = released_lessons(assignments)[0]
    starter = assignments / lesson.relative_path
    starter.write_text(starter.read_text() + "\n# BEGIN SOLUTION\n# END SOLUTION\n")
    with pytest.raises(LeakError, match="solution marker") as caught:
        main(out=tmp_path / "out", assignments=assignments)
    assert any(leak.path == lesson.relative_path for leak in caught.value.report.leaks)
    assert not (tmp_path / "out").exists()


def test_no_lesson_ready_is_an_error(tmp_path):
    with pytest.raises(ReleaseError, match="no lesson is ready"):
        main(out=tmp_path / "out", assignments=tmp_path / "empty")


def test_build_tree_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x").write_text("")
    with pytest.raises(ReleaseError):
        build_tree(tmp_path)

