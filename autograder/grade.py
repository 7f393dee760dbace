"""Grading submissions: one at a time (:func:`grade_submission`) or many (:func:`main`).

The trusted process loads the hidden suites once and starts one fork server (the sandbox's
zygote), which pays for ``import torch`` once; every lesson of every submission then runs in
its own fresh, limited worker forked from it. Submissions are graded in parallel threads (the
heavy work happens in the workers, so threads on the trusted side are enough).

A bulk run is resumable: each submission's ``results.json`` records a fingerprint of what was
graded and how (:func:`fingerprint`); a later run skips every submission whose fingerprint is
unchanged (unless ``force``), so a run that was interrupted, or re-run after a few students
resubmitted, grades only what is new. ``grades.csv``, ``summary.md`` and ``scores.png`` are
rebuilt at the end from the results of all the run's submissions, graded now or earlier.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from autograder import __version__
from autograder.lessons import LESSONS, REPO_ROOT, SUITES_DIR, Lesson, parse_lesson_list
from autograder.progress import Progress
from autograder.report import SubmissionResult, read_results, write_submission
from autograder.seeds import course_secret, secret_id
from autograder.submission import (OpenedSubmission, SubmissionError, assign_names, content_hash,
                                   expand_inputs, locate, submission_name)
from autograder.session import GradingSession, Interrupted, LessonCache
from autograder.summary import write_gradebook

if TYPE_CHECKING:  # these import torch; a run with nothing to grade never needs them
    from autograder.runner import Spawner

DEFAULT_LESSON_TIMEOUT = 90.0

# What decides a grade besides the student's files: every file of these packages (the engine,
# the hidden suites, what runs beside the student's code, the data subset). Derived rather than
# listed, so a new module can never be forgotten; a change to any of them makes every earlier
# result stale (a change that turns out not to matter costs one regrade, a missed one a wrong grade).
GRADING_PACKAGES = ("autograder", "coursekit")


def grading_files(lessons: tuple[Lesson, ...]) -> list[Path]:
    """Every file of :data:`GRADING_PACKAGES` (relative to the repository), without compiled
    caches and without the hidden suites of lessons not in ``lessons``."""
    other_suites = {lesson.suite_path for lesson in LESSONS if lesson not in lessons}
    files = []
    for package in GRADING_PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*")):
            relative = path.relative_to(REPO_ROOT)
            if not path.is_file() or "__pycache__" in relative.parts:
                continue
            if path in other_suites:
                continue
            files.append(relative)
    return files


def grading_code_hash(lessons: tuple[Lesson, ...]) -> str:
    """A hash of every file that can change a score of ``lessons`` (:func:`grading_files`)."""
    digest = hashlib.sha256()
    for relative in grading_files(lessons):
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update((REPO_ROOT / relative).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def fingerprint(path: Path, lessons: tuple[Lesson, ...], timeout: float, code_hash: str,
                secret: bytes) -> str:
    """What a result depends on: the submission's lesson files (or zip bytes), the lessons
    graded, the time allowed, the grader's version, its grading code and the course secret
    (which decides the seeds). Equal fingerprints mean a re-grade would give the same result."""
    settings = {"grader": __version__, "lessons": [lesson.number for lesson in lessons],
                "timeout": float(timeout), "code": code_hash, "secret": secret_id(secret),
                "content": content_hash(path, lessons)}
    text = json.dumps(settings, sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def grade_submission(path: Path, lessons: tuple[Lesson, ...], spawn: Spawner,
                     timeout: float = DEFAULT_LESSON_TIMEOUT, *, name: str | None = None,
                     tmp_root: Path | None = None, key: str = "",
                     cache: LessonCache | None = None, secret: bytes) -> SubmissionResult:
    """Grade one submission (folder or zip), each lesson with the seeds that ``secret`` and its
    file give (:mod:`autograder.seeds`); never raises for anything in the submission."""
    from autograder.runner import failed_lesson, grade_lesson
    from autograder.suite import load_suite

    start = time.monotonic()
    result = SubmissionResult(name=name or submission_name(path), fingerprint=key)
    try:
        with OpenedSubmission(path, tmp_root) as root:
            located = locate(root, lessons)
            for lesson in lessons:
                file = located.files.get(lesson.number)

                def compute(lesson: Lesson = lesson, file: Path | None = file) -> Any:
                    return grade_lesson(lesson, file, spawn, timeout,
                                        located.problems.get(lesson.number, ""), secret=secret)

                if file is None or cache is None:
                    result.lessons.append(compute())
                else:
                    digest = hashlib.sha256(file.read_bytes()).hexdigest()
                    result.lessons.append(cache.get((lesson.number, float(timeout), digest), compute))
    except SubmissionError as exc:
        result.problem = str(exc)
        result.lessons = [failed_lesson(lesson, load_suite(lesson), f"Not graded: {exc}")
                          for lesson in lessons]
    result.execution_time = time.monotonic() - start
    return result


def hidden_paths(out_dir: Path, inputs: list[Path]) -> list[Path]:
    """What workers must not see: solutions, hidden suites, the repository's tests, the output,
    and the submissions themselves (a worker gets a copy of one file)."""
    paths = [REPO_ROOT / "solutions", SUITES_DIR, REPO_ROOT / "tests",
             REPO_ROOT / "benchmarks", out_dir]
    paths += [p if p.is_dir() else p.parent for p in inputs]
    return paths


@dataclass
class Planned:
    """One submission of a run: where it is, its output name and fingerprint, and whether an
    up-to-date result already exists."""

    path: Path
    name: str
    key: str
    up_to_date: bool


@dataclass
class BulkRun:
    """What a run did. ``complete`` when every submission has a result in ``out``."""

    out: Path
    planned: list[Planned] = field(default_factory=list)
    graded: list[SubmissionResult] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # grader errors: no result written
    interrupted: bool = False
    rows: list[dict[str, Any]] = field(default_factory=list)
    wall_time: float = 0.0

    @property
    def skipped(self) -> list[str]:
        return [p.name for p in self.planned if p.up_to_date]

    @property
    def complete(self) -> bool:
        return not self.failed and not self.interrupted


def plan(submissions: list[Path], out: Path, lessons: tuple[Lesson, ...], timeout: float,
         force: bool = False) -> list[Planned]:
    """The run's submissions (folders of submissions expanded), each with its fingerprint."""
    inputs = expand_inputs([p.resolve() for p in submissions], lessons, exclude=(out,))
    code_hash = grading_code_hash(lessons)
    secret = course_secret(out)
    planned = []
    for path, name in zip(inputs, assign_names(inputs)):
        key = fingerprint(path, lessons, timeout, code_hash, secret)
        previous = None if force else read_results(out / name)
        up_to_date = previous is not None and previous["extra_data"].get("fingerprint") == key
        planned.append(Planned(path, name, key, up_to_date))
    return planned


