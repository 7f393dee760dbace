"""Uploads to one lesson's Gradescope assignment that are not the export zip (issue #17)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from autograder.lessons import lesson_by_number
from autograder.otter.upload import (PLACEHOLDER_SCRIPT, UPLOAD_FOLDER, UploadError, lesson_file,
                                     make_gradable, otter_can_resolve)

L2 = lesson_by_number(2)
SOURCE = b"def encode(x):\n    return x\n"


def write(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def zipped(path: Path, files: dict[str, bytes]) -> bytes:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path.read_bytes()


@pytest.mark.parametrize("layout", ["export", "lone file", "folder anywhere", "zip anywhere",
                                    "unpacked and zipped copies"])
def test_the_lesson_file_is_found_wherever_it_is(tmp_path, layout):
    inner = zipped(tmp_path / "inner.zip", {"work/hw/autoencoder.py": SOURCE, "notes.txt": b"hi"})
    files = {
        "export": {"autoencoders.ipynb": b"{}", "autoencoder.py": SOURCE, "__zip_filename__": b"x"},
        "lone file": {"autoencoder.py": SOURCE},
        "folder anywhere": {"Downloads/gen/autoencoder.py": SOURCE, "Downloads/gen/readme.md": b"x"},
        "zip anywhere": {"my work.zip": inner},
        "unpacked and zipped copies": {"my work.zip": inner, "work/hw/autoencoder.py": SOURCE},
    }[layout]
    folder = write(tmp_path / "submission", files)
    assert lesson_file(folder, L2) == SOURCE


def test_no_lesson_file_names_what_was_uploaded(tmp_path):
    folder = write(tmp_path / "submission", {"vae.py": b"x", "tests/isolated_engine.py": b""})
    with pytest.raises(UploadError) as caught:
        lesson_file(folder, L2, skip_top=frozenset({"tests"}))
    message = str(caught.value)
    assert "no file named `autoencoder.py` (it holds: `vae.py`)" in message
    assert "lesson 2" in message and "grader.export()" in message


def test_different_copies_are_not_guessed_between(tmp_path):
    folder = write(tmp_path / "submission", {"autoencoder.py": SOURCE, "old/autoencoder.py": b"x = 0\n"})
    with pytest.raises(UploadError, match=r"2 different files named `autoencoder.py` "
                                          r"\(`autoencoder.py`, `old/autoencoder.py`\)"):
        lesson_file(folder, L2)


def test_a_corrupt_zip_is_reported_as_no_lesson_file(tmp_path):
    folder = write(tmp_path / "submission", {"work.zip": b"PK\x03\x04 not really a zip"})
    with pytest.raises(UploadError, match="no file named `autoencoder.py` \\(it holds: `work.zip`\\)"):
        lesson_file(folder, L2)


@pytest.mark.parametrize("files, moved", [
    ({"autoencoders.ipynb": b"{}", "autoencoder.py": SOURCE}, False),
    ({"autoencoder.py": SOURCE}, False),
    ({"work.zip": b"PK"}, True),
    ({"gen/autoencoder.py": SOURCE}, True),
    ({"autoencoder.py": SOURCE, "helpers.py": b""}, True),
])
def test_otter_always_finds_one_file_to_grade_and_the_upload_is_kept(tmp_path, files, moved):
    folder = write(tmp_path / "submission", files)
    assert make_gradable(folder) is moved
    assert otter_can_resolve(folder)
    if moved:
        assert sorted(p.name for p in folder.iterdir()) == [PLACEHOLDER_SCRIPT, UPLOAD_FOLDER]
        assert all((folder / UPLOAD_FOLDER / name).is_file() for name in files)
