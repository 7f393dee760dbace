"""No points for facts the worker reports about itself, nor for code that computes nothing.

One ``grade`` run grades every forgery of :mod:`tests.attacks.honesty` and the do-nothing
submission of ``tests/donothing/`` (issue #14, classes 3, 4 and 6).
"""

from __future__ import annotations

import pytest

from autograder.lessons import LESSONS, lesson_by_number
from autograder.suite import load_suite
from tests.attacks.honesty import FORGERIES, SHAPE_POINTS, Forgery, donothing_source
from tests.helpers import grade_sources, lesson_score

pytestmark = pytest.mark.slow
DONOTHING = "donothing"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    submissions = {f.name: {f.lesson: f.source()} for f in FORGERIES}
    submissions[DONOTHING] = {lesson.number: donothing_source(lesson.number) for lesson in LESSONS}
    return grade_sources(tmp_path_factory.mktemp("honesty"), submissions,
                         lessons=",".join(str(lesson.number) for lesson in LESSONS))


def _outcome(results: dict, lesson: int, test_id: str) -> dict:
    name = next(t.name for t in load_suite(lesson_by_number(lesson)) if t.id == test_id)
    return next(t for t in results["tests"]
                if t["tags"][0] == f"lesson{lesson}" and t["name"].endswith(name))


@pytest.mark.parametrize("forgery", FORGERIES, ids=[f.name for f in FORGERIES])
def test_forgery_earns_nothing(results: dict[str, dict], forgery: Forgery) -> None:
    graded = results[forgery.name]
    won = [test_id for test_id in forgery.must_fail
           if _outcome(graded, forgery.lesson, test_id)["status"] == "passed"]
    assert not won, f"{forgery.name} ({forgery.description}) passed {won}"
    for test_id in forgery.must_fail:
        assert _outcome(graded, forgery.lesson, test_id)["output"].strip(), f"{test_id}: no feedback"


@pytest.mark.parametrize("lesson", [lesson.number for lesson in LESSONS], ids=lambda n: f"lesson{n}")
def test_donothing_scores_at_most_the_shape_tests(results: dict[str, dict], lesson: int) -> None:
    score = lesson_score(results[DONOTHING], lesson)
    passed = [t["name"] for t in results[DONOTHING]["tests"]
              if t["tags"][0] == f"lesson{lesson}" and t["status"] == "passed"]
    assert score <= SHAPE_POINTS[lesson], (
        f"a submission that computes nothing scored {score} in lesson {lesson} (its shape tests are "
        f"worth {SHAPE_POINTS[lesson]}): it passed {passed}")
