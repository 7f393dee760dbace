"""``otter run -a autograder.zip EXPORT``: the score is the isolated engine's, whatever the notebook does.

Each run is the real thing: Otter unpacks the zip, loads the IsolatedGrading plugin, starts a
kernel, and the plugin grades the export with ``python -m autograder grade`` from the unpacked
zip. The reference scores the lesson's points, the starter 0; a notebook that wraps Otter's
checker (with a forged ``.OTTER_LOG`` and a look-alike ``autograder`` package) gains nothing,
although the same tricks beat an ordinary Otter autograder.
"""

from __future__ import annotations

import json

import pytest

from tests.otter.exports import cheat_export, gradable_lessons, otter_run, plain_otter_zip

LESSONS = gradable_lessons()
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800),
              pytest.mark.skipif(not LESSONS, reason="no notebook lesson has a reference and a suite yet")]


VARIANTS = ("reference", "starter")


@pytest.fixture(scope="module")
def runs(autograder_zip, exports, tmp_path_factory) -> dict[tuple[int, str], tuple[dict, str] | BaseException]:
    """``otter run`` of every lesson's reference and starter export (one at a time: concurrent
    graders on one machine share the workers' user ids, and with them a process limit)."""
    root = tmp_path_factory.mktemp("otter-runs")
    done: dict[tuple[int, str], tuple[dict, str] | BaseException] = {}
    for lesson in LESSONS:
        for variant in VARIANTS:
            try:
                done[(lesson.number, variant)] = otter_run(autograder_zip(lesson), exports(lesson).zips[variant],
                                                           root / f"{lesson.number}-{variant}")
            except Exception as exc:  # reported by the test that needs this run
                done[(lesson.number, variant)] = exc
    return done


def run_of(runs: dict, lesson, variant: str) -> tuple[dict, str]:
    result = runs[(lesson.number, variant)]
    if isinstance(result, BaseException):
        raise result
    return result


def lesson_tests(results: dict, lesson) -> dict[str, float]:
    return {t["name"]: t["score"] for t in results["tests"] if f"lesson{lesson.number}" in t.get("tags", [])}


def failures(results: dict) -> str:
    return "\n".join(f"{t['name']}: {t.get('output', '')}" for t in results["tests"]
                     if t.get("status") != "passed")[:5000]


@pytest.mark.parametrize("lesson", LESSONS, ids=[l.folder for l in LESSONS])
def test_reference_export_scores_full_marks_with_the_engines_results(lesson, runs, bulk):
    results, output = run_of(runs, lesson, "reference")
    assert results["score"] == lesson.points, failures(results) or output[-5000:]
    assert all(t["status"] == "passed" for t in results["tests"]), failures(results)
    assert lesson_tests(results, lesson) == lesson_tests(bulk(lesson, "reference"), lesson), \
        "Otter's results differ from those of python -m autograder grade"
    assert "Graded by the isolated engine" in output


@pytest.mark.parametrize("lesson", LESSONS, ids=[l.folder for l in LESSONS])
def test_starter_export_scores_zero(lesson, runs):
    results, output = run_of(runs, lesson, "starter")
    assert results["score"] == 0, output[-5000:]
    assert sum(t["max_score"] for t in results["tests"]) == lesson.points
    assert "not implemented yet" in json.dumps(results["tests"])


def test_cheating_notebook_gains_nothing(autograder_zip, tmp_path):
    lesson = LESSONS[0]
    markers = tmp_path / "markers"
    export = cheat_export(tmp_path / "cheat.zip", lesson, markers)
    results, output = otter_run(autograder_zip(lesson), export, tmp_path / "otter")
    assert results["score"] == 0, output[-5000:]
    assert not any(markers.iterdir()), f"submitted code ran in the grading process: {list(markers.iterdir())}"


def test_the_same_cheat_beats_plain_otter(tmp_path):
    """The control: without the plugin, the cheat scores a hidden test that cannot pass, and
    Otter unpickles the submitted log in its own process."""
    lesson = LESSONS[0]
    markers = tmp_path / "markers"
    export = cheat_export(tmp_path / "cheat.zip", lesson, markers)
    results, output = otter_run(plain_otter_zip(tmp_path / "plain" / "autograder.zip"), export,
                                tmp_path / "otter")
    hidden = [t for t in results["tests"] if t.get("name") == "hidden"]
    assert hidden and hidden[0]["score"] == hidden[0]["max_score"] == 10, output[-5000:]
    assert (markers / "otter-log-unpickled").exists()
