"""The Otter-Grader plugin inside ``autograder.zip``: the score comes from our isolated engine.

Otter grades a notebook by executing it in a Jupyter kernel and unpickling the results that
kernel writes; it also ``dill``-loads a ``.OTTER_LOG`` found in the submission. Student code runs
in that kernel, so it can rewrite its own score (wrap ``Checker.check``, call ``update_score``,
pickle a forged result) or run code in the grading process itself. This plugin takes the score
out of Otter's hands, at three of its events:

1. ``before_grading`` (before anything from the submission is read or executed): the lesson's
   file is taken from whatever the student uploaded (the export zip, the file alone, a zip with
   it anywhere: see :mod:`.upload`), put alone into a private zip at its lesson path, and
   everything uploaded is removed from Otter's submission folder, ``.OTTER_LOG`` included. The
   zip is graded by ``python -m autograder grade`` (the course's engine: every lesson in its own
   sandboxed worker process, only plain data coming back), run from the unpacked
   ``autograder.zip``, and its ``results.json`` is kept in this process's memory. An upload
   without a usable lesson file scores 0 with a message that says what to upload.
2. ``before_execution``: Otter executes a placeholder notebook instead of the student's, so no
   student code runs in Otter's kernel at all (and no training run slows grading down).
3. ``after_grading``: the results Otter read back from its kernel are replaced by the engine's,
   so ``results.json`` is exactly what ``python -m autograder grade`` writes for the same zip.

If the engine fails or times out, the submission still gets a result: 0 points and the reason.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import nbformat

from otter.plugins import AbstractOtterPlugin
from otter.test_files import GradingResults
from otter.test_files.abstract_test import TestCase, TestCaseResult, TestFile

PLUGIN_NAME = "autograder.otter.plugin.IsolatedGrading"
DEFAULT_TIMEOUT = 480.0
"""Seconds for one engine run: under Gradescope's default 10-minute limit per submission."""
ENGINE_SUBMISSION = "submission"
"""The name the engine gives the submission (the private zip is ``submission.zip``)."""
OTTER_OWNED = {"tests"}
"""Entries of Otter's submission folder that Otter itself put there (its copy of the zip's tests)."""
OTTER_ADDED = frozenset({*OTTER_OWNED, "__init__.py"})
"""Top-level entries that are never the student's (Otter also writes an empty ``__init__.py``)."""
PLACEHOLDER_TEXT = ("This submission is graded by the course's isolated engine "
                    "(`python -m autograder grade`); the notebook itself is not executed.")


