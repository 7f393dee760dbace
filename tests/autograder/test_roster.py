"""``grade --roster FILE``: a made-up GitHub Classroom roster matched to submissions, and the
Canvas and Gradescope exports a TA uploads as they are."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner

from autograder.cli import cli
from autograder.gradebook import canvas_csv, gradescope_csv, roster_markdown
from autograder.lessons import LESSONS, lesson_by_number
from autograder.roster import RosterError, RosterRow, match_submissions, read_roster

ROSTER = """\
"identifier","github_username","github_id","name"
"s1001","alice","501","Alice Adams"
"bob@uni.example","bob-smith","502","Bob Smith"
"s1003","smith","503","Sam Smith"
"s1004","","","Dana Doe"
"s1005","eve","505","Eve Evans"
"""
NAMES = ["genfound-alice", "genfound-bob-smith", "genfound-smith", "s1004_export", "eve", "eve-2",
         "mallory", "al"]


@pytest.fixture
def roster(tmp_path):
    path = tmp_path / "classroom_roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return read_roster(path)


def test_roster_rows_are_read_with_every_column(roster):
    assert roster[1] == RosterRow("bob@uni.example", "bob-smith", "502", "Bob Smith")
    assert roster[3].keys == ("s1004",), "a student who has not linked GitHub is matched by identifier"


def test_submissions_match_by_username_or_identifier_at_delimiters(roster):
    match = match_submissions(NAMES, roster)
    assert {roster[i].name: name for i, name in match.by_row.items()} == {
        "Alice Adams": "genfound-alice",
        "Bob Smith": "genfound-bob-smith",  # the longest key wins over "smith"
        "Sam Smith": "genfound-smith",
        "Dana Doe": "s1004_export",
    }
    assert match.unmatched == ["al", "mallory"], "a key must be a whole part of the name"
    assert match.conflicts == {4: ["eve", "eve-2"]}, "two submissions of one student are never guessed between"
    assert match.missing == []


def test_rows_without_submission_are_listed(roster):
    match = match_submissions(["genfound-alice"], roster)
    assert match.missing == [1, 2, 3, 4]
    report = roster_markdown(match, [{"name": "genfound-alice", "total": 30.0, "status": "ok"}],
                             (lesson_by_number(2),))
    assert "| Alice Adams (s1001, @alice) | genfound-alice | 30 / 30 | ok |" in report
    assert "- Bob Smith (bob@uni.example, @bob-smith)" in report
    assert "- Dana Doe (s1004)" in report


def test_exports_put_each_score_on_its_students_row(roster):
    match = match_submissions(NAMES, roster)
    rows = [{"name": "genfound-alice", "total": 87.5, "status": "ok"},
            {"name": "genfound-bob-smith", "total": 12.0, "status": "partial"},
            {"name": "genfound-smith", "total": 0.0, "status": "error"},
            {"name": "s1004_export", "total": 100.0, "status": "ok"},
            {"name": "eve", "total": 100.0, "status": "ok"}, {"name": "eve-2", "total": 5.0, "status": "ok"}]
    canvas = list(csv.reader(io.StringIO(canvas_csv(match, rows, LESSONS))))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Generative Foundations"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "100"]
    assert [(r[0], r[3], r[5]) for r in canvas[2:]] == [
        ("Alice Adams", "s1001", "87.5"), ("Bob Smith", "bob@uni.example", "12"),
        ("Sam Smith", "s1003", "0"), ("Dana Doe", "s1004", "100"), ("Eve Evans", "s1005", "")]
    gradescope = list(csv.DictReader(io.StringIO(gradescope_csv(match, rows, LESSONS))))
    assert gradescope[1] == {"Name": "Bob Smith", "SID": "", "Email": "bob@uni.example", "Total Score": "12",
                             "Max Points": "100", "Status": "partial"}
    assert gradescope[0]["SID"] == "s1001" and gradescope[0]["Email"] == ""
    assert gradescope[4]["Total Score"] == "" and gradescope[4]["Status"] == "several submissions"


def test_a_partial_selection_of_lessons_is_named_and_scored_out_of_its_points(roster):
    match = match_submissions(["genfound-alice"], roster)
    lessons = (lesson_by_number(2), lesson_by_number(3))
    canvas = list(csv.reader(io.StringIO(canvas_csv(match, [], lessons))))
    assert canvas[0][-1] == "Generative Foundations (lessons 2, 3)" and canvas[1][-1] == "65"


@pytest.mark.parametrize("text, message", [
    ("name,email\nAlice,a@x\n", "has no column identifier, github_username"),
    ('"identifier","github_username","github_id","name"\n', "has no student rows"),
])
def test_a_roster_that_is_not_a_classroom_export_is_refused(tmp_path, text, message):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RosterError, match=message):
        read_roster(path)
    with pytest.raises(RosterError, match="does not exist"):
        read_roster(tmp_path / "nope.csv")


def test_grade_with_roster_writes_the_exports(fake_grading, tmp_path):
    subs, _ = fake_grading  # alice, bob, carol
    roster = tmp_path / "roster.csv"
    roster.write_text('identifier,github_username,github_id,name\ns1,alice,1,Alice\ns2,bob,2,Bob\n'
                      's4,dan,4,Dan\n', encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["grade", str(subs), "--out", str(out), "--lessons", "2",
                                      "--roster", str(roster)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Roster: 2 of 3 students matched; 1 submission(s) without a roster row (carol); " \
           "1 student(s) without a submission" in result.output
    report = (out / "roster.md").read_text(encoding="utf-8")
    assert "- carol" in report and "- Dan (s4, @dan)" in report
    with open(out / "canvas.csv", newline="") as f:
        assert [(r["Student"], r["Generative Foundations (lesson 2)"]) for r in csv.DictReader(f)] == [
            ("Points Possible", "30"), ("Alice", "0"), ("Bob", "0"), ("Dan", "")]


def test_a_bad_roster_stops_before_grading(fake_grading, tmp_path):
    subs, _ = fake_grading
    result = CliRunner().invoke(cli, ["grade", str(subs), "--out", str(tmp_path / "out"),
                                      "--roster", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2 and "does not exist" in result.output
    assert not (tmp_path / "out").exists()
