"""The gradebook of a bulk run: ``grades.csv``, ``summary.md`` and ``scores.png``.

Everything here is rebuilt from the ``results.json`` files in the output folder, so a resumed
run (some submissions graded now, others earlier) gives the same gradebook as one that graded
everything at once. Nothing depends on timing: the files are the same bytes for the same results.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from autograder.lessons import Lesson
from autograder.report import STATUS_ORDER, atomic_write, grades_csv, read_results, row_from_results_json

MOST_FAILED = 10


def collect(out: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """The results.json of each of ``names`` that has one in ``out``."""
    results = {}
    for name in names:
        data = read_results(out / name)
        if data is not None:
            results[name] = data
    return results


def write_gradebook(out: Path, names: list[str], lessons: tuple[Lesson, ...]
                    ) -> tuple[list[dict[str, Any]], list[Path]]:
    """Write grades.csv, summary.md and scores.png for ``names``; returns the rows and the paths."""
    results = collect(out, names)
    rows = []
    for name, data in results.items():
        row = row_from_results_json(data)
        row["name"] = name
        rows.append(row)
    missing = [name for name in names if name not in results]
    atomic_write(out / "grades.csv", grades_csv(rows, lessons))
    atomic_write(out / "summary.md", summary_markdown(results, lessons, missing))
    written = [out / "grades.csv", out / "summary.md"]
    if rows:
        histogram_png([row["total"] for row in rows], sum(l.points for l in lessons),
                      out / "scores.png")
        written.append(out / "scores.png")
    return rows, written


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}"


def _cell(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def summary_markdown(results: dict[str, dict[str, Any]], lessons: tuple[Lesson, ...],
                     missing: list[str] = ()) -> str:
    """Score distribution per lesson, status counts, the most-failed tests and the submissions
    that need a look (errors, timeouts)."""
    lines = ["# Grading summary", ""]
    n = len(results)
    total_points = sum(l.points for l in lessons)
    lines.append(f"{n} submission(s), lessons {', '.join(str(l.number) for l in lessons)} "
                 f"({total_points} points).")
    if missing:
        lines.append(f"No result yet for {len(missing)}: {', '.join(sorted(missing))}.")
    statuses = Counter(data["extra_data"].get("status", "error") for data in results.values())
    lines += ["", "Status: " + " · ".join(f"{s} {statuses.get(s, 0)}" for s in STATUS_ORDER), ""]
    if not results:
        return "\n".join(lines).rstrip() + "\n"

    lines += ["## Scores", "",
              "| | points | min | median | mean | max | full marks | zero | not graded |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for lesson in lessons:
        entries = [data["extra_data"]["lessons"].get(lesson.key, {}) for data in results.values()]
        scores = [float(e.get("score", 0.0)) for e in entries]
        not_graded = sum(1 for e in entries if e.get("status") == "error" and not e.get("score"))
        lines.append(_distribution_row(f"Lesson {lesson.number} ({lesson.slug})", lesson.points,
                                       scores, not_graded))
    totals = [float(data["score"]) for data in results.values()]
    lines.append(_distribution_row("**Total**", total_points, totals, statuses.get("error", 0)))
    lines += ["", "“not graded”: the lesson's file was missing, duplicated or could not be imported.",
              "", "![Distribution of total scores](scores.png)", ""]

    lines += ["## Most-failed tests", ""]
    failed = _failed_tests(results)
    if not failed:
        lines += ["Every graded test passed in every submission.", ""]
    else:
        lines += ["| test | failed | of | most common message |", "|---|---:|---:|---|"]
        for name, (count, seen, message) in failed[:MOST_FAILED]:
            lines.append(f"| {_cell(name, 70)} | {count} | {seen} | {_cell(message)} |")
        lines.append("")

    attention = [(name, data) for name, data in sorted(results.items())
                 if data["extra_data"].get("status") in ("error", "timeout")]
    if attention:
        lines += ["## Submissions that need a look", ""]
        for name, data in attention:
            reason = next((t["output"] for t in data["tests"] if t.get("tags", [""])[-1] in
                           ("timeout", "error") and t.get("output")), data.get("output", ""))
            lines.append(f"- `{name}` ({data['extra_data']['status']}): {_cell(reason, 160)}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _distribution_row(label: str, points: float, scores: list[float], not_graded: int) -> str:
    full = sum(1 for s in scores if abs(s - points) < 1e-9)
    zero = sum(1 for s in scores if s == 0)
    return (f"| {label} | {_num(points)} | {_num(min(scores))} | {_num(statistics.median(scores))} "
            f"| {statistics.fmean(scores):.1f} | {_num(max(scores))} | {full} | {zero} | {not_graded} |")


def _failed_tests(results: dict[str, dict[str, Any]]) -> list[tuple[str, tuple[int, int, str]]]:
    """Tests that failed or timed out in a graded lesson, most often first: ``(name, (failed,
    graded, most common first line of feedback))``. A lesson that could not be graded at all
    (missing file, import error) is counted in the score table, not here."""
    failed: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    messages: dict[str, Counter[tuple[bool, str]]] = defaultdict(Counter)
    for data in results.values():
        lesson_status = {key: entry.get("status") for key, entry in data["extra_data"]["lessons"].items()}
        for test in data["tests"]:
            tags = test.get("tags", [])
            status = tags[-1] if tags else ""
            lesson_key = tags[0] if tags else ""
            if status == "error" and lesson_status.get(lesson_key) == "error":
                continue  # the whole lesson was not graded
            seen[test["name"]] += 1
            if status != "passed":
                failed[test["name"]] += 1
                first = (test.get("output") or "").strip().splitlines()
                # a real check's message says more than a timeout's: it wins a tie
                messages[test["name"]][(status != "failed", first[0] if first else "(no message)")] += 1
    ranked = sorted(failed, key=lambda name: (-failed[name], name))
    return [(name, (failed[name], seen[name],
                    sorted(messages[name].items(), key=lambda kv: (-kv[1], kv[0]))[0][0][1]))
            for name in ranked]


def histogram_png(totals: list[float], max_score: float, path: Path) -> None:
    """A histogram of the total scores (matplotlib's Agg backend: no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bins = [max_score * i / 20 for i in range(21)] if max_score > 0 else 10
    axes.hist(totals, bins=bins, color="#4C72B0", edgecolor="white")
    axes.set_xlim(0, max_score or None)
    axes.set_xlabel(f"total score (out of {_num(max_score)})")
    axes.set_ylabel("submissions")
    axes.set_title(f"Total scores of {len(totals)} submission(s) — median {_num(statistics.median(totals))}")
    axes.yaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")
    figure.savefig(tmp, format="png", metadata={"Software": None})
    tmp.replace(path)