class IsolatedGrading(AbstractOtterPlugin):
    """Replace Otter's in-kernel grading with the course's sandboxed engine.

    Plugin config (``otter_config.json``): ``lesson`` (the lesson number this zip grades) and
    ``timeout`` (seconds allowed for the whole engine run).
    """

    def __init__(self, submission_path: str, submission_metadata: dict[str, Any],
                 plugin_config: dict[str, Any]) -> None:
        super().__init__(submission_path, submission_metadata, plugin_config)
        self.lesson = int((plugin_config or {})["lesson"])
        self.timeout = float((plugin_config or {}).get("timeout", DEFAULT_TIMEOUT))
        self.engine_results: dict[str, Any] | None = None
        self.engine_log = ""

    # Otter events, in the order Otter runs them.

    def before_grading(self, config: Any) -> None:
        source = Path(config.autograder_dir).resolve() / "source"
        workdir = Path(tempfile.mkdtemp(prefix="gf-otter-"))
        try:
            self.engine_results, self.engine_log = self.grade(Path(self.submission_path), source, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def grade(self, submission_file: Path, source: Path, workdir: Path) -> tuple[dict[str, Any], str]:
        """Take the upload out of Otter's hands and grade it with the engine."""
        from autograder.lessons import lesson_by_number
        from autograder.otter.upload import UploadError, lesson_file

        lesson = lesson_by_number(self.lesson)
        private_zip = workdir / f"{ENGINE_SUBMISSION}.zip"
        try:
            try:
                student_file = lesson_file(submission_file.parent, lesson, skip_top=OTTER_ADDED)
            except UploadError as exc:
                student_file, problem = None, str(exc)
            clear_submission(submission_file.parent)
            write_placeholder(submission_file)
        except OSError as exc:
            reason = f"the uploaded files could not be read ({exc.strerror or type(exc).__name__})."
            return failure_results(lesson_points(self.lesson), reason, ""), reason
        if student_file is None:
            return upload_problem_results(lesson.points, problem), problem
        with zipfile.ZipFile(private_zip, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(lesson.relative_path, student_file)
        return run_engine(private_zip, workdir / "out", source=source, lesson=self.lesson,
                          timeout=self.timeout)

    def before_execution(self, submission: Any) -> Any:
        if isinstance(submission, str):
            return f"# {PLACEHOLDER_TEXT}\n"
        return placeholder_notebook()

    def after_grading(self, results: GradingResults) -> None:
        engine = self.engine_results or failure_results(
            lesson_points(self.lesson), "the grading plugin did not run before Otter's grading.", "")
        EngineGradingResults.adopt(results, engine)

    def generate_report(self) -> str:
        engine = self.engine_results or {}
        lines = [f"Graded by the isolated engine (lesson {self.lesson}): "
                 f"{engine.get('score', 0):g} / {engine.get('extra_data', {}).get('max_score', 0):g}"]
        if self.engine_log.strip():
            lines += ["", self.engine_log.strip()]
        return "\n".join(lines)


class EngineTestFile(TestFile):
    """One of the engine's tests, shaped like an Otter test file (for Otter's summaries and API)."""

    @classmethod
    def from_test(cls, test: dict[str, Any]) -> "EngineTestFile":
        case = TestCase(name=str(test.get("name", "")), body="", hidden=test.get("visibility") == "hidden",
                        points=float(test.get("max_score", 0.0)), success_message=None,
                        failure_message=None)
        test_file = cls(name=case.name, path="", test_cases=[case], all_or_nothing=False)
        passed = test.get("status") == "passed"
        test_file.test_case_results = [TestCaseResult(test_case=case, message=str(test.get("output", "")),
                                                      passed=passed)]
        test_file.update_score(float(test.get("score", 0.0)))
        return test_file

    @classmethod
    def from_file(cls, path: str) -> "EngineTestFile":
        raise NotImplementedError("engine results are not read from test files")

    @classmethod
    def from_metadata(cls, s: Any, path: str) -> "EngineTestFile":
        raise NotImplementedError("engine results are not read from notebook metadata")

    def run(self, global_environment: dict[str, Any]) -> None:
        raise NotImplementedError("engine tests run in the engine, not in Otter's kernel")


class EngineGradingResults(GradingResults):
    """Otter's results object, holding the engine's ``results.json`` and reporting only that."""

    engine: dict[str, Any]

    @classmethod
    def adopt(cls, results: GradingResults, engine: dict[str, Any]) -> None:
        """Turn ``results`` (the object Otter returns and writes) into the engine's results, in place."""
        results.__class__ = cls
        assert isinstance(results, EngineGradingResults)
        results.engine = copy.deepcopy(engine)
        results._catastrophic_error = None
        results.pdf_error = None
        results.output = engine.get("output")
        results.results = {}
        for index, test in enumerate(engine.get("tests", [])):
            test_file = EngineTestFile.from_test(test)
            name = test_file.name if test_file.name not in results.results else f"{test_file.name} ({index})"
            results.results[name] = test_file

    @property
    def total(self) -> float:
        return float(self.engine.get("score", 0.0))

    @property
    def possible(self) -> float:
        return float(self.engine.get("extra_data", {}).get("max_score", 0.0))

    def summary(self, public_only: bool = False) -> str:
        return str(self.engine.get("output", ""))

    def to_gradescope_dict(self, ag_config: Any) -> dict[str, Any]:
        return copy.deepcopy(self.engine)


def clear_submission(folder: Path) -> None:
    """Remove everything the student uploaded from Otter's submission folder."""
    for entry in folder.iterdir():
        if entry.name in OTTER_OWNED and entry.is_dir() and not entry.is_symlink():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def placeholder_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(PLACEHOLDER_TEXT)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write_placeholder(path: Path) -> None:
    """Put a harmless file where Otter expects the submission (Otter reads it before executing)."""
    if path.suffix == ".ipynb":
        nbformat.write(placeholder_notebook(), path)
    else:
        path.write_text(f"# {PLACEHOLDER_TEXT}\n", encoding="utf-8")


def run_engine(submission: Path, out: Path, *, source: Path, lesson: int,
               timeout: float) -> tuple[dict[str, Any], str]:
    """Grade ``submission`` with ``python -m autograder grade`` run from ``source`` (the unpacked
    autograder.zip); returns (results.json as a dict, the engine's output for the log)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(source), *filter(None, [env.get("PYTHONPATH")])])
    command = [sys.executable, "-m", "autograder", "grade", str(submission), "--out", str(out),
               "--lessons", str(lesson), "--jobs", "1"]
    points = lesson_points(lesson)
    try:
        process = subprocess.Popen(command, cwd=source, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
    except OSError as exc:
        reason = f"the grader could not be started ({exc.strerror or type(exc).__name__})."
        return failure_results(points, reason, ""), reason
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        reason = f"grading took longer than {timeout:g} seconds."
        return failure_results(points, reason, output[-20000:]), output[-20000:]
    log = output[-20000:]
    try:
        results = json.loads((out / ENGINE_SUBMISSION / "results.json").read_text(encoding="utf-8"))
        if not isinstance(results, dict) or not isinstance(results.get("tests"), list):
            raise ValueError("results.json has no list of tests")
        float(results["score"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log += f"\nNo usable results.json: {exc}"
        reason = f"the grader stopped (exit status {process.returncode}) without a result."
        return failure_results(points, reason, log), log
    return results, log


def upload_problem_results(points: float, message: str) -> dict[str, Any]:
    """A zero-score result for an upload without a usable lesson file: ``message`` tells the
    student what to upload instead."""
    return zero_results(points, "Upload", message, f"Not graded: {message}", "")


def failure_results(points: float, reason: str, log: str) -> dict[str, Any]:
    """A zero-score result that says why (the engine's log only for the instructor)."""
    return zero_results(points, "Grading",
                        f"This submission could not be graded: {reason} Please tell your instructor.",
                        f"Not graded: {reason}", log)


def zero_results(points: float, name: str, message: str, summary: str, log: str) -> dict[str, Any]:
    """Gradescope results worth 0 of ``points``: one visible test ``name`` with ``message``,
    and the engine's ``log`` as a hidden test when there is one."""
    tests = [{"name": name, "score": 0.0, "max_score": points, "status": "failed",
              "visibility": "visible", "output": message}]
    if log.strip():
        tests.append({"name": "Grader log (instructors only)", "score": 0.0, "max_score": 0.0,
                      "status": "failed", "visibility": "hidden", "output": log[-8000:]})
    return {"score": 0.0, "output": f"Total: 0 / {points:g}\n{summary}",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": tests,
            "extra_data": {"status": "error", "max_score": points}}


def lesson_points(lesson: int) -> float:
    """The lesson's points (the lesson registry), for results written when the engine gave none."""
    from autograder.lessons import lesson_by_number
    try:
        return float(lesson_by_number(lesson).points)
    except KeyError:
        return 0.0
