"""``python -m autograder demo``: build sample submissions and grade them, as a TA would.

The samples are made from the repository itself: the reference solutions, the untouched
starters, a few realistic bugs (small text patches to the reference: a decoder without its
sigmoid, a summed loss, a forgotten ``zero_grad``, ...), a syntax error, a file in the wrong
folder and an infinite loop. Only lessons whose reference solution and hidden suite exist
are graded; a patch whose text is not in the current reference is skipped with a note.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from autograder import grade
from autograder.lessons import LESSONS, SOLUTIONS_DIR, Lesson, parse_lesson_list
from autograder.samples import reference_source, starter_source, with_infinite_loop

# Seconds per lesson: a correct lesson needs a few (more on a busy machine); the infinite loop
# costs this much once, graded first so that the others are graded meanwhile.
DEMO_TIMEOUT = 30.0


class DemoError(RuntimeError):
    """The demo cannot run (no lesson is ready to grade)."""


@dataclass(frozen=True)
class Patch:
    """Replace the first match of ``pattern`` (a multi-line regex) in a lesson's reference."""

    lesson: int
    pattern: str
    replacement: str


@dataclass(frozen=True)
class Sample:
    """One sample submission: the reference with ``patches`` applied (or the starters)."""

    name: str
    description: str
    patches: tuple[Patch, ...] = ()
    starter: bool = False
    hang: bool = False
    misplace: bool = False


SAMPLES = (
    Sample("reference", "the reference solutions"),
    Sample("starter", "the untouched starters", starter=True),
    Sample("decoder-no-sigmoid", "lesson 2 decoder without its final sigmoid",
           (Patch(2, r"nn\.Sigmoid\(\)", "nn.Identity()"),)),
    Sample("loss-summed", "lesson 2 reconstruction loss summed instead of averaged",
           (Patch(2, r"\(\(x_hat - x\) \*\* 2\)\.mean\(\)", "((x_hat - x) ** 2).sum()"),)),
    Sample("no-zero-grad", "lesson 2 train_epoch without optimizer.zero_grad()",
           (Patch(2, r"^(\s*)optimizer\.zero_grad\(\)\s*$", r"\1pass  # forgot optimizer.zero_grad()"),)),
    Sample("std-is-logvar", "lesson 3 reparameterize with exp(logvar) as the standard deviation",
           (Patch(3, r"exp\(\s*0\.5\s*\*\s*logvar\s*\)", "exp(logvar)"),)),
    Sample("lerp-no-endpoint", "lesson 4 interpolation that never reaches z1",
           (Patch(4, r"(linspace\(\s*0(?:\.0)?\s*,\s*)1(?:\.0)?(\s*,\s*steps\b)", r"\g<1>1 - 1 / steps\g<2>"),)),
    Sample("syntax-error", "lesson 2 with a missing colon (cannot be imported)",
           (Patch(2, r"^(def evaluate\(.*\)[^:\n]*):[ \t]*$", r"\1"),)),
    Sample("misplaced-file", "lesson 2's file outside its lesson folder", misplace=True),
    Sample("infinite-loop", "one function loops forever (graded with a short timeout)", hang=True),
)


def available_lessons() -> tuple[Lesson, ...]:
    """Lessons with a reference solution and a hidden suite that loads (others are being written)."""
    from autograder.suite import SuiteError, load_suite
    found = []
    for lesson in LESSONS:
        if not (SOLUTIONS_DIR / lesson.folder / lesson.student_file).is_file():
            continue
        try:
            load_suite(lesson)
        except (ImportError, SuiteError):
            continue
        found.append(lesson)
    return tuple(found)


def apply_patch(text: str, patch: Patch) -> str | None:
    """``text`` with the first match of the patch in code (not in a comment or a docstring)
    replaced, or None when the code has no match."""
    for match in re.finditer(patch.pattern, text, flags=re.MULTILINE):
        line_start = text.rfind("\n", 0, match.start()) + 1
        in_comment = "#" in text[line_start:match.start()]
        in_string = (text.count('"""', 0, match.start()) + text.count("'''", 0, match.start())) % 2 == 1
        if not in_comment and not in_string:
            return text[:match.start()] + match.expand(patch.replacement) + text[match.end():]
    return None


