"""``python -m autograder demo``: realistic samples from the repository, graded, and a table."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from autograder import demo
from autograder.cli import cli
from autograder.lessons import LESSONS, SOLUTIONS_DIR

WITH_SOLUTION = tuple(l for l in LESSONS if (SOLUTIONS_DIR / l.folder / l.student_file).is_file())


def test_every_patch_still_matches_its_reference():
    """A patch whose text left the reference would silently drop a sample from the demo."""
    available = {l.number for l in WITH_SOLUTION}
    for sample in demo.SAMPLES:
        if all(p.lesson in available for p in sample.patches):
            files = demo.sample_files(sample, WITH_SOLUTION)
            assert not isinstance(files, str), f"{sample.name}: {files}"


def test_each_buggy_sample_differs_from_the_reference_in_one_lesson():
    reference = demo.sample_files(demo.SAMPLES[0], WITH_SOLUTION)
    for sample in demo.SAMPLES:
        files = demo.sample_files(sample, WITH_SOLUTION)
        if isinstance(files, str) or not (sample.patches or sample.hang):
            continue
        changed = [path for path in files if files[path] != reference.get(path)]
        assert len(changed) == 1, (sample.name, changed)
        if sample.name != "syntax-error":
            compile(files[changed[0]], changed[0], "exec")


def test_samples_skip_lessons_that_are_not_ready():
    lesson2 = tuple(l for l in WITH_SOLUTION if l.number == 2)
    std = next(s for s in demo.SAMPLES if s.name == "std-is-logvar")
    assert demo.sample_files(std, lesson2) == "lesson 3 is not available yet"
    misplaced = demo.sample_files(next(s for s in demo.SAMPLES if s.name == "misplaced-file"), lesson2)
    assert list(misplaced) == ["my-work/autoencoder.py"]


def test_patches_change_code_not_comments_or_docstrings():
    text = '"""Use exp(0.5 * logvar) here."""\n# exp(0.5 * logvar)\nstd = exp(0.5 * logvar)\n'
    patch = demo.Patch(3, r"exp\(0\.5 \* logvar\)", "exp(logvar)")
    assert demo.apply_patch(text, patch) == text.replace("std = exp(0.5 * logvar)", "std = exp(logvar)")
    assert demo.apply_patch("# only exp(0.5 * logvar) in a comment\n", patch) is None


def test_grade_table_is_aligned():
    lesson2 = tuple(l for l in LESSONS if l.number == 2)
    rows = [{"name": "starter", "total": 0.0, "status": "ok", "lessons": {"lesson2": 0.0}},
            {"name": "reference", "total": 30, "status": "ok", "lessons": {"lesson2": 30}}]
    table = demo.grade_table(rows, lesson2, {"reference": "the reference", "starter": "the starters"})
    lines = table.splitlines()
    assert lines[0].split() == ["submission", "L2/30", "total/30", "status", "what", "it", "is"]
    assert lines[2].startswith("reference") and lines[3].startswith("starter")
    assert len({line.index("ok") for line in lines[2:]}) == 1


@pytest.mark.slow
def test_demo_grades_the_samples_and_prints_the_table(tmp_path):
    """The whole command, on the cheapest lesson that is ready (lesson 1 when it exists)."""
    ready = demo.available_lessons()
    lesson = next((l for l in ready if l.number == 1), None) or min(ready, key=lambda l: l.points)
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path), "--lessons", str(lesson.number),
                                      "--timeout", "6"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.startswith("submission "))
    assert header.split()[:4] == ["submission", f"L{lesson.number}/{lesson.points}",
                                  f"total/{lesson.points}", "status"]
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()
            if re.match(r"^[a-z-]+ +[\d.]+ +[\d.]+ +(ok|partial|error|timeout)\b", line)}
    assert rows["reference"][1:4] == [str(lesson.points), str(lesson.points), "ok"]
    assert rows["starter"][1:3] == ["0", "0"]
    assert rows["infinite-loop"][3] == "timeout"
    assert f"Gradebook: {tmp_path / 'grades' / 'grades.csv'}" in result.output
    assert (tmp_path / "grades" / "infinite-loop" / "feedback.md").is_file()
    assert "(skipping sample" in result.output  # bugs of the other lessons, with the reason
