"""Finding submissions and their lesson files (docs/README.md): folders, zips, nesting, exports, duplicates."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from autograder.lessons import LESSONS, lesson_by_number
from autograder.submission import (OpenedSubmission, SubmissionError, assign_names, content_hash,
                                   expand_inputs, extract_zip, locate, root_lesson)

L2 = lesson_by_number(2)
L3 = lesson_by_number(3)


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def make_zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for relative, text in files.items():
            zf.writestr(relative, text)
    return path


def test_lesson_file_found_at_any_depth(tmp_path):
    write(tmp_path, {"assignments/02-autoencoders/autoencoder.py": "x = 1",
                     "03-variational-autoencoders/vae.py": "y = 2"})
    found = locate(tmp_path, (L2, L3))
    assert found.files[2] == tmp_path / "assignments/02-autoencoders/autoencoder.py"
    assert found.files[3] == tmp_path / "03-variational-autoencoders/vae.py"
    assert not found.problems


def test_missing_and_duplicated_files_are_explained(tmp_path):
    write(tmp_path, {"a/02-autoencoders/autoencoder.py": "", "b/02-autoencoders/autoencoder.py": ""})
    found = locate(tmp_path, (L2, L3))
    assert 2 not in found.files and 3 not in found.files
    assert "2 copies" in found.problems[2] and "`a/02-autoencoders/autoencoder.py`" in found.problems[2]
    assert "was not found" in found.problems[3] and "03-variational-autoencoders/vae.py" in found.problems[3]


def test_ignored_folders_do_not_count(tmp_path):
    write(tmp_path, {"02-autoencoders/autoencoder.py": "",
                     ".git/02-autoencoders/autoencoder.py": "",
                     "__MACOSX/02-autoencoders/autoencoder.py": "",
                     ".venv/lib/02-autoencoders/autoencoder.py": ""})
    assert locate(tmp_path, (L2,)).files[2] == tmp_path / "02-autoencoders/autoencoder.py"


def test_export_files_at_the_root_beside_one_notebook(tmp_path):
    write(tmp_path, {"autoencoders.ipynb": "{}", "autoencoder.py": "x = 1", "vae.py": "y = 2"})
    assert root_lesson(tmp_path) == L2
    found = locate(tmp_path, (L2, L3))
    assert found.files[2] == tmp_path / "autoencoder.py"
    assert 3 not in found.files  # vae.py at the root has no notebook beside it


def test_root_files_need_exactly_one_lesson_notebook(tmp_path):
    write(tmp_path, {"autoencoders.ipynb": "{}", "variational_autoencoders.ipynb": "{}",
                     "autoencoder.py": "", "vae.py": ""})
    assert root_lesson(tmp_path) is None
    assert not locate(tmp_path, (L2, L3)).files
    alone = write(tmp_path / "alone", {"autoencoder.py": ""})
    assert root_lesson(alone) is None


def test_root_file_and_lesson_folder_copy_are_duplicates(tmp_path):
    write(tmp_path, {"autoencoders.ipynb": "{}", "autoencoder.py": "",
                     "02-autoencoders/autoencoder.py": ""})
    assert "2 copies" in locate(tmp_path, (L2,)).problems[2]


def test_zip_is_unpacked_and_searched(tmp_path):
    archive = make_zip(tmp_path / "alice.zip", {"repo/02-autoencoders/autoencoder.py": "x = 1"})
    with OpenedSubmission(archive, tmp_root=tmp_path) as root:
        assert root.parent == tmp_path
        assert locate(root, (L2,)).files[2].read_text() == "x = 1"
    assert not root.exists()


def test_corrupt_zip_gives_a_clear_error(tmp_path):
    bad = tmp_path / "bob.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(SubmissionError, match="bob.zip is not a valid zip file"):
        with OpenedSubmission(bad):
            pass


def test_unsafe_zip_paths_are_refused(tmp_path):
    archive = make_zip(tmp_path / "evil.zip", {"../escape.py": "x"})
    with pytest.raises(SubmissionError, match="unsafe path"):
        extract_zip(archive, tmp_path / "dest")
    assert not (tmp_path / "escape.py").exists()


def test_unpack_errors_do_not_name_the_temp_folder(tmp_path):
    archive = make_zip(tmp_path / "clash.zip", {"a": "file", "a/b.py": "under a file"})
    with pytest.raises(SubmissionError) as info:
        extract_zip(archive, tmp_path / "private-temp-name")
    assert "private-temp-name" not in str(info.value) and "clash.zip" in str(info.value)


def test_missing_and_non_zip_paths_are_submission_errors(tmp_path):
    with pytest.raises(SubmissionError, match="gone does not exist"):
        with OpenedSubmission(tmp_path / "gone"):
            pass
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(SubmissionError, match="neither a folder nor a .zip"):
        with OpenedSubmission(tmp_path / "notes.txt"):
            pass


def test_a_folder_of_submissions_expands_to_each_student(tmp_path):
    subs = tmp_path / "subs"
    write(subs, {"assignment-alice/02-autoencoders/autoencoder.py": "",
                 "assignment-bob/deep/er/02-autoencoders/autoencoder.py": "",
                 "assignment-carol/README.md": "forgot everything",
                 "export/autoencoders.ipynb": "{}", "export/autoencoder.py": "",
                 ".hidden/02-autoencoders/autoencoder.py": "", "notes.txt": ""})
    make_zip(subs / "dave.zip", {"02-autoencoders/autoencoder.py": ""})
    expanded = expand_inputs([subs], LESSONS)
    assert [p.name for p in expanded] == ["assignment-alice", "assignment-bob", "assignment-carol",
                                          "dave.zip", "export"]


def test_a_student_repository_is_one_submission(tmp_path):
    repo = write(tmp_path / "repo", {"02-autoencoders/autoencoder.py": "", "other/x.py": ""})
    assert expand_inputs([repo], LESSONS) == [repo]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert expand_inputs([empty], LESSONS) == [empty]  # graded as one: its result says what is missing


def test_the_output_folder_and_repeated_paths_are_not_submissions(tmp_path):
    subs = tmp_path / "subs"
    write(subs, {"alice/02-autoencoders/autoencoder.py": "", "bob/02-autoencoders/autoencoder.py": "",
                 "out/alice/results.json": "{}"})
    expanded = expand_inputs([subs, subs / "alice"], LESSONS, exclude=(subs / "out",))
    assert [p.name for p in expanded] == ["alice", "bob"]


def test_names_are_unique(tmp_path):
    names = assign_names([tmp_path / "a" / "alice", tmp_path / "b" / "alice.zip", tmp_path / "Alice",
                          tmp_path / "bob.ZIP"])
    assert names == ["alice", "alice-2", "Alice-3", "bob"]


def test_content_hash_follows_the_lesson_files_only(tmp_path):
    sub = write(tmp_path / "sub", {"02-autoencoders/autoencoder.py": "x = 1", "notes.md": "a"})
    first = content_hash(sub, (L2,))
    (sub / "notes.md").write_text("b")
    assert content_hash(sub, (L2,)) == first
    (sub / "02-autoencoders/autoencoder.py").write_text("x = 2")
    assert content_hash(sub, (L2,)) != first
    archive = make_zip(tmp_path / "z.zip", {"02-autoencoders/autoencoder.py": "x = 1"})
    assert content_hash(archive, (L2,)) != content_hash(tmp_path / "missing.zip", (L2,))


def test_a_repository_with_lesson_folders_one_level_down_is_one_submission(tmp_path):
    repo = write(tmp_path / "alice", {"assignments/02-autoencoders/autoencoder.py": "",
                                      "assignments/03-variational-autoencoders/vae.py": "",
                                      "docs/README.md": ""})
    assert expand_inputs([repo], LESSONS) == [repo]


def test_a_folder_holding_one_zip_is_a_folder_of_submissions(tmp_path):
    make_zip(tmp_path / "alice.zip", {"02-autoencoders/autoencoder.py": ""})
    (tmp_path / "notes").mkdir()
    assert [p.name for p in expand_inputs([tmp_path], LESSONS)] == ["alice.zip", "notes"]


def test_earlier_output_folders_are_not_submissions(tmp_path):
    write(tmp_path, {"alice/02-autoencoders/autoencoder.py": "", "bob/02-autoencoders/autoencoder.py": "",
                     "grades-old/grades.csv": "name,total\n", "grades-old/alice/results.json": "{}"})
    assert [p.name for p in expand_inputs([tmp_path], LESSONS)] == ["alice", "bob"]
