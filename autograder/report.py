"""What grading writes: Gradescope's ``results.json``, a student's ``feedback.md``, ``grades.csv``.

Every file is written atomically (a temp file in the same folder, then ``os.replace``), so a
killed run never leaves a half-written result; ``results.json`` is written last, so its
presence means the submission's files are complete. Nothing written depends on the run apart
from ``execution_time``: no paths, dates, user ids or temp names, so a re-grade of the same
submission gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder import __version__
from autograder.lessons import Lesson

if TYPE_CHECKING:  # importing the runner imports torch: not needed to read or write reports
    from autograder.runner import LessonResult

STATUS_ORDER = ("ok", "partial", "error", "timeout")
MAX_OUTPUT_BYTES = 8 * 1024      # one test's output, a lesson's message (UTF-8)
MAX_FILE_BYTES = 1024 * 1024     # results.json or feedback.md of one submission
MIN_OUTPUT_BYTES = 128           # the hardest cap write_submission falls back to
TRUNCATED = "\n… [truncated]"


@dataclass
class SubmissionResult:
    """All lessons of one submission; ``problem`` is set when the submission could not be read."""

    name: str
    lessons: list[LessonResult] = field(default_factory=list)
    problem: str = ""
    execution_time: float = 0.0
    protections: str = ""
    fingerprint: str = ""

    @property
    def score(self) -> float:
        return sum(lesson.score for lesson in self.lessons)

    @property
    def max_score(self) -> float:
        return sum(lesson.lesson.points for lesson in self.lessons)

    @property
    def status(self) -> str:
        """``timeout`` if a test ran out of time; ``error`` if nothing could be graded;
        ``partial`` if some lesson could not be graded (missing file, import error, crash);
        ``ok`` when every lesson was graded, whatever the score."""
        statuses = [lesson.status for lesson in self.lessons]
        if any(s == "timeout" for s in statuses):
            return "timeout"
        if self.problem or (statuses and all(s == "error" for s in statuses)):
            return "error"
        if any(s == "error" for s in statuses):
            return "partial"
        return "ok"


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def capped(text: str, limit: int = MAX_OUTPUT_BYTES) -> str:
    """``text`` if its UTF-8 form fits in ``limit`` bytes; else its start and :data:`TRUNCATED`,
    ``limit`` bytes in all (never a split character)."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    keep = max(0, limit - len(TRUNCATED.encode("utf-8")))
    return data[:keep].decode("utf-8", errors="ignore") + TRUNCATED


def capped_result(result: SubmissionResult, limit: int = MAX_OUTPUT_BYTES) -> SubmissionResult:
    """A copy of ``result`` whose student-derived texts are :func:`capped` to ``limit`` bytes."""
    lessons = [replace(lesson, message=capped(lesson.message, limit),
                       tests=[replace(test, output=capped(test.output, limit)) for test in lesson.tests])
               for lesson in result.lessons]
    return replace(result, lessons=lessons, problem=capped(result.problem, limit))


def _fmt(points: float) -> str:
    return f"{points:g}"


def gradescope_results(result: SubmissionResult) -> dict[str, Any]:
    """The submission in Gradescope's results.json schema (``tests`` with name, score, max_score,
    visibility, output, tags, plus status and number)."""
    tests = []
    for lesson_result in result.lessons:
        lesson = lesson_result.lesson
        for test in lesson_result.tests:
            tests.append({
                "name": f"Lesson {lesson.number} · {test.name}",
                "number": test.task,
                "score": test.score,
                "max_score": test.max_score,
                "status": "passed" if test.status == "passed" else "failed",
                "visibility": "visible",
                "output": test.output,
                "output_format": "md",
                "tags": [lesson.key, f"task-{test.task}", test.status],
            })
    summary = [f"Total: {_fmt(result.score)} / {_fmt(result.max_score)}"]
    if result.problem:
        summary.append(result.problem)
    for lesson_result in result.lessons:
        line = (f"Lesson {lesson_result.lesson.number} ({lesson_result.lesson.slug}): "
                f"{_fmt(lesson_result.score)} / {lesson_result.lesson.points}")
        if lesson_result.message:
            line += " — " + lesson_result.message.splitlines()[0]
        summary.append(line)
    return {
        "score": result.score,
        "execution_time": round(result.execution_time, 3),
        "output": "\n".join(summary),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            "grader_version": __version__,
            "fingerprint": result.fingerprint,
            "submission": result.name,
            "status": result.status,
            "max_score": result.max_score,
            "lessons": {l.lesson.key: {"score": l.score, "max_score": l.lesson.points, "status": l.status,
                                       **({"seeds": l.seeds.as_dict()} if l.seeds else {})}
                        for l in result.lessons},
        },
    }