def sample_files(sample: Sample, lessons: tuple[Lesson, ...]) -> dict[str, str] | str:
    """The sample's files (path inside the submission -> text), or why it is skipped."""
    sources = {lesson.number: starter_source(lesson) if sample.starter else reference_source(lesson)
               for lesson in lessons}
    for patch in sample.patches:
        if patch.lesson not in sources:
            return f"lesson {patch.lesson} is not available yet"
        patched = apply_patch(sources[patch.lesson], patch)
        if patched is None:
            return f"its patch no longer matches the lesson {patch.lesson} reference"
        sources[patch.lesson] = patched
    by_lesson = {lesson.number: lesson for lesson in lessons}
    if sample.hang:
        if not lessons:
            return "no lesson to put the loop in"
        looping = by_lesson.get(2, lessons[0])  # the lesson the buggy samples are in, when graded
        sources[looping.number] = with_infinite_loop(looping, sources[looping.number])
    files = {by_lesson[n].relative_path: text for n, text in sources.items()}
    if sample.misplace:
        moved = by_lesson.get(2, lessons[0])
        files[f"my-work/{moved.student_file}"] = files.pop(moved.relative_path)
    return files


def build_samples(root: Path, lessons: tuple[Lesson, ...], echo: Callable[[str], None] = print
                  ) -> dict[str, str]:
    """Write the samples under ``root``; returns name -> description of those written."""
    written = {}
    for sample in SAMPLES:
        files = sample_files(sample, lessons)
        if isinstance(files, str):
            echo(f"(skipping sample {sample.name}: {files})")
            continue
        for relative, text in files.items():
            path = root / sample.name / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
        written[sample.name] = sample.description
    return written


def grade_table(rows: list[dict], lessons: tuple[Lesson, ...], descriptions: dict[str, str]) -> str:
    """An aligned text table: one line per submission, a column per lesson, total and status."""
    header = ["submission", *[f"L{l.number}/{l.points}" for l in lessons],
              f"total/{sum(l.points for l in lessons)}", "status", "what it is"]
    order = {name: i for i, name in enumerate(descriptions)}
    body = [[row["name"], *[f"{row['lessons'].get(l.key, 0):g}" for l in lessons],
             f"{row['total']:g}", row["status"], descriptions.get(row["name"], "")]
            for row in sorted(rows, key=lambda r: order.get(r["name"], len(order)))]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    numeric = set(range(1, len(lessons) + 2))

    def fmt(line: list[str]) -> str:
        cells = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                 for i, cell in enumerate(line)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *[fmt(line) for line in body]])


def main(*, out: Path | None = None, jobs: int | None = None, lessons: str | None = None,
         timeout: float = DEMO_TIMEOUT, echo: Callable[[str], None] = print,
         progress: bool | None = None) -> grade.BulkRun:
    """Build the samples under ``out`` (default: a new temp folder), grade them, print the table.

    ``lessons`` (e.g. ``"2,3"``) narrows the lessons graded to those among them that have a
    reference solution and a hidden suite (default: every such lesson).
    """
    wanted = parse_lesson_list(lessons)
    lessons = tuple(lesson for lesson in available_lessons() if lesson in wanted)
    if not lessons:
        raise DemoError("no selected lesson has both a reference solution and a hidden suite yet")
    out = Path(tempfile.mkdtemp(prefix="gf-demo-")) if out is None else out
    out = out.resolve()
    missing = [str(l.number) for l in LESSONS if l not in lessons]
    echo(f"Demo: lessons {', '.join(str(l.number) for l in lessons)}"
         + (f" (lesson(s) {', '.join(missing)} not graded: no reference solution or hidden suite yet)"
            if missing else "") + f", samples in {out / 'submissions'}")
    descriptions = build_samples(out / "submissions", lessons, echo)
    hanging = {sample.name for sample in SAMPLES if sample.hang}
    order = sorted(descriptions, key=lambda name: name not in hanging)  # the slow one first
    run = grade.main(submissions=[out / "submissions" / name for name in order],
                     out=out / "grades", jobs=jobs, lessons=",".join(str(l.number) for l in lessons),
                     timeout=timeout, echo=echo, progress=progress)
    if run.interrupted:
        return run
    echo("")
    echo(grade_table(run.rows, lessons, descriptions))
    echo("")
    echo(f"Gradebook: {out / 'grades' / 'grades.csv'}")
    echo(f"Summary:   {out / 'grades' / 'summary.md'} (and scores.png)")
    echo(f"Feedback:  {out / 'grades'}/<submission>/feedback.md (Gradescope: results.json)")
    echo(f"Grade your own: python -m autograder grade FOLDER_OF_SUBMISSIONS --out DIR")
    return run
