"""``dist/otter/<lesson>/student/`` runs on its own, in a virtual environment that knows nothing
of this repository (issue #17).

The environment is a new ``python -m venv`` made from the base interpreter (no system site
packages). Downloading PyTorch is impossible offline and installing it from disk costs minutes
and gigabytes, so the third-party packages already installed for this project are made visible
to it by a path in a ``.pth`` file: a plain path, so the ``.pth`` files in that folder (this
project's editable install among them) are not processed and the repository stays invisible.
A control step checks exactly that (``import coursekit`` fails outside the student folder).
Then, in a copy of the student folder outside the repository, the folder's own instructions
run as written: ``pip install -r requirements.txt`` (offline: every pin must already be
satisfied), ``pytest`` on the starter (the stubs' messages, no import error) and on the
reference (all pass), and the notebook's set-up cells.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

from autograder.lessons import lesson_by_number
from autograder.otter.artefacts import copy_student_folder, make_self_contained
from tests.helpers import reference_source

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
L2 = lesson_by_number(2)
NOTEBOOK_SETUP_CELLS = 2
"""The notebook's first code cells: Otter's ``grader`` and the imports (``coursekit`` among them)."""

RUN_SETUP_CELLS = """\
import sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells = [c for c in nb.cells if c.cell_type == "code"][:int(sys.argv[2])]
nb.cells.append(nbformat.v4.new_code_cell("import sys, coursekit; print(sys.prefix, coursekit.__file__)"))
NotebookClient(nb, timeout=300, kernel_name="python3").execute()
print("setup cells ran in", nb.cells[-1].outputs[0]["text"])
"""


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment's interpreter that sees this project's third-party packages
    but not the repository."""
    venv = tmp_path_factory.mktemp("fresh-venv") / "venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip",
                    str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    third_party = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "third_party_packages.pth").write_text("\n".join(sorted(third_party)) + "\n")
    return python


def run(python: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": str(cwd.parent), "GF_DATA_SOURCE": "subset",
           "GF_CACHE_DIR": str(cwd.parent / "cache"), "MPLBACKEND": "Agg"}
    return subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=800)


@pytest.fixture(scope="module")
def student_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = copy_student_folder(L2, tmp_path_factory.mktemp("student") / L2.folder)
    make_self_contained(L2, folder)
    return folder


def test_the_fresh_environment_does_not_know_the_repository(fresh_python, tmp_path):
    done = run(fresh_python, ["-c", "import torch, otter; import coursekit"], tmp_path)
    assert "No module named 'coursekit'" in done.stderr, done.stderr[-2000:]


def test_the_student_folder_installs_and_tests_on_its_own(fresh_python, student_folder):
    readme = (student_folder / "README.md").read_text(encoding="utf-8")
    assert "python -m pip install -r requirements.txt" in readme and "python -m pytest -q" in readme
    install = run(fresh_python, ["-m", "pip", "install", "--no-index", "-r", "requirements.txt"], student_folder)
    assert install.returncode == 0, (install.stdout + install.stderr)[-3000:]

    starter = run(fresh_python, ["-m", "pytest", "-q", "-x"], student_folder)
    output = starter.stdout + starter.stderr
    assert starter.returncode == 1 and "not implemented yet" in output, output[-3000:]
    assert "ModuleNotFoundError" not in output and "ImportError" not in output, output[-3000:]

    solved = student_folder.parent / "solved" / L2.folder
    shutil.copytree(student_folder, solved)
    (solved / L2.student_file).write_text(reference_source(L2.number), encoding="utf-8")
    passing = run(fresh_python, ["-m", "pytest", "-q", "-x"], solved)
    assert passing.returncode == 0, (passing.stdout + passing.stderr)[-3000:]


def test_the_notebooks_setup_cells_run_on_their_own(fresh_python, student_folder):
    done = run(fresh_python, ["-c", RUN_SETUP_CELLS, str(L2.notebook), str(NOTEBOOK_SETUP_CELLS)], student_folder)
    assert done.returncode == 0 and "setup cells ran" in done.stdout, (done.stdout + done.stderr)[-3000:]
    prefix, coursekit_file = done.stdout.split("setup cells ran in", 1)[1].split()
    assert Path(prefix) == fresh_python.parent.parent, "the kernel must run in the fresh environment"
    assert Path(coursekit_file).is_relative_to(student_folder), "coursekit must come from beside the notebook"
    nb = nbformat.read(student_folder / str(L2.notebook), as_version=4)
    setup = "\n".join([c.source for c in nb.cells if c.cell_type == "code"][:NOTEBOOK_SETUP_CELLS])
    assert "import otter" in setup and "from coursekit" in setup
