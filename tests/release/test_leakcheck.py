"""``autograder.release.leakcheck``: a clean release passes, and every kind of planted leak is caught."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder.lessons import LESSONS, REPO_ROOT, SOLUTIONS_DIR, lesson_by_number
from autograder.release.leakcheck import SUITES_DIR, LeakError, check_release, main
from autograder.release.owned import solution_blocks

LESSON2 = lesson_by_number(2)


def _kinds(report, path: str | None = None) -> set[str]:
    return {leak.kind for leak in report.leaks if path is None or leak.path == path}


def _first_stub(source: str) -> re.Match:
    match = re.search(r"^(?P<indent>[ \t]*)raise NotImplementedError\(.*\)$", source, re.MULTILINE)
    assert match, "the starter has no stub"
    return match


def _paste_over_first_stub(starter: Path, block: str) -> None:
    source = starter.read_text()
    stub = _first_stub(source)
    pasted = textwrap.indent(block, stub.group("indent"))
    starter.write_text(source[:stub.start()] + pasted + source[stub.end():])


def _lesson2_blocks() -> list[tuple[int, str]]:
    return solution_blocks((SOLUTIONS_DIR / LESSON2.relative_path).read_text())


@pytest.fixture
def lesson2_copy(release_tree, tmp_path):
    """``lesson2_copy()`` -> a private copy of the release with lesson 2 only (the worked example),
    so that planted leaks are the only ones, whatever state the other lessons are in."""
    def copy() -> Path:
        target = tmp_path / f"lesson2-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(release_tree, target, ignore=shutil.ignore_patterns(
            *[lesson.folder for lesson in LESSONS if lesson.number != 2]))
        return target
    return copy


# ------------------------------------------------------------------------------ a clean release


def test_lesson2_release_is_clean(lesson2_copy):
    """Its starter, tests and coursekit share code with the reference legitimately: no false alarm."""
    report = check_release(lesson2_copy())
    assert report.ok, report.summary()
    assert report.files_checked > 10


def test_solution_fingerprints_ignore_shared_and_tiny_statements():
    """``super().__init__()`` stands outside the blocks; ``return self.net(x)`` is too small to leak anything."""
    import ast
    from autograder.release.owned import collect_owned as _collect_secrets, node_key as _key
    secrets = _collect_secrets(SOLUTIONS_DIR, SUITES_DIR, LESSONS)
    for code in ("super().__init__()", "self.latent_dim = latent_dim", "return self.net(x)", "model.train()"):
        assert _key(ast.parse(code).body[0]) not in secrets.solution_statements, code
    assert _key(ast.parse("return self.decoder(self.encoder(x))").body[0]) in secrets.solution_statements


# ------------------------------------------------------------------------------ planted leaks


def test_a_solution_block_pasted_into_a_starter_is_caught(lesson2_copy):
    release = lesson2_copy()
    first_line, block = _lesson2_blocks()[0]          # Encoder.__init__'s layers
    _paste_over_first_stub(release / LESSON2.relative_path, block)
    report = check_release(release)
    leaks = [leak for leak in report.leaks if leak.kind == "solution code"]
    assert leaks and all(leak.path == LESSON2.relative_path for leak in leaks), report.summary()
    assert f"{LESSON2.relative_path}:{first_line}" in str(leaks[0])
    with pytest.raises(LeakError, match="solution code"):
        main(release=release)


def _substantial_lesson2_blocks() -> list[int]:
    """Indices of the blocks with at least one statement big enough to be a fingerprint."""
    import ast
    from autograder.release.owned import MIN_STATEMENT_NODES, node_weight as _weight
    return [index for index, (_, block) in enumerate(_lesson2_blocks())
            if max(_weight(node) for node in ast.walk(ast.parse(block)) if isinstance(node, ast.stmt))
            >= MIN_STATEMENT_NODES]


def test_most_lesson2_blocks_are_substantial():
    # Only one-line blocks such as `return self.net(x)` are too small to give anything away.
    assert len(_substantial_lesson2_blocks()) >= len(_lesson2_blocks()) - 4


@pytest.mark.parametrize("index", _substantial_lesson2_blocks())
def test_every_substantial_lesson2_block_is_caught(lesson2_copy, index):
    """Each block of the worked example, pasted alone into another file, is found."""
    _, block = _lesson2_blocks()[index]
    release = lesson2_copy()
    helper = release / "coursekit" / "extra.py"
    helper.write_text("def helper(self, x, model, loader, optimizer, latent_dim, mean, components, k):\n"
                      + textwrap.indent(block, "    ") + "\n")
    assert "solution code" in _kinds(check_release(release), "coursekit/extra.py")


def test_a_renamed_copy_of_the_reference_file_is_caught(lesson2_copy):
    release = lesson2_copy()
    shutil.copyfile(SOLUTIONS_DIR / LESSON2.relative_path, release / LESSON2.folder / "my_notes.py")
    kinds = _kinds(check_release(release), f"{LESSON2.folder}/my_notes.py")
    assert {"solution marker", "solution code"} <= kinds


def test_a_reference_with_markers_removed_is_caught(lesson2_copy):
    release = lesson2_copy()
    reference = (SOLUTIONS_DIR / LESSON2.relative_path).read_text()
    unmarked = "\n".join(line for line in reference.splitlines() if "SOLUTION" not in line)
    (release / LESSON2.relative_path).write_text(unmarked)
    report = check_release(release)
    assert _kinds(report) == {"solution code"}, report.summary()


def test_a_solution_marker_anywhere_is_caught(lesson2_copy):
    release = lesson2_copy()
    readme = release / "README.md"
    readme.write_text(readme.read_text() + "\n    # BEGIN SOLUTION\n")
    (release / "coursekit" / "notes.txt").write_text("x = 1  # SOLUTION\n")
    report = check_release(release)
    assert "solution marker" in _kinds(report, "README.md")
    assert "Otter solution marker" in _kinds(report, "coursekit/notes.txt")


def test_a_hidden_suite_copied_in_is_caught(lesson2_copy):
    release = lesson2_copy()
    suite = SUITES_DIR / f"lesson{LESSON2.number}.py"
    target = release / LESSON2.folder / "tests" / "test_more.py"
    shutil.copyfile(suite, target)
    kinds = _kinds(check_release(release), f"{LESSON2.folder}/tests/test_more.py")
    assert {"hidden file", "grader import", "hidden test", "hidden-suite decorator"} <= kinds


def test_a_hidden_test_disguised_as_a_public_test_is_caught(lesson2_copy):
    """The body of a graded test, without decorator or imports, under another name."""
    import ast
    release = lesson2_copy()
    suite_source = (SUITES_DIR / f"lesson{LESSON2.number}.py").read_text()
    graded = next(node for node in ast.parse(suite_source).body
                  if isinstance(node, ast.FunctionDef) and node.decorator_list)
    body = "\n".join(ast.get_source_segment(suite_source, stmt) for stmt in graded.body)
    public = release / LESSON2.folder / "tests" / "test_autoencoder.py"
    public.write_text(public.read_text() + "\n\ndef test_extra(student, harness):\n"
                      + textwrap.indent(body, "    ") + "\n")
    report = check_release(release)
    assert _kinds(report) == {"hidden test"}, report.summary()


def test_the_autograder_package_is_caught(lesson2_copy):
    release = lesson2_copy()
    shutil.copytree(REPO_ROOT / "autograder" / "build", release / "autograder" / "build",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (release / "coursekit" / "extra.py").write_text("from autograder.suite import graded\nimport autograder.lessons\n")
    report = check_release(release)
    assert "instructor folder" in _kinds(report, "autograder")
    assert len([leak for leak in report.leaks if leak.kind == "grader import"
                and leak.path == "coursekit/extra.py"]) == 2


def _notebook(release: Path, cells: list, metadata: dict | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata.update(metadata or {})
    path = release / LESSON2.folder / "extra.ipynb"
    nbformat.write(nb, path)
    return path


def test_notebook_hidden_otter_tests_are_caught(lesson2_copy):
    release = lesson2_copy()
    ok_format = {"otter": {"tests": {"q1": {"name": "q1", "points": 1, "suites": [{"cases": [
        {"code": ">>> 1 + 1\n2", "hidden": False, "locked": False},
        {"code": ">>> secret()\nTrue", "hidden": True, "locked": False}]}]}}}}
    _notebook(release, [nbformat.v4.new_code_cell("x = 1")], ok_format)
    report = check_release(release)
    assert _kinds(report) == {"hidden Otter test"}, report.summary()
    assert "metadata.otter.tests.q1.suites[0].cases[1]" in str(report.leaks[0])


def test_notebook_public_otter_tests_are_fine(lesson2_copy):
    release = lesson2_copy()
    public_only = {"otter": {"tests": {"q1": {"name": "q1", "points": 1, "suites": [{"cases": [
        {"code": ">>> 1 + 1\n2", "hidden": False, "locked": False}]}]}}}}
    _notebook(release, [nbformat.v4.new_code_cell("%matplotlib inline\nx = 1")], public_only)
    report = check_release(release)
    assert report.ok, report.summary()


def test_notebook_markers_solutions_and_outputs_are_caught(lesson2_copy):
    release = lesson2_copy()
    _, block = _lesson2_blocks()[0]
    marked = nbformat.v4.new_code_cell("# BEGIN SOLUTION\ny = 2\n# END SOLUTION")
    solution = nbformat.v4.new_code_cell("%%time\n" + textwrap.dedent(block))
    hidden = nbformat.v4.new_code_cell("# HIDDEN\nassert True")
    printed = nbformat.v4.new_code_cell("print(1)")
    printed.outputs = [nbformat.v4.new_output("stream", text="q = 3  # SOLUTION\n")]
    _notebook(release, [marked, solution, hidden, printed])
    report = check_release(release)
    found = {leak.kind for leak in report.leaks}
    assert {"solution marker", "solution code", "hidden Otter test", "Otter solution marker"} <= found, \
        report.summary()


def test_unreadable_or_unparsable_files_are_reported(lesson2_copy):
    release = lesson2_copy()
    (release / LESSON2.folder / "broken.ipynb").write_text("{not json")
    (release / LESSON2.folder / "broken.py").write_text("def f(:\n")
    kinds = _kinds(check_release(release))
    assert {"unreadable notebook", "unparsable Python"} <= kinds


def test_master_notebook_solutions_and_reference_helpers_are_caught(tmp_path):
    """Solutions outside the student file: a master notebook's solution cells, a helper module."""
    solutions = tmp_path / "solutions"
    folder = solutions / LESSON2.folder
    folder.mkdir(parents=True)
    (folder / LESSON2.student_file).write_text("def f():\n    pass\n")
    master = nbformat.v4.new_notebook()
    master.cells = [nbformat.v4.new_code_cell(
        "model = make()\n# BEGIN SOLUTION\nhistory = [train_epoch(model, loader, opt) for _ in range(3)]\n"
        "# END SOLUTION\nbest = min(losses, key=lambda pair: pair[1])  # SOLUTION")]
    nbformat.write(master, folder / "master.ipynb")
    (folder / "pretrain.py").write_text("def pretrain(model, loader):\n    return fit(model, loader, epochs=20, lr=1e-3)\n")
    release = tmp_path / "release"
    (release / LESSON2.folder).mkdir(parents=True)
    student = nbformat.v4.new_notebook()
    student.cells = [nbformat.v4.new_code_cell("model = make()\nhistory = [train_epoch(model, loader, opt) for _ in range(3)]"),
                     nbformat.v4.new_code_cell("best = min(losses, key=lambda pair: pair[1])")]
    nbformat.write(student, release / LESSON2.folder / "student.ipynb")
    shutil.copyfile(folder / "pretrain.py", release / "pretrain_copy.py")
    (release / "other.py").write_text("def go(model, loader):\n    return fit(model, loader, epochs=20, lr=1e-3)\n")
    report = check_release(release, solutions=solutions, suites=tmp_path / "no-suites")
    found = {(leak.path, leak.kind) for leak in report.leaks}
    assert (f"{LESSON2.folder}/student.ipynb", "solution code") in found, report.summary()
    assert len([l for l in report.leaks if l.path.endswith("student.ipynb")]) == 2, report.summary()
    assert {("pretrain_copy.py", "hidden file"), ("other.py", "solution code")} <= found, report.summary()
    assert any("no hidden suites" in reason for reason in report.skipped)


