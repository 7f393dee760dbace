"""Nothing one submission's code does delays or changes another submission's result.

A correct submission is graded beside a flooding one (:data:`tests.attacks.catalog.FLOOD`:
replies queued before they are asked for, each a header that is slow to parse) in one
``grade --jobs 2`` run, with a lesson time limit a few times what the correct one needs alone.
The correct one must get full marks, with no test "Not run" for lack of time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.lessons import REPO_ROOT, lesson_by_number
from tests.attacks.catalog import FLOOD, lesson_source

LESSON = 3
TIMEOUT = 20.0

pytestmark = pytest.mark.slow


def test_a_flooding_submission_does_not_cost_its_neighbour_points(tmp_path: Path) -> None:
    lesson = lesson_by_number(LESSON)
    subs, out = tmp_path / "subs", tmp_path / "out"
    for name, source in (("a-flood", lesson_source(LESSON) + FLOOD), ("b-correct", lesson_source(LESSON))):
        path = subs / name / lesson.folder / lesson.student_file
        path.parent.mkdir(parents=True)
        path.write_text(source, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
                           "--lessons", str(LESSON), "--timeout", str(TIMEOUT), "--jobs", "2"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    correct = json.loads((out / "b-correct" / "results.json").read_text())
    lost = [f"{t['name']}: {t['output'][:200]}" for t in correct["tests"] if t["score"] < t["max_score"]]
    assert correct["score"] == lesson.points, f"the correct submission lost points beside the flood: {lost}"
    flood = json.loads((out / "a-flood" / "results.json").read_text())
    assert flood["score"] == 0, "the flooding submission's replies were accepted"
