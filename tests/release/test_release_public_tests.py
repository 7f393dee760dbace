"""The release's public tests, run as a student (and the Classroom workflow) runs them.

On the untouched starters, each lesson's tests, run with the exact command of its Classroom step,
fail, and only with the stubs' "not implemented" messages. With the reference solution files
copied in, ``pytest`` at the top of the release (every lesson at once, as the README says) passes.
coursekit is the release's own copy (``PYTHONPATH=<release root>``), not the instructor repository's.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from autograder.lessons import SOLUTIONS_DIR
from autograder.release import released_lessons
from autograder.release.classroom import COMMAND_GRADER, WORKFLOW_PATH
from tests.release.helpers import run_in

# The two stub messages: a function stub raises "Task N.M: ... is not implemented yet"; an
# unanswered lesson-1 concept question (``Q3 = None``) fails with "Q3 is not answered yet".
STUB_MESSAGES = ("is not implemented yet", "is not answered yet")
LESSONS = released_lessons()
IDS = [lesson.folder for lesson in LESSONS]


def _grader_commands(release: Path) -> dict[str, str]:
    """step id -> the ``command`` of each command-grader step of the generated workflow."""
    workflow = yaml.safe_load((release / WORKFLOW_PATH).read_text())
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    return {step["id"]: step["with"]["command"] for step in steps if step.get("uses") == COMMAND_GRADER}


def _junit(path: Path) -> list[tuple[str, str, str | None]]:
    """[(file, test name, failure or error text or None)] from a pytest junit report."""
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        problems = [(node.get("message") or "") + "\n" + (node.text or "")
                    for tag in ("failure", "error") for node in case.findall(tag)]
        cases.append((case.get("file", ""), case.get("name", "?"), "\n".join(problems) or None))
    return cases


JUNIT = "-o junit_family=xunit1 --junitxml"


@pytest.fixture(scope="module")
def reference_run(release_tree, tmp_path_factory):
    """``pytest`` at the top of a release with every lesson's reference file copied in."""
    tmp = tmp_path_factory.mktemp("reference-run")
    release = tmp / "release"
    shutil.copytree(release_tree, release)
    for lesson in LESSONS:
        shutil.copyfile(SOLUTIONS_DIR / lesson.relative_path, release / lesson.relative_path)
    junit = tmp / "junit.xml"
    result = run_in(release, release, f"python -m pytest -q {JUNIT}={junit}", timeout=600)
    return result, (_junit(junit) if junit.exists() else [])


def test_coursekit_comes_from_the_release(release_tree):
    result = run_in(release_tree, release_tree, 'python -c "import coursekit; print(coursekit.__file__)"')
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve().is_relative_to(release_tree.resolve())


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_public_tests_fail_only_as_not_implemented_on_the_starter(release_tree, lesson, tmp_path):
    junit = tmp_path / "junit.xml"
    command = _grader_commands(release_tree)[lesson.key]      # cd <lesson> && python -m pytest -q
    result = run_in(release_tree, release_tree, f"{command} {JUNIT}={junit}")
    assert junit.exists(), f"pytest did not run:\n{result.stdout}\n{result.stderr}"
    cases = _junit(junit)
    assert cases, f"{lesson.folder} has no public test"
    failed = [(name, text) for _, name, text in cases if text is not None]
    assert result.returncode == 1 and failed, (
        f"the untouched starter of {lesson.folder} should fail its public tests:\n{result.stdout[-3000:]}")
    other = [(name, text) for name, text in failed if not any(m in text for m in STUB_MESSAGES)]
    assert not other, (f"{lesson.folder}: public tests failed on the starter for another reason than a stub:\n"
                       + "\n\n".join(f"{name}: {text[:1500]}" for name, text in other))


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_public_tests_pass_on_the_reference(reference_run, lesson):
    result, cases = reference_run
    mine = [(name, text) for file, name, text in cases if file.startswith(f"{lesson.folder}/")]
    assert mine, f"pytest at the top of the release ran no test of {lesson.folder}:\n{result.stdout[-3000:]}"
    failed = [(name, text) for name, text in mine if text is not None]
    assert not failed, (f"{lesson.folder}: public tests fail on the reference solution:\n"
                        + "\n\n".join(f"{name}: {text[:1500]}" for name, text in failed))


def test_pytest_at_the_top_runs_every_lesson_and_passes_on_the_references(reference_run):
    result, cases = reference_run
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert {file.split("/")[0] for file, _, _ in cases} == set(IDS)