# ------------------------------------------------------------------------------ lesson 1's answers


def _fake_course(tmp_path: Path, suite: str, reference: str | None = None) -> tuple[Path, Path]:
    solutions, suites = tmp_path / "solutions", tmp_path / "suites"
    lesson1 = lesson_by_number(1)
    (solutions / lesson1.folder).mkdir(parents=True)
    (solutions / lesson1.folder / lesson1.student_file).write_text(reference or "Q1 = None\n")
    suites.mkdir()
    (suites / "lesson1.py").write_text(suite)
    return solutions, suites


def _release_with(tmp_path: Path, concept_check: str) -> Path:
    release = tmp_path / "release"
    path = release / lesson_by_number(1).relative_path
    path.parent.mkdir(parents=True)
    path.write_text(concept_check)
    return release


def test_answers_from_the_hidden_suite_are_caught(tmp_path):
    solutions, suites = _fake_course(tmp_path, 'QUESTIONS = {"Q1": Question("C", "why"), "Q2": Question(2, "why"), '
                                               '"Q3": Question(236.0, "why", tolerance=0.5)}\n')
    release = _release_with(tmp_path, 'Q1 = "c"\nQ2 = 2\nQ3: float = 236.0\nQ4 = None\n')
    report = check_release(release, solutions=solutions, suites=suites)
    assert [leak.line for leak in report.leaks if leak.kind == "lesson 1 answer"] == [1, 2, 3], report.summary()


