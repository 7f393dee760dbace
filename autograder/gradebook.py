"""Gradebook exports of a graded run, keyed by the roster's students (``grade --roster FILE``).

Written into the run's output folder, beside ``grades.csv``:

- ``roster.md``: who got which score, the submissions that match no roster row, the roster
  rows with no submission and the rows that several submissions match (the TA's to-do list);
- ``canvas.csv``: Canvas's gradebook import (Grades > Import): ``Student``, ``ID``,
  ``SIS User ID``, ``SIS Login ID``, ``Section`` and one assignment column, with Canvas's
  ``Points Possible`` row. The roster ``identifier`` goes in ``SIS Login ID`` (Canvas matches a
  row by ``ID``, or when that is empty by its SIS ids), so the Classroom roster should be
  uploaded with the students' Canvas logins as identifiers;
- ``gradescope.csv``: the columns of Gradescope's score exports and imports (``Name``, ``SID``,
  ``Email``, ``Total Score``, ``Max Points``, ``Status``); the identifier goes in ``Email`` when it
  is an email address, otherwise in ``SID``.

A roster row with no submission, or with several, gets an empty score (never a guessed one):
importing leaves that student's grade as it was.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Callable

from autograder.lessons import LESSONS, Lesson
from autograder.report import atomic_write
from autograder.roster import RosterMatch, RosterRow, match_submissions

ASSIGNMENT_TITLE = "Generative Foundations"
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
GRADESCOPE_COLUMNS = ("Name", "SID", "Email", "Total Score", "Max Points", "Status")
EXPORT_FILES = ("roster.md", "canvas.csv", "gradescope.csv")


def assignment_title(lessons: tuple[Lesson, ...]) -> str:
    """The gradebook column: the module's title, naming the lessons when not all are graded."""
    if set(lessons) == set(LESSONS):
        return ASSIGNMENT_TITLE
    return f"{ASSIGNMENT_TITLE} (lesson{'s' if len(lessons) > 1 else ''} " \
           f"{', '.join(str(lesson.number) for lesson in lessons)})"


def _score(value: float) -> str:
    return f"{value:g}"


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def _scores_by_row(match: RosterMatch, rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    by_name = {row["name"]: row for row in rows}
    return {index: by_name[name] for index, name in match.by_row.items() if name in by_name}


def canvas_csv(match: RosterMatch, rows: list[dict[str, Any]], lessons: tuple[Lesson, ...]) -> str:
    """Canvas's gradebook-import CSV: one row per roster student, empty when not graded."""
    scores = _scores_by_row(match, rows)
    table = [[*CANVAS_COLUMNS, assignment_title(lessons)],
             ["Points Possible", "", "", "", "", _score(sum(l.points for l in lessons))]]
    for index, student in enumerate(match.rows):
        graded = scores.get(index)
        table.append([student.name or student.github_username, "", "", student.identifier, "",
                      _score(graded["total"]) if graded else ""])
    return _csv(table)


def gradescope_csv(match: RosterMatch, rows: list[dict[str, Any]], lessons: tuple[Lesson, ...]) -> str:
    """Gradescope's scores CSV: one row per roster student, empty when not graded."""
    scores = _scores_by_row(match, rows)
    possible = _score(sum(l.points for l in lessons))
    table = [list(GRADESCOPE_COLUMNS)]
    for index, student in enumerate(match.rows):
        graded = scores.get(index)
        email = student.identifier if "@" in student.identifier else ""
        sid = "" if email else student.identifier
        status = graded["status"] if graded else ("several submissions" if index in match.conflicts
                                                  else "no submission")
        table.append([student.name or student.github_username, sid, email,
                      _score(graded["total"]) if graded else "", possible, status])
    return _csv(table)


def roster_markdown(match: RosterMatch, rows: list[dict[str, Any]], lessons: tuple[Lesson, ...]) -> str:
    """The TA's report: matched students, then everything that needs a look."""
    scores = _scores_by_row(match, rows)
    possible = _score(sum(l.points for l in lessons))
    lines = [f"# Roster: {assignment_title(lessons)}", "",
             f"{len(match.by_row)} of {len(match.rows)} roster students matched to a submission; "
             f"{len(match.unmatched)} submission(s) match no roster row; {len(match.missing)} "
             f"student(s) have no submission; {len(match.conflicts)} student(s) match several "
             "submissions.", "",
             "| student | submission | score | status |", "|---|---|---|---|"]
    for index, name in sorted(match.by_row.items(), key=lambda item: item[1]):
        graded = scores.get(index)
        score = f"{_score(graded['total'])} / {possible}" if graded else "—"
        lines.append(f"| {match.rows[index].label} | {name} | {score} | "
                     f"{graded['status'] if graded else 'no result'} |")
    sections = [
        ("Submissions that match no roster row (rename the folder after the student's GitHub "
         "username or identifier, or add the student to the roster)", match.unmatched),
        ("Roster students with no submission (their score is left empty in the exports)",
         [match.rows[index].label for index in match.missing]),
        ("Roster students matched by several submissions (score left empty: keep one)",
         [f"{match.rows[index].label}: {', '.join(names)}" for index, names in sorted(match.conflicts.items())]),
    ]
    for title, entries in sections:
        lines += ["", f"## {title}", ""]
        lines += [f"- {entry}" for entry in entries] or ["None."]
    return "\n".join(lines) + "\n"


def write_roster_exports(out: Path, match: RosterMatch, rows: list[dict[str, Any]],
                         lessons: tuple[Lesson, ...]) -> list[Path]:
    """Write :data:`EXPORT_FILES` into ``out`` (atomically); returns their paths."""
    texts = {"roster.md": roster_markdown(match, rows, lessons),
             "canvas.csv": canvas_csv(match, rows, lessons),
             "gradescope.csv": gradescope_csv(match, rows, lessons)}
    paths = []
    for name in EXPORT_FILES:
        atomic_write(out / name, texts[name])
        paths.append(out / name)
    return paths


def export_for_roster(out: Path, names: list[str], rows: list[dict[str, Any]], roster: list[RosterRow],
                      lessons: tuple[Lesson, ...], echo: Callable[[str], None] = print) -> RosterMatch:
    """Match a run's submissions (``names``, their grades.csv ``rows``) to ``roster``, write the
    exports and tell the TA what needs a look."""
    match = match_submissions(names, roster)
    written = write_roster_exports(out, match, rows, lessons)
    echo(f"Roster: {len(match.by_row)} of {len(roster)} students matched; "
         f"{len(match.unmatched)} submission(s) without a roster row"
         + (f" ({', '.join(match.unmatched[:10])}{', …' if len(match.unmatched) > 10 else ''})"
            if match.unmatched else "")
         + f"; {len(match.missing)} student(s) without a submission"
         + (f"; {len(match.conflicts)} matched by several submissions" if match.conflicts else "")
         + f". Wrote {', '.join(str(p) for p in written)}.")
    return match
