"""``autograder.otter.main(out=DIR)``: per notebook lesson, the student folder and autograder.zip."""

from __future__ import annotations

import filecmp
import json
import zipfile
from pathlib import Path

import pytest

from autograder.lessons import ASSIGNMENTS_DIR, LESSONS, REPO_ROOT
from autograder.otter import artefacts, main
from autograder.otter.artefacts import OtterArtefactError, notebook_lessons
from autograder.otter.autograder_zip import package_files, pinned_dependencies
from autograder.otter.plugin import PLUGIN_NAME

MASTERS = notebook_lessons(LESSONS)
needs_masters = pytest.mark.skipif(not MASTERS, reason="no master notebook in solutions/ yet")


def relative_files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def otter_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("otter-out")
    main(out=out, echo=lambda _line: None)
    return out


def test_a_selection_without_notebook_lessons_is_refused(tmp_path):
    with pytest.raises(OtterArtefactError, match="master notebook"):
        main(out=tmp_path, lessons="1", echo=lambda _line: None)


def test_stale_assignments_are_refused(tmp_path, monkeypatch):
    if not MASTERS:
        pytest.skip("no master notebook in solutions/ yet")
    monkeypatch.setattr("autograder.build.assignments.stale_files",
                        lambda **_: ["02-autoencoders/autoencoders.ipynb (out of date)"])
    with pytest.raises(OtterArtefactError, match="out of date"):
        main(out=tmp_path, echo=lambda _line: None)
    assert not list(tmp_path.iterdir()), "nothing may be written from a stale assignments/"


@needs_masters
@pytest.mark.slow
def test_student_folders_are_the_assignments_plus_what_runs_them_on_their_own(otter_dir):
    """Byte for byte the assignments folder (its README extended with a set-up section), plus
    coursekit/, requirements.txt and pytest.ini (tests/otter/test_student_folder.py runs it)."""
    kit = {p for p in package_files() if p.parts[0] == "coursekit"}
    for lesson in MASTERS:
        student, source = otter_dir / lesson.folder / "student", ASSIGNMENTS_DIR / lesson.folder
        expected = {p for p in relative_files(source)
                    if not artefacts.GENERATED_PARTS.intersection(p.parts)
                    and p.suffix not in artefacts.GENERATED_SUFFIXES}
        added = kit | {Path(artefacts.STUDENT_REQUIREMENTS), Path(artefacts.STUDENT_PYTEST_INI), Path("README.md")}
        assert relative_files(student) == expected | added
        same = [str(p) for p in expected if p.name != "README.md"]
        _, mismatch, errors = filecmp.cmpfiles(source, student, same, shallow=False)
        assert not mismatch and not errors, mismatch + errors
        _, mismatch, errors = filecmp.cmpfiles(REPO_ROOT, student, [str(p) for p in kit], shallow=False)
        assert not mismatch and not errors, mismatch + errors
        readme = (student / "README.md").read_text(encoding="utf-8")
        if (source / "README.md").is_file():
            assert readme.startswith((source / "README.md").read_text(encoding="utf-8").rstrip("\n"))
        assert "python -m pip install -r requirements.txt" in readme
        assert (student / artefacts.STUDENT_REQUIREMENTS).read_text().split() == pinned_dependencies()


@needs_masters
@pytest.mark.slow
def test_each_notebook_lesson_gets_an_autograder_zip_for_it(otter_dir):
    assert (otter_dir / "README.md").is_file()
    assert sorted(p.name for p in otter_dir.iterdir() if p.is_dir()) == [l.folder for l in MASTERS]
    for lesson in MASTERS:
        with zipfile.ZipFile(otter_dir / lesson.folder / "autograder.zip") as zf:
            config = json.loads(zf.read("otter_config.json"))
            assert config["plugins"][0][PLUGIN_NAME]["lesson"] == lesson.number
            assert f"autograder/suites/lesson{lesson.number}.py" in zf.namelist()
