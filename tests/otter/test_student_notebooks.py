"""The student notebooks' Otter cells, executed headless, and the exports they write.

For each lesson whose student notebook exists, the notebook's ``otter.Notebook``,
``grader.check`` and ``grader.export`` cells run in a copy of the lesson folder, once with the
starter and once with the reference (see :mod:`tests.otter.exports`; the full top-to-bottom run
is tests/notebooks' job). The checks fail with the stub's message on the starter and pass on
the reference; the export cell writes a zip that ``python -m autograder grade`` accepts.
"""

from __future__ import annotations

import json
import zipfile

import nbformat
import pytest

from autograder.lessons import ASSIGNMENTS_DIR
from coursekit.testing import STUB_PHRASES
from tests.helpers import reference_source, starter_source
from tests.otter.exports import lessons_with_student_notebooks

LESSONS = lessons_with_student_notebooks()
IDS = [lesson.folder for lesson in LESSONS]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200),
              pytest.mark.skipif(not LESSONS, reason="no student notebook in assignments/ yet")]


def check_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and "grader.check(" in c.source]


def output_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(str(output.get("data", {}).get("text/plain", "")))
        parts.append(f"{output.get('ename', '')}: {output.get('evalue', '')}")
    return "\n".join(parts)


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_every_otter_question_has_a_check_cell_running_public_tests(lesson):
    nb = nbformat.read(ASSIGNMENTS_DIR / lesson.folder / str(lesson.notebook), as_version=4)
    tests = nb.metadata.get("otter", {}).get("tests", {})
    assert tests, f"{lesson.notebook} stores no Otter tests in its metadata"
    checked = {c.source.split('grader.check("', 1)[1].split('"', 1)[0] for c in check_cells(nb)}
    assert checked == set(tests), f"check cells {sorted(checked)} != questions {sorted(tests)}"
    for name, test in tests.items():
        assert "check_task(" in json.dumps(test), f"question {name} does not run a task's public tests"
    assert any("grader.export(" in c.source and lesson.student_file in c.source for c in nb.cells), \
        f"the export cell of {lesson.notebook} does not include {lesson.student_file} (export_cell: files:)"


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_checks_fail_with_the_stub_message_on_the_starter(lesson, exports):
    cells = check_cells(exports(lesson).executed["starter"])
    assert cells
    for cell in cells:
        text = output_text(cell)
        assert any(phrase in text for phrase in STUB_PHRASES) and "All test cases passed" not in text, \
            f"{cell.source.strip()} on the starter:\n{text[:3000]}"
        noise = [word for word in ("Trying:", "Expecting nothing", "Traceback", "\x1b[", "=====")
                 if word in text]
        assert not noise, f"{cell.source.strip()}: the failure shows {noise}, not just task, test and message:\n{text[:3000]}"


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_checks_pass_on_the_reference(lesson, exports):
    for cell in check_cells(exports(lesson).executed["reference"]):
        text = output_text(cell)
        assert "All test cases passed" in text, f"{cell.source.strip()} on the reference:\n{text[:3000]}"


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_export_holds_the_notebook_and_the_student_file_at_its_root(lesson, exports):
    for variant, source in (("starter", starter_source), ("reference", reference_source)):
        with zipfile.ZipFile(exports(lesson).zips[variant]) as zf:
            names = set(zf.namelist())
            assert {str(lesson.notebook), lesson.student_file} <= names, sorted(names)
            assert zf.read(lesson.student_file).decode() == source(lesson.number)


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_bulk_grading_accepts_the_export(lesson, bulk):
    scores = {variant: bulk(lesson, variant)["extra_data"]["lessons"][lesson.key]["score"]
              for variant in ("starter", "reference")}
    assert scores == {"starter": 0, "reference": lesson.points}
