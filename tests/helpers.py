"""Shared helpers for the repository's own tests: build submissions and grade them in one run."""

from __future__ import annotations

import json
from fnmatch import fnmatch
from pathlib import Path

from autograder import grade, samples
from autograder.lessons import lesson_by_number


def reference_source(lesson_number: int) -> str:
    return samples.reference_source(lesson_by_number(lesson_number))


def starter_source(lesson_number: int) -> str:
    return samples.starter_source(lesson_by_number(lesson_number))


def write_submission(root: Path, name: str, files: dict[int, str]) -> Path:
    """``root/name/<lesson folder>/<student file>`` for each lesson's source text."""
    folder = root / name
    for number, text in files.items():
        lesson = lesson_by_number(number)
        path = folder / lesson.folder / lesson.student_file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def grade_sources(tmp: Path, submissions: dict[str, dict[int, str]], lessons: str,
                  timeout: float = 90.0, jobs: int = 2) -> dict[str, dict]:
    """Grade the given sources in one run; returns each submission's results.json as a dict."""
    subs = tmp / "subs"
    for name, files in submissions.items():
        write_submission(subs, name, files)
    out = tmp / "out"
    # Each submission by its own path: a folder holding a single submission counts as one.
    grade.main(submissions=[subs / name for name in submissions], out=out, jobs=jobs, lessons=lessons, timeout=timeout,
               echo=lambda _line: None)
    return {name: json.loads((out / name / "results.json").read_text()) for name in submissions}


def lesson_score(results: dict, lesson_number: int) -> float:
    return results["extra_data"]["lessons"][f"lesson{lesson_number}"]["score"]


def failed_outputs(results: dict, lesson_number: int) -> str:
    """All feedback of the lesson's failed tests, joined (for message checks)."""
    return "\n".join(t["output"] for t in results["tests"]
                     if t["tags"][0] == f"lesson{lesson_number}" and t["status"] == "failed")


def scratch_kinds(folder: Path, pattern: str = "gf-*") -> list[str]:
    """The kinds of the scratch folders (``gf-workers``, ``gf-unpacked``, ...) in ``folder`` whose
    names match ``pattern``, sorted: each name less its random suffix."""
    return sorted(path.name.rsplit("-", 1)[0] for path in folder.iterdir() if fnmatch(path.name, pattern))
