"""Gradescope's own entry point (``run_otter.py`` of ``autograder.zip``) on uploads that are not
the export zip: the lone lesson file, and a zip with the file in a sub-folder (issue #17).

The zip is unpacked the way Gradescope does it (``<root>/autograder/source``, the upload in
``<root>/autograder/submission``) and its ``run_otter.py`` is run with ``/autograder`` moved
under a temporary folder. The starter is graded: every lesson test then says "not implemented
yet", which shows the engine found and graded the file (an upload problem would be one
"Upload" test instead).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.lessons import lesson_by_number
from tests.helpers import starter_source

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
L2 = lesson_by_number(2)


def gradescope_run(autograder_zip: Path, root: Path, upload: dict[str, bytes]) -> dict:
    """Unpack ``autograder_zip`` as Gradescope does, put ``upload`` in the submission folder,
    run the zip's ``run_otter.py``; returns ``results/results.json``."""
    home = root / "autograder"
    for sub in ("source", "submission", "results"):
        (home / sub).mkdir(parents=True)
    (home / "submission_metadata.json").write_text("{}")
    with zipfile.ZipFile(autograder_zip) as zf:
        zf.extractall(home / "source")
    for name, data in upload.items():
        (home / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (home / "submission" / name).write_bytes(data)
    entry = (home / "source" / "run_otter.py").read_text().replace('"/autograder', f'"{home}')
    (home / "source" / "run_otter_here.py").write_text(entry)
    done = subprocess.run([sys.executable, "run_otter_here.py"], cwd=home / "source",
                          capture_output=True, text=True, timeout=600)
    results = home / "results" / "results.json"
    assert results.is_file(), (done.stdout + done.stderr)[-5000:]
    return json.loads(results.read_text())


def in_a_zip(path: Path, files: dict[str, str]) -> bytes:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path.read_bytes()


@pytest.mark.parametrize("layout", ["lone file", "zip with the file in a folder"])
def test_gradescope_grades_the_lesson_file_however_it_was_uploaded(autograder_zip, tmp_path, layout):
    starter = starter_source(L2.number)
    upload = ({"autoencoder.py": starter.encode()} if layout == "lone file" else
              {"homework.zip": in_a_zip(tmp_path / "homework.zip", {"my-hw/gen/autoencoder.py": starter,
                                                                      "my-hw/notes.md": "done"})})
    results = gradescope_run(autograder_zip(L2), tmp_path / "gs", upload)
    names = [t["name"] for t in results["tests"]]
    assert "Upload" not in names, results["tests"][0]["output"]
    assert results["score"] == 0 and sum(t["max_score"] for t in results["tests"]) == L2.points
    assert "not implemented yet" in json.dumps(results["tests"])


def test_gradescope_tells_a_student_without_the_lesson_file_what_to_upload(autograder_zip, tmp_path):
    results = gradescope_run(autograder_zip(L2), tmp_path / "gs", {"notes.txt": b"where is it"})
    assert [t["name"] for t in results["tests"]] == ["Upload"]
    assert "no file named `autoencoder.py` (it holds: `notes.txt`)" in results["tests"][0]["output"]
