"""coursekit.classroom: the Classroom check's test run and its per-task graders, on made-up tests.

The commands run as the workflow runs them (``python -m coursekit.classroom ...`` in the
repository's top folder); the tests here are tiny, so each run costs one interpreter start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.lessons import REPO_ROOT
from coursekit.classroom import REPORT, RUN_STEP

TESTS = '''
import pytest
from coursekit.testing import task


@task("9.1")
def test_passes():
    pass


@task("9.1")
def test_also_passes():
    pass


@task("9.2")
def test_passes_too():
    pass


@task("9.2")
def test_fails():
    assert 1 + 1 == 3, "1 + 1 should be 3: the likely mistake is arithmetic."


@task("9.3")
def test_is_skipped():
    pytest.skip("needs a GPU")


def test_without_a_task():
    pass
'''


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, *args], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A made-up repository: one good test file, one that cannot be imported; the check run once."""
    root = tmp_path_factory.mktemp("classroom")
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider --import-mode=importlib\n"
                                     "markers =\n    task(id): the task\n")
    (root / "lesson" / "tests").mkdir(parents=True)
    (root / "lesson" / "tests" / "test_made_up.py").write_text(TESTS)
    (root / "lesson" / "tests" / "test_broken.py").write_text("import this_module_does_not_exist\n")
    result = _run(root, "-m", "coursekit.classroom", "run")
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def _check(repo: Path, task_id: str) -> subprocess.CompletedProcess:
    return _run(repo, "-m", "coursekit.classroom", "check", task_id)


def test_the_run_reports_every_test_with_its_task_and_the_files_that_could_not_load(repo):
    report = json.loads((repo / REPORT).read_text())
    outcomes = {test["nodeid"].split("::")[-1]: (test["task"], test["outcome"]) for test in report["tests"]}
    assert outcomes == {"test_passes": ("9.1", "passed"), "test_also_passes": ("9.1", "passed"),
                        "test_passes_too": ("9.2", "passed"), "test_fails": ("9.2", "failed"),
                        "test_is_skipped": ("9.3", "skipped"), "test_without_a_task": (None, "passed")}
    (failed,) = [t for t in report["tests"] if t["outcome"] == "failed"]
    assert failed["message"] == "1 + 1 should be 3: the likely mistake is arithmetic."   # no pytest noise
    (error,) = report["errors"]
    assert error["nodeid"].endswith("test_broken.py") and "this_module_does_not_exist" in error["message"]


def test_a_task_passes_when_all_its_public_tests_pass(repo):
    result = _check(repo, "9.1")
    assert result.returncode == 0, result.stdout
    assert "Task 9.1: 2 of 2 public tests passed." in result.stdout


def test_one_failed_test_fails_the_task_and_says_why_and_how_to_rerun_it(repo):
    result = _check(repo, "9.2")
    assert result.returncode == 1
    assert "Task 9.2: 1 of 2 public tests passed." in result.stdout
    assert "FAILED  lesson/tests/test_made_up.py::test_fails" in result.stdout
    assert "1 + 1 should be 3" in result.stdout
    assert 'python -m pytest "lesson/tests/test_made_up.py::test_fails"' in result.stdout


def test_a_skipped_test_does_not_pass_its_task(repo):
    result = _check(repo, "9.3")
    assert result.returncode == 1 and "SKIPPED" in result.stdout and "needs a GPU" in result.stdout


def test_a_task_with_no_test_that_ran_fails_and_names_the_files_that_could_not_load(repo):
    result = _check(repo, "9.4")
    assert result.returncode == 1
    assert "no public test of this task ran" in result.stdout and "test_broken.py" in result.stdout


def test_no_report_means_no_task_passes(tmp_path):
    result = _check(tmp_path, "9.1")
    assert result.returncode == 1 and RUN_STEP in result.stdout


def test_a_run_that_cannot_start_leaves_no_stale_report(repo, tmp_path):
    folder = tmp_path / "copy"
    folder.mkdir()
    (folder / REPORT).parent.mkdir()
    (folder / REPORT).write_text((repo / REPORT).read_text())      # a previous run's report
    result = _run(folder, "-m", "coursekit.classroom", "run", "--no-such-option")
    assert result.returncode != 0
    assert not (folder / REPORT).exists(), "a stale report would let the task steps pass"
    assert _check(folder, "9.1").returncode == 1


def test_a_task_step_imports_neither_torch_nor_pytest(repo):
    result = _run(repo, "-X", "importtime", "-m", "coursekit.classroom", "check", "9.1")
    assert result.returncode == 0, result.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert not {name for name in imported if name.split(".")[0] in {"torch", "pytest", "_pytest"}}, (
        "each task's step must stay cheap: it only reads the report")
