"""The course's pytest plugin and the notebooks' checks, as a student meets them.

A lesson folder is copied from ``assignments/`` (starter + public tests) and pytest runs in it
in a fresh interpreter, on an 80-column terminal: ``-k task_2_1`` selects exactly the task's
tests, the output of an untouched starter is short, and every stub's whole message is in the
summary. ``check_task`` (the notebooks' check cells) says the task, the test and the message only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.lessons import ASSIGNMENTS_DIR, LESSONS
from coursekit.checks import check_task
from coursekit.pytest_plugin import task_keyword

REPO_ROOT = Path(__file__).resolve().parents[2]
LESSON2 = next(l for l in LESSONS if l.number == 2)
TASK_MARK = re.compile(r'^@task\("(\d+\.\d+)"\)\s*\ndef (test_\w+)', re.MULTILINE)


def _lesson_copy(tmp_path: Path, lesson=LESSON2) -> Path:
    folder = tmp_path / lesson.folder
    shutil.copytree(ASSIGNMENTS_DIR / lesson.folder, folder)
    return folder


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "COLUMNS": "80"}
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("CI", None)   # pytest does not cut summary lines on CI; a laptop is not CI
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=300)


def _tests_by_task(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for file in (folder / "tests").glob("test_*.py"):
        for task, name in TASK_MARK.findall(file.read_text(encoding="utf-8")):
            found.setdefault(task, set()).add(name)
    return found


def test_k_task_selects_exactly_that_tasks_tests(tmp_path):
    folder = _lesson_copy(tmp_path)
    by_task = _tests_by_task(folder)
    assert len(by_task) >= 2, by_task
    # One interpreter collects once per task (pytest.main in a loop): torch is imported once.
    script = ("import sys, pytest\n"
              "for keyword in sys.argv[1:]:\n"
              "    print('=== ' + keyword, flush=True)\n"
              "    pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', '-k', keyword])\n")
    keywords = [task_keyword(task) for task in by_task]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run([sys.executable, "-c", script, *keywords], cwd=folder, env=env,
                         capture_output=True, text=True, timeout=300).stdout
    for task, names in by_task.items():
        block = out.split(f"=== {task_keyword(task)}\n", 1)[1].split("=== ", 1)[0]
        collected = {line.rsplit("::", 1)[-1] for line in block.splitlines() if "::" in line}
        assert collected == names, f"-k {task_keyword(task)} collected {sorted(collected)}, wanted {sorted(names)}"


def test_k_task_does_not_pick_a_task_whose_number_extends_it(tmp_path):
    folder = _lesson_copy(tmp_path)
    (folder / "tests" / "test_more.py").write_text(
        "from coursekit.testing import task\n\n\n@task(\"2.10\")\ndef test_of_task_2_10():\n    pass\n",
        encoding="utf-8")
    result = _pytest(folder, "--collect-only", "-q", "-k", "task_2_1")
    assert "test_of_task_2_10" not in result.stdout
    assert "test_encoder_output_shape" in result.stdout
    assert "test_of_task_2_10" in _pytest(folder, "--collect-only", "-q", "-k", "task_2_10").stdout


def test_untouched_starter_output_is_short_and_names_every_stub_whole(tmp_path):
    folder = _lesson_copy(tmp_path)
    result = _pytest(folder)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    failed = [line for line in lines if line.startswith("FAILED ")]
    collected = _pytest(folder, "--collect-only", "-q").stdout.splitlines()
    tests = sum(1 for line in collected if "::" in line)  # parametrized tests count once per case
    assert len(failed) == tests, result.stdout
    stub = re.compile(r"(Task \d+\.\d+: \S+ is not implemented yet|Q\d+ is not answered yet: .*\.)$")
    for line in failed:
        assert stub.search(line), f"cut or missing message: {line!r}"
    assert len(lines) <= 4 * tests + 15, f"{len(lines)} lines for {tests} failing tests:\n{result.stdout}"
    assert "Traceback" not in result.stdout and "\x1b[" not in result.stdout


def test_a_failed_assertion_keeps_a_short_traceback_and_its_message(tmp_path):
    folder = _lesson_copy(tmp_path)
    (folder / "tests" / "test_wrong.py").write_text(
        "from coursekit.testing import task\n\n\n@task(\"2.1\")\ndef test_wrong():\n"
        "    assert 1 == 2, 'expected one thing, found another: ' + 'x' * 80\n", encoding="utf-8")
    result = _pytest(folder, "-k", "test_wrong")
    summary = [line for line in result.stdout.splitlines() if line.startswith("FAILED ")]
    assert summary == ["FAILED task 2.1 test_wrong - expected one thing, found another: " + "x" * 80], result.stdout
    assert "test_wrong.py:6: in test_wrong" in result.stdout   # --tb=short: where it failed


def test_check_task_reports_the_task_the_tests_and_their_messages_only(tmp_path):
    folder = _lesson_copy(tmp_path)
    with pytest.raises(AssertionError) as failure:
        check_task("2.1", folder)
    lines = str(failure.value).splitlines()
    names = sorted(_tests_by_task(folder)["2.1"])
    assert lines[0] == f"Task 2.1: {len(names)} public test(s) failed."
    assert sorted(lines[1:]) == [f"- {name}: Task 2.1: Encoder.__init__ is not implemented yet" for name in names]


def test_check_task_passes_silently_and_refuses_an_unknown_task(tmp_path):
    folder = _lesson_copy(tmp_path)
    shutil.copyfile(REPO_ROOT / "solutions" / LESSON2.folder / LESSON2.student_file, folder / LESSON2.student_file)
    assert check_task("2.4", folder) is None
    with pytest.raises(AssertionError, match="no public test for task 2.99"):
        check_task("2.99", folder)
