"""Helpers for the release tests: run a command in a release as a student's shell (or the Classroom
workflow) would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml


def student_env(release_root: Path) -> dict[str, str]:
    """The environment of a student's shell: the release's coursekit first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(release_root)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("PYTEST_ADDOPTS", None)
    return env


def run_in(folder: Path, release_root: Path, command: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a shell command in ``folder`` as a student would (``python`` is this interpreter)."""
    return subprocess.run(["bash", "-c", command], cwd=folder, env=student_env(release_root),
                          capture_output=True, text=True, timeout=timeout)


@dataclass
class ClassroomRun:
    """The Classroom workflow's steps run as written: the test run, then each task's grader."""

    run: subprocess.CompletedProcess
    checks: dict[str, subprocess.CompletedProcess]     # grader step id -> its command's run
    max_scores: dict[str, int]

    @property
    def score(self) -> int:
        """What the reporter adds up: the max-score of every grader whose command exited 0."""
        return sum(self.max_scores[step] for step, result in self.checks.items() if result.returncode == 0)

    def passed(self) -> set[str]:
        return {step for step, result in self.checks.items() if result.returncode == 0}


def run_classroom_workflow(release_root: Path) -> ClassroomRun:
    """Run the workflow's own commands, exactly as written, in ``release_root``.

    The steps before the test run (checkout, set-up, install) prepare the runner; this Python
    already has the course's dependencies, and the release's coursekit comes first on the path.
    """
    from autograder.release.classroom import COMMAND_GRADER, JOB_ID, RUN_COMMAND, WORKFLOW_PATH

    steps = yaml.safe_load((release_root / WORKFLOW_PATH).read_text())["jobs"][JOB_ID]["steps"]
    (run_step,) = [step for step in steps if step.get("run") == RUN_COMMAND]
    run = run_in(release_root, release_root, run_step["run"], timeout=600)
    graders = [step for step in steps if step.get("uses") == COMMAND_GRADER]
    checks = {step["id"]: run_in(release_root, release_root, step["with"]["command"], timeout=60)
              for step in graders}
    return ClassroomRun(run, checks, {step["id"]: step["with"]["max-score"] for step in graders})
