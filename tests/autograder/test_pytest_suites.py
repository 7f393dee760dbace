"""``pytest autograder/suites/lessonN.py --submission DIR``: the hidden suite through pytest,
graded in the sandbox by the same runner as a bulk run (one subprocess per submission)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from autograder.lessons import ASSIGNMENTS_DIR, LESSONS, REPO_ROOT, SOLUTIONS_DIR
from autograder.suite import load_suite

pytestmark = pytest.mark.slow
SELECTED = "q1_spam_filter or task_1_3"  # a function name and a task: both kinds of -k


def run_suite(submission, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "pytest", "autograder/suites/lesson1.py",
                           "--submission", str(submission), "-k", SELECTED, *args],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_the_reference_passes_with_full_points():
    run = run_suite(SOLUTIONS_DIR)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout and "deselected" in run.stdout
    assert "lesson 1: 1.5/1.5 points" in run.stdout


def test_the_starter_fails_every_test_with_its_feedback():
    run = run_suite(ASSIGNMENTS_DIR, "-x")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed" in run.stdout  # -x stops at the first failure
    assert "0/0.5 points" in run.stdout
    assert "lesson 1: 0/1.5 points" in run.stdout


def test_the_suites_folder_collects_every_lesson_and_needs_a_submission():
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    run = subprocess.run([sys.executable, "-m", "pytest", "autograder/suites", "-k", "q1_spam_filter"],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "--submission DIR_OR_ZIP is required" in run.stdout + run.stderr
    every_test = sum(len(load_suite(lesson)) for lesson in LESSONS)
    assert f"{every_test - 1} deselected" in run.stdout, run.stdout


def test_a_run_stopped_by_sigterm_leaves_no_folder_behind(tmp_path):
    """pytest leaves SIGTERM at its default: the grading folders still go before it dies."""
    from tests.helpers import reference_source, scratch_kinds, write_submission
    submission = write_submission(tmp_path / "subs", "slow", {1: "import time\ntime.sleep(60)\n"
                                                                 + reference_source(1)})
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TMPDIR": str(tmp)}
    run = subprocess.Popen([sys.executable, "-m", "pytest", "autograder/suites/lesson1.py", "--submission",
                            str(submission), "-k", SELECTED], cwd=REPO_ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp.glob("gf-workers-*/w-*")):  # a worker is importing the slow file
            assert run.poll() is None and time.monotonic() < deadline, "no worker started"
            time.sleep(0.1)
        assert scratch_kinds(tmp) == ["gf-pytest", "gf-workers"]
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == -signal.SIGTERM
        assert list(tmp.glob("gf-*")) == []
    finally:
        run.kill()
        run.wait()
