"""The IsolatedGrading plugin's steps, without Otter around them (fast)."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from otter.test_files import GradingResults

from autograder.otter import plugin as plugin_module
from autograder.otter.plugin import (EngineGradingResults, IsolatedGrading, clear_submission,
                                     failure_results, run_engine, write_placeholder)

ENGINE_RESULTS = {
    "score": 3.0,
    "output": "Total: 3 / 30",
    "visibility": "visible",
    "stdout_visibility": "hidden",
    "tests": [
        {"name": "Lesson 2 · a", "number": "2.1", "score": 3.0, "max_score": 3.0, "status": "passed",
         "visibility": "visible", "output": "", "tags": ["lesson2", "task-2.1", "passed"]},
        {"name": "Lesson 2 · b", "number": "2.2", "score": 0.0, "max_score": 27.0, "status": "failed",
         "visibility": "visible", "output": "Task 2.2: not implemented yet",
         "tags": ["lesson2", "task-2.2", "failed"]},
    ],
    "extra_data": {"max_score": 30.0, "status": "ok"},
}


def uploaded(folder: Path) -> Path:
    """An Otter submission folder: the student's files, plus Otter's copy of the zip's tests."""
    (folder / "tests").mkdir(parents=True)
    (folder / "tests" / "isolated_engine.py").write_text("OK_FORMAT = True\n")
    (folder / "autoencoders.ipynb").write_text("{}")
    (folder / "autoencoder.py").write_text("x = 1\n")
    (folder / ".OTTER_LOG").write_bytes(b"\x80\x04forged")
    (folder / "extra").mkdir()
    (folder / "extra" / "notes.txt").write_text("hi")
    os.symlink("/etc/passwd", folder / "link")
    return folder


def test_grading_sends_the_engine_only_the_lesson_file_at_its_lesson_path(tmp_path, monkeypatch):
    folder = uploaded(tmp_path / "submission")
    sent = {}

    def engine(private_zip, out, **kwargs):
        with zipfile.ZipFile(private_zip) as zf:
            sent.update({name: zf.read(name) for name in zf.namelist()})
        return ENGINE_RESULTS, "log"

    monkeypatch.setattr(plugin_module, "run_engine", engine)
    plugin = IsolatedGrading(str(folder / "autoencoders.ipynb"), {}, {"lesson": 2})
    results, _ = plugin.grade(folder / "autoencoders.ipynb", tmp_path / "source", tmp_path)
    assert results == ENGINE_RESULTS
    assert sent == {"02-autoencoders/autoencoder.py": b"x = 1\n"}
    assert sorted(p.name for p in folder.iterdir()) == ["autoencoders.ipynb", "tests"]


def test_an_upload_without_the_lesson_file_scores_zero_and_says_what_to_upload(tmp_path, monkeypatch):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "my_autoencoder.py").write_text("x = 1\n")
    monkeypatch.setattr(plugin_module, "run_engine", lambda *a, **k: pytest.fail("nothing to grade"))
    plugin = IsolatedGrading(str(folder / "my_autoencoder.py"), {}, {"lesson": 2})
    results, _ = plugin.grade(folder / "my_autoencoder.py", tmp_path / "source", tmp_path)
    assert results["score"] == 0 and results["tests"][0]["max_score"] == 30
    message = results["tests"][0]["output"]
    assert "no file named `autoencoder.py`" in message and "`my_autoencoder.py`" in message
    assert "grader.export()" in message and "tell your instructor" not in message


def test_clear_leaves_only_otters_tests_and_a_placeholder(tmp_path):
    folder = uploaded(tmp_path / "submission")
    clear_submission(folder)
    write_placeholder(folder / "autoencoders.ipynb")
    assert sorted(p.name for p in folder.iterdir()) == ["autoencoders.ipynb", "tests"]
    nb = nbformat.read(folder / "autoencoders.ipynb", as_version=4)
    assert [c.cell_type for c in nb.cells] == ["markdown"]


def test_execution_gets_a_placeholder_whatever_was_submitted():
    plugin = IsolatedGrading("/x/autoencoders.ipynb", {}, {"lesson": 2})
    student = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os; os.system('x')")])
    executed = plugin.before_execution(student)
    assert all(c.cell_type == "markdown" for c in executed.cells)
    assert plugin.before_execution("import os\n").lstrip().startswith("#")


def test_after_grading_replaces_otters_results_with_the_engines():
    plugin = IsolatedGrading("/x/autoencoders.ipynb", {}, {"lesson": 2})
    plugin.engine_results = ENGINE_RESULTS
    results = GradingResults([])
    results._catastrophic_error = RuntimeError("the kernel's pickle was unreadable")
    plugin.after_grading(results)
    assert isinstance(results, EngineGradingResults)
    assert results.to_gradescope_dict(SimpleNamespace(show_hidden=False)) == ENGINE_RESULTS
    assert (results.total, results.possible) == (3.0, 30.0)
    assert [results.get_score(name) for name in results.test_files] == [3.0, 0.0]
    assert not results.has_catastrophic_failure()


def test_without_engine_results_the_submission_scores_zero_with_a_reason():
    plugin = IsolatedGrading("/x/autoencoders.ipynb", {}, {"lesson": 2})
    results = GradingResults([])
    plugin.after_grading(results)
    gradescope = results.to_gradescope_dict(None)
    assert gradescope["score"] == 0 and gradescope["tests"][0]["max_score"] == 30
    assert "could not be graded" in gradescope["tests"][0]["output"]


def fake_source(tmp_path: Path, main: str) -> Path:
    """An unpacked autograder.zip whose engine is ``main`` (a stand-in for ``python -m autograder``)."""
    source = tmp_path / "source"
    (source / "autograder").mkdir(parents=True)
    (source / "autograder" / "__init__.py").write_text("")
    (source / "autograder" / "__main__.py").write_text(main)
    return source


def test_engine_runs_from_the_unpacked_zip(tmp_path):
    main = ("import json, sys, pathlib\n"
            "out = pathlib.Path(sys.argv[sys.argv.index('--out') + 1]) / 'submission'\n"
            "out.mkdir(parents=True)\n"
            f"(out / 'results.json').write_text(json.dumps({ENGINE_RESULTS!r}))\n"
            "print('engine args:', sys.argv[1:], 'cwd:', pathlib.Path.cwd())\n")
    source = fake_source(tmp_path, main)
    results, log = run_engine(tmp_path / "submission.zip", tmp_path / "out", source=source,
                              lesson=2, timeout=60)
    assert results == ENGINE_RESULTS
    assert "'grade'" in log and "'--lessons', '2'" in log and f"cwd: {source}" in log


@pytest.mark.parametrize("main, reason", [
    ("import sys; print('boom', file=sys.stderr); sys.exit(3)", "(exit status 3)"),
    ("print('boom', flush=True); import time; time.sleep(30)", "longer than 2 seconds"),
])
def test_a_failed_engine_gives_a_zero_with_the_reason(tmp_path, main, reason):
    results, _ = run_engine(tmp_path / "submission.zip", tmp_path / "out",
                            source=fake_source(tmp_path, main), lesson=3, timeout=2)
    assert results["score"] == 0 and results["tests"][0]["max_score"] == 35
    assert reason in results["tests"][0]["output"] and "boom" not in results["tests"][0]["output"]
    log = results["tests"][1]
    assert "boom" in log["output"] and log["visibility"] == "hidden" and log["max_score"] == 0


def test_failure_results_are_gradescope_json():
    results = failure_results(25, "a reason.", "log text")
    json.dumps(results)
    assert results["tests"][1]["output"] == "log text" and results["tests"][1]["visibility"] == "hidden"
