"""Broken submissions get a clear result, never a crash: syntax errors, import errors, missing files."""

from __future__ import annotations

import pytest

from tests.helpers import failed_outputs, grade_sources, lesson_score, reference_source


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    reference = reference_source(2)
    subs = {
        "syntax-error": {2: reference.replace("def evaluate(", "def evaluate(:", 1)},
        "import-error": {2: "import torch\nraise RuntimeError('boom at import')\n"},
        "empty-file": {2: ""},
        "reference": {2: reference},
    }
    return grade_sources(tmp_path_factory.mktemp("broken"), subs, lessons="2")


def test_syntax_error_is_reported_with_its_line(graded):
    results = graded["syntax-error"]
    assert lesson_score(results, 2) == 0
    feedback = failed_outputs(results, 2)
    assert "could not be imported" in feedback and "SyntaxError" in feedback
    assert "line" in feedback
    assert results["extra_data"]["status"] == "error"


def test_exception_at_import_is_reported(graded):
    feedback = failed_outputs(graded["import-error"], 2)
    assert "RuntimeError: boom at import" in feedback


def test_empty_file_scores_zero_with_a_message(graded):
    results = graded["empty-file"]
    assert lesson_score(results, 2) == 0
    assert "has no attribute" in failed_outputs(results, 2) or "AttributeError" in failed_outputs(results, 2)


def test_reference_in_the_same_run_is_unaffected(graded):
    assert lesson_score(graded["reference"], 2) == 30


def test_missing_lesson_file_scores_zero_with_a_message(tmp_path):
    results = grade_sources(tmp_path, {"only-lesson-2": {2: reference_source(2)}}, lessons="2")
    assert lesson_score(results["only-lesson-2"], 2) == 30
    (tmp_path / "subs" / "nothing").mkdir()
    from autograder import grade
    grade.main(submissions=[tmp_path / "subs" / "nothing"], out=tmp_path / "out2", jobs=1,
               lessons="2", echo=lambda _: None)
    import json
    results = json.loads((tmp_path / "out2" / "nothing" / "results.json").read_text())
    assert results["score"] == 0
    assert "was not found" in failed_outputs(results, 2)
