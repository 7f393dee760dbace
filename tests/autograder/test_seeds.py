"""A lesson's seeds: unpredictable without the course secret, the same for the same file."""

from __future__ import annotations

import stat

from autograder.lessons import lesson_by_number
from autograder.report import SubmissionResult, gradescope_results
from autograder.runner import LessonResult
from autograder.seeds import SECRET_FILE, SECRET_VARIABLE, SEED_RANGE, course_secret, lesson_seeds


def test_seeds_depend_on_the_secret_the_lesson_and_every_byte_of_the_file():
    seeds = lesson_seeds(b"course", 2, b"def f(): return 1\n")
    assert seeds == lesson_seeds(b"course", 2, b"def f(): return 1\n")
    others = {lesson_seeds(b"course", 2, b"def f(): return 2\n"), lesson_seeds(b"other", 2, b"def f(): return 1\n"),
              lesson_seeds(b"course", 3, b"def f(): return 1\n")}
    assert seeds not in others and len(others) == 3
    assert seeds.grader != seeds.worker and 0 not in (seeds.grader, seeds.worker)
    assert all(0 <= s < SEED_RANGE for s in (seeds.grader, seeds.worker))


def test_the_secret_is_the_variable_or_one_random_file_per_output_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    first = course_secret(tmp_path / "out")
    assert len(first) == 64 and course_secret(tmp_path / "out") == first
    assert stat.S_IMODE((tmp_path / "out" / SECRET_FILE).stat().st_mode) == 0o600
    assert course_secret(tmp_path / "elsewhere") != first
    assert [p.name for p in (tmp_path / "out").iterdir()] == [SECRET_FILE]
    assert course_secret(None) != course_secret(None)  # no folder to keep it: random each time
    monkeypatch.setenv(SECRET_VARIABLE, "the course's own")
    assert course_secret(tmp_path / "out") == b"the course's own" == course_secret(None)


def test_results_json_records_each_lessons_seeds():
    seeds = lesson_seeds(b"course", 2, b"x = 1\n")
    result = SubmissionResult("alice", [LessonResult(lesson_by_number(2), seeds=seeds)])
    recorded = gradescope_results(result)["extra_data"]["lessons"]["lesson2"]["seeds"]
    assert recorded == {"grader": seeds.grader, "worker": seeds.worker}
