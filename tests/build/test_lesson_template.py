"""Adding a lesson: a throwaway fifth lesson from the template is built, documented and graded
by the code that handles the real ones, with nothing but a registry entry added."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from autograder import lessons
from autograder.build import docs
from autograder.build.lesson_template import write_lesson
from autograder.build.stripper import strip_solutions
from autograder.lessons import REPO_ROOT, Lesson
from tests.helpers import grade_sources

THROWAWAY = Lesson(5, "throwaway-lesson", "toy.py", None, 7)


@pytest.fixture
def fifth_lesson(tmp_path, monkeypatch):
    """The template's files in a temporary solutions/ and suites/; the registry holds lesson 5."""
    solutions, suites = tmp_path / "solutions", tmp_path / "suites"
    written = write_lesson(THROWAWAY, solutions, suites)
    spec = importlib.util.spec_from_file_location(THROWAWAY.suite_module, suites / "lesson5.py")
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    monkeypatch.setitem(sys.modules, THROWAWAY.suite_module, suite)
    monkeypatch.setattr(lessons, "LESSONS", lessons.LESSONS + (THROWAWAY,))
    monkeypatch.setattr(docs, "SOLUTIONS_DIR", solutions)
    return solutions, written


def test_the_template_refuses_to_overwrite(fifth_lesson, tmp_path):
    with pytest.raises(FileExistsError):
        write_lesson(THROWAWAY, tmp_path / "solutions", tmp_path / "suites")


def test_a_fifth_lesson_builds_documents_and_grades(fifth_lesson, tmp_path):
    solutions, _ = fifth_lesson
    folder = solutions / THROWAWAY.folder
    reference = (folder / THROWAWAY.student_file).read_text()
    starter = strip_solutions(reference)
    assert 'raise NotImplementedError("Task 5.1: double is not implemented yet")' in starter

    page = docs.lesson_page(THROWAWAY)
    assert "**7 points**" in page and "`double(x: torch.Tensor) -> torch.Tensor` (task 5.1)" in page
    assert "| 5.1 | double returns twice its input | 7 |" in page

    public = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                            cwd=folder, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                            capture_output=True, text=True, timeout=120)
    assert public.returncode == 0, public.stdout + public.stderr

    results = grade_sources(tmp_path / "graded", {"reference": {5: reference}, "starter": {5: starter}},
                            lessons="5")
    assert results["reference"]["score"] == 7 and results["reference"]["extra_data"]["status"] == "ok"
    assert results["starter"]["score"] == 0
    assert "Task 5.1 is not implemented yet" in results["starter"]["tests"][0]["output"]


def test_new_lesson_command_never_overwrites_a_lesson():
    from click.testing import CliRunner

    from autograder.cli import cli

    existing = lessons.LESSONS[1]
    before = (REPO_ROOT / "solutions" / existing.relative_path).read_bytes()
    result = CliRunner().invoke(cli, ["new-lesson", str(existing.number), existing.slug,
                                      existing.student_file, "--points", "1"])
    assert result.exit_code == 1 and "not overwriting" in result.output
    assert (REPO_ROOT / "solutions" / existing.relative_path).read_bytes() == before