def _line(result: SubmissionResult) -> str:
    return (f"{result.name}: {result.score:g}/{result.max_score:g} ({result.status}, "
            f"{result.execution_time:.1f} s)")


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(*, submissions: list[Path], out: Path, jobs: int | None = None, lessons: str | None = None,
         timeout: float = DEFAULT_LESSON_TIMEOUT, force: bool = False,
         echo: Callable[[str], None] = print, progress: bool | None = None,
         cluster: str | None = None, cluster_options: dict[str, str] | None = None) -> BulkRun:
    """Grade ``submissions`` into ``out``: per-submission ``results.json`` and ``feedback.md``,
    then ``grades.csv``, ``summary.md`` and ``scores.png`` for all of them.

    ``jobs`` defaults to the number of cores. Submissions whose result is up to date are not
    regraded unless ``force``. ``progress`` shows a progress bar on stderr (default: when
    stderr is a terminal) instead of one line per submission. ``cluster`` grades on a Dask
    cluster instead of this machine's cores (see :mod:`autograder.cluster`; ``jobs`` is then
    unused): results, resuming, the gradebook and the exit status are those of a local run.
    """
    started = time.monotonic()
    selected = parse_lesson_list(lessons)
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    run = BulkRun(out=out, planned=plan(submissions, out, selected, timeout, force))
    todo = [p for p in run.planned if not p.up_to_date]
    jobs = max(1, min(jobs or os.cpu_count() or 1, max(len(todo), 1)))
    lesson_list = ",".join(str(lesson.number) for lesson in selected)
    echo(f"{len(run.planned)} submission(s), lessons {lesson_list}: {len(todo)} to grade, "
         f"{len(run.skipped)} up to date (skipped; --force regrades them).")
    previous_handler = None
    if threading.current_thread() is threading.main_thread():
        previous_handler = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        if todo:
            bar = Progress(total=len(run.planned), done=len(run.skipped), echo=echo, bar=progress)
            try:
                if cluster:
                    from autograder.cluster import grade_on_cluster
                    grade_on_cluster(run, todo, selected, timeout, bar, cluster, cluster_options or {})
                else:
                    _grade_all(run, todo, selected, jobs, timeout, bar)
            finally:
                bar.close()
    except KeyboardInterrupt:
        run.interrupted = True
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    run.wall_time = time.monotonic() - started
    if run.interrupted:
        done = sum(1 for p in run.planned if read_results(out / p.name) is not None)
        echo(f"Interrupted: {done} of {len(run.planned)} submissions have a result in {out}. "
             "Run the same command again to grade the rest.")
        return run
    run.rows, written = write_gradebook(out, [p.name for p in run.planned], selected)
    for name, reason in sorted(run.failed.items()):
        echo(f"NOT GRADED {name}: grader error: {reason}")
    rate = len(run.graded) / run.wall_time * 60 if run.graded and run.wall_time > 0 else 0.0
    echo(f"Graded {len(run.graded)}, skipped {len(run.skipped)} up to date"
         + (f", {len(run.failed)} not graded (grader error; run again to retry)" if run.failed else "")
         + f", in {run.wall_time:.1f} s" + (f" ({rate:.0f} submissions/min)." if rate else "."))
    echo("Wrote " + ", ".join(str(p) for p in written)
         + f" and <name>/results.json, <name>/feedback.md under {out}")
    return run


