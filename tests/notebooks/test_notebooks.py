"""Every student notebook runs headless, top to bottom, with the reference module in place.

Runs on the committed data subset with GF_QUICK=1 (the notebooks' short settings) and checks
that the notebook saved its figures and that its grader.check cells passed.
"""

from __future__ import annotations

import pytest

from autograder.build.run_notebook import execute_lesson_notebook
from autograder.lessons import ASSIGNMENTS_DIR, LESSONS

WITH_NOTEBOOKS = [l for l in LESSONS if l.notebook and (ASSIGNMENTS_DIR / l.folder / l.notebook).exists()]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("lesson", WITH_NOTEBOOKS, ids=[l.folder for l in WITH_NOTEBOOKS])
def test_notebook_runs_headless_and_saves_figures(lesson, tmp_path):
    nb, folder = execute_lesson_notebook(lesson, tmp_path)
    figures = sorted((folder / "figures").glob("*.png"))
    assert figures, f"{lesson.notebook} saved no figure under figures/"
    assert all(f.stat().st_size > 1000 for f in figures), "an empty figure was saved"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors
    checks = [c for c in nb.cells if c.cell_type == "code" and "grader.check(" in c.source]
    for cell in checks:
        text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                       for o in cell.get("outputs", []))
        assert "passed" in text.lower() and "fail" not in text.lower(), (
            f"{cell.source.strip()} did not pass with the reference module:\n{text[:2000]}")
