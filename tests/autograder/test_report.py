"""What grading writes: Gradescope's results.json, feedback.md, grades.csv, summary.md, scores.png."""

from __future__ import annotations

import csv
import io
import json

from autograder.lessons import lesson_by_number
from autograder.report import (SubmissionResult, atomic_write, csv_row, feedback_markdown,
                               gradescope_results, grades_csv, read_results, results_json,
                               row_from_results_json, write_submission)
from autograder.runner import LessonResult
from autograder.runner import TestResult as Outcome  # not a pytest class
from autograder.summary import summary_markdown, write_gradebook

L2 = lesson_by_number(2)
L3 = lesson_by_number(3)


def lesson2(passed: int) -> LessonResult:
    """Lesson 2 with tests worth 10, 10 and 10 points, the first ``passed`` of them passing."""
    result = LessonResult(L2)
    for i in range(3):
        ok = i < passed
        result.tests.append(Outcome(f"check {i}", f"2.{i + 1}", f"t{i}", 10, 10.0 if ok else 0.0,
                                       "passed" if ok else "failed",
                                       "" if ok else f"Expected a mean, got a sum (check {i})."))
    return result


def missing_lesson3() -> LessonResult:
    message = "`03-variational-autoencoders/vae.py` was not found in the submission."
    result = LessonResult(L3, status="error", message=message)
    result.tests.append(Outcome("kl", "3.4", "kl", 35, 0.0, "error", message))
    return result


def sample(name: str = "alice", passed: int = 2) -> SubmissionResult:
    return SubmissionResult(name=name, lessons=[lesson2(passed), missing_lesson3()],
                            execution_time=1.23456, fingerprint="sha256:abc")


def test_results_json_has_the_gradescope_schema():
    data = gradescope_results(sample())
    assert data["score"] == 20 and data["execution_time"] == 1.235
    assert len(data["tests"]) == 4
    for test in data["tests"]:
        assert {"name", "score", "max_score", "visibility", "output", "tags"} <= set(test)
        assert isinstance(test["tags"], list) and test["visibility"] in ("visible", "hidden",
                                                                         "after_due_date", "after_published")
    first = data["tests"][0]
    assert first["name"].startswith("Lesson 2") and first["tags"] == ["lesson2", "task-2.1", "passed"]
    assert data["tests"][2]["output"] == "Expected a mean, got a sum (check 2)."
    extra = data["extra_data"]
    assert extra["fingerprint"] == "sha256:abc" and extra["status"] == "partial"
    assert extra["lessons"]["lesson3"] == {"score": 0.0, "max_score": 35, "status": "error"}
    assert "Total: 20 / 65" in data["output"]


def test_status_of_a_submission():
    assert sample().status == "partial"
    assert SubmissionResult("x", [lesson2(3)]).status == "ok"
    assert SubmissionResult("x", [missing_lesson3()]).status == "error"
    timed_out = lesson2(1)
    timed_out.status = "timeout"
    assert SubmissionResult("x", [timed_out, missing_lesson3()]).status == "timeout"


def test_feedback_lists_each_test_and_each_reason_once():
    text = feedback_markdown(sample())
    assert text.startswith("# Feedback for alice") and "**Total: 20 / 65**" in text
    assert "✅ **check 0**" in text and "❌ **check 2**" in text
    assert "Expected a mean, got a sum (check 2)." in text
    assert text.count("was not found in the submission") == 1


def test_write_submission_is_atomic_and_readable(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / ".results.json.xyz.tmp").write_text("left by a killed run")
    folder = write_submission(sample(), tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["feedback.md", "results.json"]
    data = read_results(folder)
    assert data == json.loads(results_json(sample()))
    assert "·" in (folder / "results.json").read_text(encoding="utf-8")  # UTF-8, not \\u escapes


def test_read_results_rejects_incomplete_or_garbled_folders(tmp_path):
    assert read_results(tmp_path / "nothing") is None
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "results.json").write_text(results_json(sample()))
    assert read_results(tmp_path / "half") is None  # no feedback.md next to it
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "results.json").write_text("{not json")
    (tmp_path / "bad" / "feedback.md").write_text("")
    assert read_results(tmp_path / "bad") is None