def record(run: BulkRun, bar: Progress, item: Planned, outcome: SubmissionResult | Exception) -> None:
    """Take one submission's outcome into ``run``: write its result (atomically) and count it,
    or note the grader error that left it without one. Local and cluster runs share this, so
    both write exactly the same files."""
    if isinstance(outcome, Interrupted):
        return
    if isinstance(outcome, SubmissionResult):
        try:
            write_submission(outcome, run.out)
        except OSError as exc:
            outcome = exc
        else:
            run.graded.append(outcome)
            bar.advance(_line(outcome), notable=outcome.status in ("error", "timeout"))
            return
    run.failed[item.name] = f"{type(outcome).__name__}: {outcome}"
    bar.advance(f"{item.name}: NOT GRADED (grader error: {outcome})", notable=True)


def _grade_all(run: BulkRun, todo: list[Planned], lessons: tuple[Lesson, ...], jobs: int,
               timeout: float, bar: Progress) -> None:
    """Grade ``todo`` with ``jobs`` threads over one sandbox; writes each result as it comes."""
    hidden = hidden_paths(run.out, [p.path for p in todo])
    with GradingSession(lessons, hidden, course_secret(run.out)) as session:
        bar.note(session.describe())
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grade")
        futures: dict[Future[SubmissionResult], Planned] = {
            pool.submit(session.grade, item, lessons, timeout): item for item in todo}
        try:
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: futures[f].name):
                    try:
                        outcome: SubmissionResult | Exception = future.result()
                    except Exception as exc:  # noqa: BLE001 - a grader fault, not the student's
                        outcome = exc
                    record(run, bar, futures[future], outcome)
        except BaseException:
            session.stop()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