def test_unanswered_or_wrong_constants_are_not_answers(tmp_path):
    solutions, suites = _fake_course(tmp_path, 'QUESTIONS = {"Q1": Question("C"), "Q2": Question(True)}\n')
    release = _release_with(tmp_path, 'Q1 = None\nQ2 = 1\nQ3 = "C"\n')
    report = check_release(release, solutions=solutions, suites=suites)
    assert report.ok and not report.skipped, report.summary()


def test_answers_from_the_reference_constants_are_caught(tmp_path):
    solutions, suites = _fake_course(tmp_path, "X = 1\n", reference='Q1 = "B"  # SOLUTION\nQ2 = 7  # SOLUTION\n')
    release = _release_with(tmp_path, 'Q1 = None\nQ2 = 7\n')
    report = check_release(release, solutions=solutions, suites=suites)
    assert [(leak.kind, leak.line) for leak in report.leaks] == [("lesson 1 answer", 2)], report.summary()


def test_without_an_answer_key_the_check_says_it_skipped(tmp_path):
    solutions, suites = _fake_course(tmp_path, "X = 1\n")
    report = check_release(_release_with(tmp_path, "Q1 = None\n"), solutions=solutions, suites=suites)
    assert report.ok and any("lesson 1 answers not checked" in reason for reason in report.skipped)