def test_atomic_write_replaces_whole_files(tmp_path):
    target = tmp_path / "deep" / "file.txt"
    atomic_write(target, "one")
    atomic_write(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_grades_csv_one_row_per_submission_sorted():
    rows = [csv_row(sample("bob", 3)), row_from_results_json(gradescope_results(sample("alice", 1)))]
    table = list(csv.reader(io.StringIO(grades_csv(rows, (L2, L3)))))
    assert table == [["name", "lesson2", "lesson3", "total", "status"],
                     ["alice", "10", "0", "10", "partial"],
                     ["bob", "30", "0", "30", "partial"]]


def test_gradebook_from_results_in_the_output_folder(tmp_path):
    for name, passed in (("alice", 3), ("bob", 1), ("carol", 0)):
        write_submission(sample(name, passed), tmp_path)
    rows, written = write_gradebook(tmp_path, ["alice", "bob", "carol", "dave"], (L2, L3))
    assert [p.name for p in written] == ["grades.csv", "summary.md", "scores.png"]
    assert sorted(r["name"] for r in rows) == ["alice", "bob", "carol"]
    assert (tmp_path / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (tmp_path / "summary.md").read_text()
    assert "No result yet for 1: dave" in summary
    assert "| Lesson 2 (autoencoders) | 30 | 0 | 10 | 13.3 | 30 | 1 | 1 | 0 |" in summary
    assert "| Lesson 3 (variational-autoencoders) | 35 | 0 | 0 | 0.0 | 0 | 0 | 3 | 3 |" in summary
    # checks 1 and 2 failed in bob and carol, check 0 only in carol: most failed first
    most_failed = summary.split("## Most-failed tests")[1]
    assert most_failed.index("check 2") < most_failed.index("check 0")
    assert "| Lesson 2 · check 2 | 2 | 3 | Expected a mean, got a sum (check 2). |" in most_failed
    assert "| Lesson 2 · check 0 | 1 | 3 |" in most_failed
    assert "kl" not in most_failed  # a lesson that could not be graded is not a failed test
    again = tmp_path / "again"
    for name, passed in (("carol", 0), ("alice", 3), ("bob", 1)):
        write_submission(sample(name, passed), again)
    write_gradebook(again, ["alice", "bob", "carol", "dave"], (L2, L3))
    for name in ("grades.csv", "summary.md", "scores.png"):
        assert (again / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_summary_with_no_results():
    text = summary_markdown({}, (L2,), ["alice"])
    assert "0 submission(s)" in text and "No result yet for 1: alice" in text


def test_a_long_message_is_capped_visibly_without_splitting_a_character():
    from autograder.report import MAX_OUTPUT_BYTES, TRUNCATED, capped
    assert capped("short") == "short"
    long = "é€" * MAX_OUTPUT_BYTES
    shown = capped(long)
    assert shown.endswith(TRUNCATED) and long.startswith(shown[: -len(TRUNCATED)])
    assert len(shown.encode("utf-8")) <= MAX_OUTPUT_BYTES


def test_every_file_of_a_submission_stays_under_the_cap_whatever_its_tests_say(tmp_path):
    """Outputs that JSON escapes six-fold (control characters), in many tests, still give
    files under MAX_FILE_BYTES; each output shows it was cut."""
    from autograder.report import MAX_FILE_BYTES, TRUNCATED
    lesson = LessonResult(L2, message="\x01" * 100_000)
    for i in range(200):
        lesson.tests.append(Outcome(f"check {i}", "2.1", f"t{i}", 0, 0.0, "failed", "\x01€" * 50_000))
    folder = write_submission(SubmissionResult("bob", [lesson], problem="x" * 10**6), tmp_path)
    for name in ("results.json", "feedback.md"):
        assert (folder / name).stat().st_size <= MAX_FILE_BYTES, name
    data = json.loads((folder / "results.json").read_text())
    assert len(data["tests"]) == 200
    assert all(t["output"].endswith(TRUNCATED) for t in data["tests"])
    assert data["output"].count(TRUNCATED.strip()) >= 1
