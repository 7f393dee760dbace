"""The regrade fingerprint covers every file that can change a score, derived, not listed."""

from __future__ import annotations

from pathlib import Path

from autograder import grade
from autograder.lessons import LESSONS, REPO_ROOT, lesson_by_number


def test_every_engine_module_and_the_graded_suite_count():
    files = set(grade.grading_files((lesson_by_number(2),)))
    engine = {p.relative_to(REPO_ROOT) for p in (REPO_ROOT / "autograder").glob("*.py")}
    assert engine <= files  # protocol.py, proxy.py, worker.py ... and any module added later
    assert {Path("autograder/protocol.py"), Path("autograder/proxy.py"), Path("autograder/worker.py"),
            Path("coursekit/testing.py"), Path("autograder/suites/lesson2.py")} <= files
    assert any(p.parts[:2] == ("coursekit", "subset") for p in files)  # the data the suites train on
    assert Path("autograder/suites/lesson3.py") not in files
    assert not any("__pycache__" in p.parts for p in files)


def test_a_change_to_any_grading_file_changes_the_hash(monkeypatch, tmp_path):
    for package in grade.GRADING_PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "module.py").write_text("A = 1\n")
    monkeypatch.setattr(grade, "REPO_ROOT", tmp_path)
    before = grade.grading_code_hash(LESSONS)
    (tmp_path / "autograder" / "new_module.py").write_text("B = 2\n")
    assert grade.grading_code_hash(LESSONS) != before