def test_real_lesson1_answers_are_caught(fresh_copy):
    from autograder.release.owned import collect_owned as _collect_secrets
    answers = _collect_secrets(SOLUTIONS_DIR, SUITES_DIR, LESSONS).answers
    if not answers:
        pytest.skip("lesson 1 has no answer key yet (no Q<n> constants in its reference, "
                    "no QUESTIONS in autograder/suites/lesson1.py)")
    release = fresh_copy()
    name, (value, _) = sorted(answers.items())[0]
    lesson1 = lesson_by_number(1)
    path = release / lesson1.relative_path
    path.parent.mkdir(parents=True, exist_ok=True)
    source = path.read_text() if path.exists() else ""
    if re.search(rf"^{name} = None", source, re.MULTILINE):
        source = re.sub(rf"^{name} = None", f"{name} = {value!r}", source, flags=re.MULTILINE)
    else:
        source += f"\n{name} = {value!r}\n"
    path.write_text(source)
    report = check_release(release)
    assert any(leak.kind == "lesson 1 answer" and leak.path == lesson1.relative_path and name in leak.detail
               for leak in report.leaks), report.summary()


def test_report_summary_lists_leaks(lesson2_copy):
    release = lesson2_copy()
    (release / "x.md").write_text("# END SOLUTION\n")
    report = check_release(release)
    assert not report.ok
    assert "x.md:1: solution marker" in report.summary()
    assert json.dumps([str(leak) for leak in report.leaks])