def feedback_markdown(result: SubmissionResult) -> str:
    """A student-facing summary: per lesson, the score and what each failed test says."""
    lines = [f"# Feedback for {result.name}", "",
             f"**Total: {_fmt(result.score)} / {_fmt(result.max_score)}**", ""]
    if result.problem:
        lines += [result.problem, ""]
    for lesson_result in result.lessons:
        lesson: Lesson = lesson_result.lesson
        lines += [f"## Lesson {lesson.number}: {lesson.slug} — {_fmt(lesson_result.score)} / {lesson.points}", ""]
        if lesson_result.message:
            lines += [lesson_result.message, ""]
            if all(t.output == lesson_result.message for t in lesson_result.tests):
                continue
        for test in lesson_result.tests:
            mark = "✅" if test.status == "passed" else "❌"
            lines.append(f"- {mark} **{test.name}** (task {test.task}, {_fmt(test.score)}/{_fmt(test.max_score)})")
            if test.status != "passed" and test.output and test.output != lesson_result.message:
                lines += ["", "  " + test.output.replace("\n", "\n  "), ""]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def results_json(result: SubmissionResult) -> str:
    """The text of ``results.json`` (stable key order and formatting)."""
    return json.dumps(gradescope_results(result), indent=2, ensure_ascii=False) + "\n"


def submission_files(result: SubmissionResult) -> tuple[str, str]:
    """The texts of ``feedback.md`` and ``results.json``, each at most :data:`MAX_FILE_BYTES`:
    outputs are capped to :data:`MAX_OUTPUT_BYTES`, then halved until both files fit (JSON
    escapes can make a capped output six times longer)."""
    limit = MAX_OUTPUT_BYTES
    while True:
        shown = capped_result(result, limit)
        feedback, results = feedback_markdown(shown), results_json(shown)
        fits = max(len(feedback.encode("utf-8")), len(results.encode("utf-8"))) <= MAX_FILE_BYTES
        if fits or limit <= MIN_OUTPUT_BYTES:
            return feedback, results
        limit = max(MIN_OUTPUT_BYTES, limit // 2)


def write_submission(result: SubmissionResult, out_dir: Path) -> Path:
    """Write ``<out>/<name>/feedback.md``, then ``results.json`` (:func:`submission_files`);
    returns the folder."""
    folder = out_dir / result.name
    for stale in folder.glob(".*.tmp"):  # left by a run killed in the middle of a write
        stale.unlink(missing_ok=True)
    feedback, results = submission_files(result)
    atomic_write(folder / "feedback.md", feedback)
    atomic_write(folder / "results.json", results)
    return folder


def read_results(folder: Path) -> dict[str, Any] | None:
    """A ``results.json`` written earlier in ``folder`` (with its ``feedback.md``), or None when
    there is none or it cannot be read."""
    try:
        data = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("extra_data"), dict) \
            or not (folder / "feedback.md").is_file():
        return None
    return data


def grades_csv(rows: list[dict[str, Any]], lessons: tuple[Lesson, ...]) -> str:
    """One row per submission: name, one column per lesson, total, status."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", *[lesson.key for lesson in lessons], "total", "status"])
    for row in sorted(rows, key=lambda r: r["name"]):
        writer.writerow([row["name"], *[_fmt(row["lessons"].get(lesson.key, 0.0)) for lesson in lessons],
                         _fmt(row["total"]), row["status"]])
    return buffer.getvalue()


def csv_row(result: SubmissionResult) -> dict[str, Any]:
    return {"name": result.name, "total": result.score, "status": result.status,
            "lessons": {l.lesson.key: l.score for l in result.lessons}}


def row_from_results_json(data: dict[str, Any]) -> dict[str, Any]:
    """Rebuild a grades.csv row from a results.json written earlier (for resumed runs)."""
    extra = data["extra_data"]
    return {"name": extra["submission"], "total": data["score"], "status": extra["status"],
            "lessons": {k: v["score"] for k, v in extra["lessons"].items()}}
