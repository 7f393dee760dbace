"""``python -m autograder grade`` and ``demo`` through click's CliRunner (docs/cli.md).

Grading itself is replaced by a fake here (instant); test_grade.py and test_demo.py run the
real sandbox.
"""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from autograder.cli import cli


@pytest.fixture
def setup(fake_grading):
    return fake_grading


def invoke(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def test_grade_writes_everything_and_exits_0(setup, tmp_path):
    subs, _ = setup
    result = invoke("grade", subs, "--out", tmp_path / "out", "--lessons", "2", "--jobs", "2")
    assert result.exit_code == 0, result.output
    assert "3 submission(s), lessons 2: 3 to grade, 0 up to date" in result.output
    assert "[3/3]" in result.output and "Graded 3, skipped 0" in result.output
    for name in ("grades.csv", "summary.md", "scores.png", "alice/results.json", "bob/feedback.md"):
        assert (tmp_path / "out" / name).is_file(), name
    with open(tmp_path / "out" / "grades.csv") as f:
        assert [row["name"] for row in csv.DictReader(f)] == ["alice", "bob", "carol"]


def test_resume_and_force(setup, tmp_path):
    subs, _ = setup
    invoke("grade", subs, "--out", tmp_path / "out", "--lessons", "2")
    again = invoke("grade", subs, "--out", tmp_path / "out", "--lessons", "2")
    assert again.exit_code == 0 and "0 to grade, 3 up to date" in again.output
    forced = invoke("grade", subs, "--out", tmp_path / "out", "--lessons", "2", "--force")
    assert forced.exit_code == 0 and "3 to grade, 0 up to date" in forced.output


def test_several_paths_single_submissions(setup, tmp_path):
    subs, _ = setup
    result = invoke("grade", subs / "alice", subs / "bob", "--out", tmp_path / "out", "--lessons", "2")
    assert result.exit_code == 0 and "2 submission(s)" in result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir()) == ["alice", "bob"]


def test_a_grader_error_exits_1(setup, tmp_path):
    subs, behaviour = setup
    behaviour["bob"] = "crash"
    result = invoke("grade", subs, "--out", tmp_path / "out", "--lessons", "2")
    assert result.exit_code == 1 and "NOT GRADED bob" in result.output


def test_an_interrupted_run_exits_130(setup, tmp_path):
    subs, behaviour = setup
    behaviour["carol"] = "interrupt"
    result = invoke("grade", subs, "--out", tmp_path / "out", "--lessons", "2", "--jobs", "1")
    assert result.exit_code == 130 and "Run the same command again" in result.output


@pytest.mark.parametrize("args, message", [
    (["grade", "no/such/folder", "--out", "OUT"], "not found: no/such/folder"),
    (["grade", "SUBS", "--out", "OUT", "--lessons", "two"], "lesson numbers must be integers"),
    (["grade", "SUBS", "--out", "OUT", "--lessons", "2,9"], "there is no lesson 9"),
    (["grade", "SUBS", "--out", "FILE"], "is a file"),
    (["grade", "SUBS", "--out", "OUT", "--jobs", "0"], "--jobs"),
    (["grade", "--out", "OUT"], "Missing argument"),
    (["grade", "SUBS"], "Missing option '--out'"),
    (["demo", "--lessons", "x"], "lesson numbers must be integers"),
])
def test_bad_usage_is_a_clear_error(setup, tmp_path, args, message):
    subs, _ = setup
    (tmp_path / "file").write_text("")
    replace = {"SUBS": str(subs), "OUT": str(tmp_path / "out"), "FILE": str(tmp_path / "file")}
    result = invoke(*[replace.get(a, a) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_demo_without_any_ready_lesson_says_so(monkeypatch, tmp_path):
    from autograder import demo
    monkeypatch.setattr(demo, "available_lessons", lambda: ())
    result = invoke("demo", "--out", tmp_path)
    assert result.exit_code == 1 and "no selected lesson" in result.output


def test_help_documents_the_options():
    text = invoke("grade", "--help").output
    for option in ("--out", "--jobs", "--lessons", "--timeout", "--force"):
        assert option in text
    assert "number of cores" in " ".join(text.split())
    assert "--lessons" in invoke("demo", "--help").output
