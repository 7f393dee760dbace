"""Grading submissions: one at a time (:func:`grade_submission`) or many (:func:`main`).

The trusted process loads the hidden suites once; student code runs only in workers forked
from the sandbox's fork server. Submissions are graded in parallel threads (the heavy work
happens in the workers, so threads on the trusted side are enough).
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from autograder.lessons import LESSONS, REPO_ROOT, Lesson, parse_lesson_list
from autograder.report import (SubmissionResult, atomic_write, csv_row, grades_csv,
                               write_submission)
from autograder.runner import Spawner, grade_lesson
from autograder.sandbox import Limits, Sandbox
from autograder.submission import (OpenedSubmission, SubmissionError, expand_inputs, locate,
                                   submission_name)
from autograder.suite import load_suite

DEFAULT_LESSON_TIMEOUT = 90.0


def grade_submission(path: Path, lessons: tuple[Lesson, ...], spawn: Spawner,
                     timeout: float = DEFAULT_LESSON_TIMEOUT) -> SubmissionResult:
    """Grade one submission (folder or zip); never raises for anything in the submission."""
    start = time.monotonic()
    result = SubmissionResult(name=submission_name(path))
    try:
        with OpenedSubmission(path) as root:
            located = locate(root, lessons)
            for lesson in lessons:
                result.lessons.append(grade_lesson(lesson, located.files.get(lesson.number), spawn,
                                                   timeout, located.problems.get(lesson.number, "")))
    except SubmissionError as exc:
        result.problem = str(exc)
        from autograder.runner import failed_lesson
        result.lessons = [failed_lesson(lesson, load_suite(lesson), f"Not graded: {exc}")
                          for lesson in lessons]
    result.execution_time = time.monotonic() - start
    return result


def hidden_paths(out_dir: Path, inputs: list[Path]) -> list[Path]:
    """What workers must not see: solutions, hidden suites, the repository's tests, the output,
    and the submissions themselves (a worker gets a copy of one file)."""
    paths = [REPO_ROOT / "solutions", REPO_ROOT / "autograder" / "suites", REPO_ROOT / "tests",
             REPO_ROOT / "benchmarks", out_dir]
    paths += [p if p.is_dir() else p.parent for p in inputs]
    return paths


def main(*, submissions: list[Path], out: Path, jobs: int | None = None, lessons: str | None = None,
         timeout: float = DEFAULT_LESSON_TIMEOUT, echo: Callable[[str], None] = print
         ) -> list[SubmissionResult]:
    """Grade ``submissions`` into ``out``: per-submission results and feedback, and grades.csv."""
    selected = parse_lesson_list(lessons)
    for lesson in selected:
        load_suite(lesson)  # load (and check) every hidden suite once, before any worker starts
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    inputs = [p.resolve() for p in submissions]
    expanded = expand_inputs(inputs, selected)
    jobs = max(1, jobs or 1)
    results: list[SubmissionResult] = []
    with Sandbox(limits=Limits(), hidden_paths=hidden_paths(out, inputs)) as sandbox:
        echo(sandbox.describe())

        def one(path: Path) -> SubmissionResult:
            result = grade_submission(path, selected, sandbox.spawn, timeout)
            write_submission(result, out)
            echo(f"{result.name}: {result.score:g}/{result.max_score:g} ({result.status}, "
                 f"{result.execution_time:.1f} s)")
            return result

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(one, expanded))
    atomic_write(out / "grades.csv", grades_csv([csv_row(r) for r in results], selected))
    return results
