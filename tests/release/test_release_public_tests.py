"""The release's public tests, run as a student and as the Classroom workflow runs them.

On the untouched starters, each lesson's tests, run with the README's command in the lesson
folder, fail, and only with the stubs' "not implemented" messages. With the reference solution
files copied in, the Classroom workflow's steps, run exactly as written (every lesson's tests at
once from the top of the release, then one grader per task), pass every test and award every
point; on partly done work they award exactly the points of the tasks done. coursekit is the
release's own copy (``PYTHONPATH=<release root>``), not the instructor repository's.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograder.lessons import SOLUTIONS_DIR, lesson_by_number
from autograder.release import released_lessons
from autograder.release.tasks import lesson_tasks
from coursekit.classroom import REPORT
from coursekit.testing import STUB_PHRASES
from tests.release.helpers import run_classroom_workflow, run_in

# The two stub messages: a function stub raises "Task N.M: ... is not implemented yet"; an
# unanswered lesson-1 concept question (``Q3 = None``) fails with "Q3 is not answered yet".
LESSONS = released_lessons()
IDS = [lesson.folder for lesson in LESSONS]


def _junit(path: Path) -> list[tuple[str, str, str | None]]:
    """[(file, test name, failure or error text or None)] from a pytest junit report."""
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        problems = [(node.get("message") or "") + "\n" + (node.text or "")
                    for tag in ("failure", "error") for node in case.findall(tag)]
        cases.append((case.get("file", ""), case.get("name", "?"), "\n".join(problems) or None))
    return cases


JUNIT = "-o junit_family=xunit1 --junitxml"


def _release_with(release_tree: Path, folder: Path, files: dict[str, str]) -> Path:
    """A copy of the release with ``files`` (lesson path -> text) written over the starters."""
    release = folder / "release"
    shutil.copytree(release_tree, release)
    for relative_path, text in files.items():
        (release / relative_path).write_text(text, encoding="utf-8")
    return release


def _reference(lesson) -> str:
    return (SOLUTIONS_DIR / lesson.relative_path).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def reference_run(release_tree, tmp_path_factory):
    """The Classroom workflow run as written on a release with every lesson's reference file."""
    release = _release_with(release_tree, tmp_path_factory.mktemp("reference-run"),
                            {lesson.relative_path: _reference(lesson) for lesson in LESSONS})
    workflow = run_classroom_workflow(release)
    report = json.loads((release / REPORT).read_text()) if (release / REPORT).is_file() else {}
    return workflow, report


def test_coursekit_comes_from_the_release(release_tree):
    result = run_in(release_tree, release_tree, 'python -c "import coursekit; print(coursekit.__file__)"')
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve().is_relative_to(release_tree.resolve())


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_public_tests_fail_only_as_not_implemented_on_the_starter(release_tree, lesson, tmp_path):
    junit = tmp_path / "junit.xml"
    result = run_in(release_tree, release_tree, f"cd {lesson.folder} && python -m pytest -q {JUNIT}={junit}")
    assert junit.exists(), f"pytest did not run:\n{result.stdout}\n{result.stderr}"
    cases = _junit(junit)
    assert cases, f"{lesson.folder} has no public test"
    failed = [(name, text) for _, name, text in cases if text is not None]
    assert result.returncode == 1 and failed, (
        f"the untouched starter of {lesson.folder} should fail its public tests:\n{result.stdout[-3000:]}")
    other = [(name, text) for name, text in failed if not any(m in text for m in STUB_PHRASES)]
    assert not other, (f"{lesson.folder}: public tests failed on the starter for another reason than a stub:\n"
                       + "\n\n".join(f"{name}: {text[:1500]}" for name, text in other))


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_public_tests_pass_on_the_reference(reference_run, lesson):
    workflow, report = reference_run
    mine = [test for test in report.get("tests", []) if test["nodeid"].startswith(f"{lesson.folder}/")]
    assert mine, f"the Classroom test run ran no test of {lesson.folder}:\n{workflow.run.stdout[-3000:]}"
    failed = [test for test in mine if test["outcome"] != "passed"]
    assert not failed, (f"{lesson.folder}: public tests fail on the reference solution:\n"
                        + "\n\n".join(f"{t['nodeid']}: {t['message'][:1500]}" for t in failed))
    assert all(test["task"] for test in mine), "every public test is marked with its task"


def test_classroom_check_awards_every_point_on_the_references(reference_run):
    workflow, report = reference_run
    assert workflow.run.returncode == 0, workflow.run.stdout[-4000:] + workflow.run.stderr[-2000:]
    assert {test["nodeid"].split("/")[0] for test in report["tests"]} == set(IDS), "every lesson ran"
    failing = {step: result.stdout for step, result in workflow.checks.items() if result.returncode != 0}
    assert not failing, failing
    assert workflow.score == sum(lesson.points for lesson in LESSONS)
    assert "Task 2.1: 2 of 2 public tests passed." in workflow.checks["task2_1"].stdout


def test_classroom_check_awards_the_points_of_the_tasks_done(release_tree, tmp_path):
    """Partly done work: lesson 1 with one question unanswered (task 1.1 fails), lesson 2 with
    evaluate and pca_reconstruct back to their stubs (tasks 2.6 and 2.8 fail), lessons 3 and 4
    untouched. Stubs are appended to the reference, so they replace its definitions."""
    one, two = lesson_by_number(1), lesson_by_number(2)
    stubs = ("\n\ndef evaluate(*args, **kwargs):\n"
             "    raise NotImplementedError('Task 2.6: evaluate is not implemented yet')\n"
             "\n\ndef pca_reconstruct(*args, **kwargs):\n"
             "    raise NotImplementedError('Task 2.8: pca_reconstruct is not implemented yet')\n")
    release = _release_with(release_tree, tmp_path, {one.relative_path: _reference(one) + "\nQ3 = None\n",
                                                     two.relative_path: _reference(two) + stubs})
    workflow = run_classroom_workflow(release)
    assert workflow.run.returncode == 0, workflow.run.stdout[-4000:]
    done = {task.step_id: task.points for lesson in (one, two) for task in lesson_tasks(lesson)
            if task.id not in {"1.1", "2.6", "2.8"}}
    assert workflow.passed() == set(done)
    assert workflow.score == sum(done.values())
    assert 0 < workflow.score < one.points + two.points
    failed = workflow.checks["task2_8"].stdout
    assert "FAILED" in failed and "Task 2.8: pca_reconstruct is not implemented yet" in failed
    assert "Q3 is not answered yet" in workflow.checks["task1_1"].stdout
